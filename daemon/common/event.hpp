// A kernel record, decoded and validated. Views point into the ring buffer and
// are valid only while the record is being handled.
#pragma once

#include "env_filter.hpp"

#include <cstdint>
#include <string_view>
#include <sys/types.h>

namespace execmond {

using Pid = uint32_t;
using KtimeNs = uint64_t; // CLOCK_BOOTTIME nanoseconds

enum class EventKind : uint8_t { fork, exec, exit, exec_failed };

enum class ParentSource : uint8_t { btf, offsets, fork_map, unknown };

// auid and session_id when the process has none (never logged in).
inline constexpr uint32_t unset_id = 4294967295u;

// The executable's inode at exec, as stat(2) shows it.
struct ExeFile {
    uint32_t dev = 0; // st_dev, 32-bit encoding (major(), minor() of <sys/sysmacros.h>)
    uint64_t ino = 0;
    uint32_t mode = 0; // st_mode, file type included
    uint32_t uid = 0;
    uint32_t gid = 0;
    int64_t size = 0;
    int64_t mtime_sec = 0;
    uint32_t mtime_nsec = 0;
    uint32_t nlink = 0;
    bool operator==(const ExeFile&) const = default;
};

struct Event {
    EventKind kind{};
    KtimeNs ktime_ns = 0;
    KtimeNs start_boottime_ns = 0; // 0 when the probe could not read it
    uint64_t cgroup_id = 0;
    Pid pid = 0;
    Pid tid = 0;
    Pid ppid = 0;
    uint32_t uid = 0;
    uint32_t gid = 0;
    Pid ns_pid = 0;
    uint32_t pidns_id = 0;
    ParentSource parent_source = ParentSource::unknown;
    std::string_view comm;

    // fork
    KtimeNs parent_start_boottime_ns = 0;
    std::string_view parent_comm;

    // exec
    Pid old_tid = 0;
    uint32_t euid = 0;
    uint32_t egid = 0;
    uint32_t argc = 0;
    std::string_view filename;
    std::string_view args; // NUL-separated, as in the image's argument area
    bool args_truncated = false;
    EnvKept env;            // --env: the allowlisted variables only (env_known)
    bool env_known = false; // --env given, and the probes could read the area

    // exec_failed (--exec-failures): filename, args, args_truncated, argc as
    // the caller passed them, and the error execve() returned
    int exec_errno = 0;

    // exec: who and where (bpf/identity.bpf.h), when identity_known.
    std::string_view cwd; // absolute; " (deleted)" at the end as /proc shows it
    bool cwd_truncated = false;
    std::string_view exe; // the file the kernel runs (readlink /proc/PID/exe)
    bool exe_truncated = false;
    ExeFile exe_file;
    std::string_view interpreter; // the #! line's interpreter; empty: not a script
    bool fileless = false;        // the executable has no name on disk
    bool secure_exec = false;     // AT_SECURE
    uint32_t tty_dev = 0;         // controlling tty as stat's tty_nr; 0: none
    // When audit_known (the kernel has CONFIG_AUDIT); unset_id: none.
    uint32_t auid = unset_id;
    uint32_t session_id = unset_id;

    // exit: wait(2) status
    uint32_t exit_status = 0;
    // exit: resource usage of the whole process (usage_known), as wait4()'s
    // rusage for it says (bpf/exit_usage.bpf.h)
    uint64_t duration_ns = 0;
    uint64_t cpu_user_ns = 0;
    uint64_t cpu_system_ns = 0;
    uint64_t max_rss_kib = 0;
    uint64_t voluntary_ctxt_switches = 0;
    uint64_t nonvoluntary_ctxt_switches = 0;

    // What the probes could not read (fork-map mode: no task fields). An
    // unknown member holds 0 and must be left out of lines, never shown as a
    // value. Start times and ns_pid/pidns_id are 0 when unknown.
    bool euid_known = true;        // exec: euid, egid
    bool args_known = true;        // exec: argv, argc, args_truncated
    bool exit_status_known = true; // exit: exit_status
    bool usage_known = true;       // exit: duration_ns .. nonvoluntary_ctxt_switches
    // Not read by default: the fork-map probes cannot, and tests build events.
    bool identity_known = false; // exec: cwd .. tty_dev
    bool audit_known = false;    // exec: auid, session_id
};

// Records lost, by the kind of event they held.
struct LostCounts {
    uint64_t fork = 0;
    uint64_t exec = 0;
    uint64_t exit = 0;
    uint64_t exec_failed = 0;
    uint64_t total() const { return fork + exec + exit + exec_failed; }
};

const char* to_string(EventKind k);
const char* to_string(ParentSource s);

} // namespace execmond
