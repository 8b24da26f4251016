// Reads what the process table needs about one process from /proc.
#pragma once

#include "event.hpp"

#include <optional>
#include <string>
#include <vector>

namespace execmond {

// Who and where a process runs, as of its last exec (or /proc when seeded; a
// fork copies its parent's). Paths are bounded by the probes and the reader.
struct ProcessIdentity {
    bool known = false; // cwd, exe, tty_dev
    std::string cwd;
    std::string exe;
    uint32_t tty_dev = 0;
    bool audit_known = false; // auid, session_id
    uint32_t auid = unset_id;
    uint32_t session_id = unset_id;
};

struct ProcSnapshot {
    Pid pid = 0;
    Pid ppid = 0;
    uint64_t start_ticks = 0; // /proc/PID/stat field 22, in clock ticks since boot
    std::string comm;
    std::string exe; // empty when unreadable (kernel threads, permissions)
    uint32_t uid = 0;
    uint32_t gid = 0;
    Pid ns_pid = 0;             // innermost NSpid
    bool kernel_thread = false; // PF_KTHREAD in stat's flags
    std::string cmdline;        // NUL-separated, at most max_cmdline bytes
    bool cmdline_truncated = false;
    ProcessIdentity identity; // cwd, exe, loginuid, sessionid, stat's tty_nr
};

// How much of /proc/PID/cmdline (and of an exec's arguments) the table keeps.
inline constexpr size_t max_cmdline = 4096;

class ProcReader {
public:
    explicit ProcReader(std::string root = "/proc") : root_(std::move(root)) {}

    std::vector<Pid> list_pids() const;
    // Parent and start time only: cheap, for re-checking a parent.
    std::optional<ProcSnapshot> read_stat(Pid pid) const;
    // Everything the table keeps.
    std::optional<ProcSnapshot> read(Pid pid) const;
    // read() of every listed pid (gone ones skipped), in list order, spread
    // over up to `threads` threads: the kernel's cost of /proc/PID/stat and
    // status is most of execmond's start-up on a machine with many processes.
    std::vector<ProcSnapshot> read_all(unsigned threads) const;
    // Children of every pid, for walking subtrees (--follow).
    std::vector<Pid> descendants(Pid root) const;

    static std::optional<ProcSnapshot> parse_stat(std::string_view text);

private:
    std::string root_;
};

// The probes report pids of the initial pid namespace. Empty when this
// process and /proc see those same pids; otherwise why not (execmond in a
// container's pid namespace), for a warning.
std::string pid_namespace_mismatch();

// Nanoseconds per /proc clock tick (10,000,000 with USER_HZ 100).
uint64_t ns_per_tick();

} // namespace execmond
