// What a restart left out of the stream: the processes that started while the
// daemon was not running and are still alive, and the processes it knew that
// exited meanwhile, from the previous run's state file and the process table
// just seeded from /proc. Becomes the gap line (docs/protocol.md, "Resuming").
#pragma once

#include "process_table.hpp"
#include "protocol.hpp"
#include "state_file.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace execmond {

// A process's NUL-separated arguments, or nullopt if it is gone; at most
// `max` bytes (then `truncated`).
using CmdlineReader = std::function<std::optional<std::string>(Pid pid, bool& truncated)>;
std::optional<std::string> read_cmdline(const std::string& proc_root, Pid pid, size_t max, bool& truncated);

// The live processes' keys, for the state file.
std::vector<ProcessKey> live_keys(const ProcessTable& table);

// Fills previous, state, rebooted, started and exited (not the times).
GapFacts compute_gap(const LoadedState& loaded, std::string_view boot_id, const ProcessTable& table,
                     const CmdlineReader& cmdline);

} // namespace execmond
