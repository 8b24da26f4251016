// The daemon's exit codes, as in systemd's conventions; an error raised in any
// stage carries the one it should end the process with.
#pragma once

namespace execmond {

enum ExitCode { exit_ok = 0, exit_failure = 1, exit_usage = 2, exit_no_permission = 4 };

} // namespace execmond
