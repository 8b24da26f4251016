#include "record_decoder.hpp"

#include "env_filter.hpp"
#include "execmond_event.h"

#include <cstring>
#include <unistd.h>

namespace execmond {

namespace {

// A fixed char array that may lack its NUL.
std::string_view bounded(const char* s, size_t max) {
    return {s, strnlen(s, max)};
}

void decode_header(const execmond_header& h, const char* bytes, Event& e) {
    e.ktime_ns = h.ktime_ns;
    e.start_boottime_ns = h.start_boottime_ns;
    e.cgroup_id = h.cgroup_id;
    e.pid = h.pid;
    e.tid = h.tid;
    e.ppid = h.ppid;
    e.uid = h.uid;
    e.gid = h.gid;
    e.ns_pid = h.ns_pid;
    e.pidns_id = h.pidns_id;
    e.parent_source = h.parent_source <= EXECMOND_PARENT_UNKNOWN ? static_cast<ParentSource>(h.parent_source)
                                                                 : ParentSource::unknown;
    e.comm =
        bounded(bytes + offsetof(execmond_header, comm), sizeof(h.comm)); // a view of the record, not of h
    if (h.unknown & EXECMOND_UNKNOWN_START)
        e.start_boottime_ns = 0;
    if (h.unknown & EXECMOND_UNKNOWN_NS) {
        e.ns_pid = 0;
        e.pidns_id = 0;
    }
    e.euid_known = !(h.unknown & EXECMOND_UNKNOWN_EUID);
    e.args_known = !(h.unknown & EXECMOND_UNKNOWN_ARGS);
    e.exit_status_known = !(h.unknown & EXECMOND_UNKNOWN_EXIT_CODE);
    e.usage_known = !(h.unknown & EXECMOND_UNKNOWN_USAGE);
}

__extension__ using Wide = unsigned __int128; // stime * rtime overflows 64 bits

const uint64_t page_kib = [] {
    long size = sysconf(_SC_PAGESIZE);
    return static_cast<uint64_t>(size > 0 ? size : 4096) / 1024;
}();

// The exact runtime split by the tick samples' user:system ratio, as the
// kernel's cputime_adjust() does for the rusage wait4() reports.
void split_cputime(const execmond_exit& x, Event& e) {
    uint64_t rtime = x.runtime_ns, utime = x.utime_ns, stime = x.stime_ns;
    if (stime == 0) {
        e.cpu_user_ns = rtime;
        e.cpu_system_ns = 0;
    } else if (utime == 0) {
        e.cpu_user_ns = 0;
        e.cpu_system_ns = rtime;
    } else {
        Wide sys = static_cast<Wide>(stime) * rtime / (static_cast<Wide>(stime) + utime);
        e.cpu_system_ns = static_cast<uint64_t>(sys);
        e.cpu_user_ns = rtime - e.cpu_system_ns;
    }
}

void decode_usage(const execmond_exit& x, Event& e) {
    if (!e.usage_known)
        return;
    e.duration_ns = x.duration_ns;
    split_cputime(x, e);
    e.max_rss_kib = x.maxrss_pages * page_kib;
    e.voluntary_ctxt_switches = x.nvcsw;
    e.nonvoluntary_ctxt_switches = x.nivcsw;
}

// The trailing sections cwd, exe, interp (lengths checked by the caller).
void decode_identity(const execmond_exec& x, const char* sections, Event& e) {
    uint16_t unknown = x.hdr.unknown;
    e.identity_known = !(unknown & EXECMOND_UNKNOWN_IDENT);
    e.audit_known = !(unknown & EXECMOND_UNKNOWN_AUDIT);
    if (e.audit_known) {
        e.auid = x.auid;
        e.session_id = x.session_id;
    }
    if (!e.identity_known)
        return;
    e.cwd = std::string_view(sections, x.cwd_len);
    e.exe = std::string_view(sections + x.cwd_len, x.exe_len);
    e.interpreter = std::string_view(sections + x.cwd_len + x.exe_len, x.interp_len);
    e.cwd_truncated = x.flags & EXECMOND_EXEC_CWD_TRUNCATED;
    e.exe_truncated = x.flags & EXECMOND_EXEC_EXE_TRUNCATED;
    e.fileless = x.flags & EXECMOND_EXEC_FILELESS;
    e.secure_exec = x.flags & EXECMOND_EXEC_SECURE;
    e.tty_dev = x.tty_dev;
    e.exe_file = ExeFile{.dev = x.exe_dev,
                         .ino = x.exe_ino,
                         .mode = x.exe_mode,
                         .uid = x.exe_uid,
                         .gid = x.exe_gid,
                         .size = x.exe_size,
                         .mtime_sec = x.exe_mtime_sec,
                         .mtime_nsec = x.exe_mtime_nsec,
                         .nlink = x.exe_nlink};
}

} // namespace

std::variant<Event, DecodeError> decode_record(const void* data, size_t size) {
    static const std::vector<std::string> none;
    return decode_record(data, size, none);
}

std::variant<Event, DecodeError> decode_record(const void* data, size_t size,
                                               const std::vector<std::string>& env_allow) {
    // The ring gives 8-byte aligned records; still, copy the fixed parts out so
    // a fuzzer's unaligned input is no undefined behaviour.
    const auto* bytes = static_cast<const char*>(data);
    execmond_header h;
    if (size < sizeof(h))
        return DecodeError{"record of " + std::to_string(size) + " bytes is shorter than its header"};
    std::memcpy(&h, bytes, sizeof(h));
    if (h.size != size)
        return DecodeError{"record says " + std::to_string(h.size) + " bytes but has " +
                           std::to_string(size)};

    Event e;
    decode_header(h, bytes, e);
    switch (h.type) {
    case EXECMOND_REC_FORK: {
        execmond_fork f;
        if (size != sizeof(f))
            return DecodeError{"fork record has " + std::to_string(size) + " bytes"};
        std::memcpy(&f, bytes, sizeof(f));
        e.kind = EventKind::fork;
        e.parent_start_boottime_ns = (h.unknown & EXECMOND_UNKNOWN_START) ? 0 : f.parent_start_boottime_ns;
        e.parent_comm = bounded(bytes + offsetof(execmond_fork, parent_comm), sizeof(f.parent_comm));
        return e;
    }
    case EXECMOND_REC_EXEC: {
        execmond_exec x;
        if (size < sizeof(x))
            return DecodeError{"exec record has " + std::to_string(size) + " bytes"};
        std::memcpy(&x, bytes, sizeof(x));
        size_t fn = x.filename_len, args = x.args_len, cwd = x.cwd_len, exe = x.exe_len,
               interp = x.interp_len, env = x.env_len;
        if (fn > EXECMOND_FILENAME_MAX || args > EXECMOND_ARGS_MAX || cwd > EXECMOND_PATH_MAX ||
            exe > EXECMOND_PATH_MAX || interp > EXECMOND_INTERP_MAX || env > EXECMOND_ENV_AREA_MAX ||
            sizeof(x) + fn + args + cwd + exe + interp + env != size)
            return DecodeError{"exec record lengths (filename " + std::to_string(fn) + ", args " +
                               std::to_string(args) + ", cwd " + std::to_string(cwd) + ", exe " +
                               std::to_string(exe) + ", interp " + std::to_string(interp) + ", env " +
                               std::to_string(env) + ") do not match its " + std::to_string(size) + " bytes"};
        e.kind = EventKind::exec;
        e.old_tid = x.old_tid;
        const char* payload = bytes + sizeof(x);
        e.filename = bounded(payload, fn); // the kernel's copy ends with its NUL
        if (e.euid_known) {
            e.euid = x.euid;
            e.egid = x.egid;
        }
        if (e.args_known) {
            e.argc = x.argc;
            e.args = std::string_view(payload + fn, args);
            e.args_truncated = x.args_full_len > args;
        }
        decode_identity(x, payload + fn + args, e);
        // Only the allowlisted entries survive this line: the Event keeps no
        // view of the rest of the environment.
        e.env_known = !env_allow.empty() && !(h.unknown & EXECMOND_UNKNOWN_ENV);
        if (e.env_known)
            e.env = filter_env(std::string_view(payload + fn + args + cwd + exe + interp, env),
                               x.env_full_len > env, env_allow);
        return e;
    }
    case EXECMOND_REC_EXIT: {
        execmond_exit x;
        if (size != sizeof(x))
            return DecodeError{"exit record has " + std::to_string(size) + " bytes"};
        std::memcpy(&x, bytes, sizeof(x));
        e.kind = EventKind::exit;
        e.exit_status = e.exit_status_known ? x.exit_code : 0;
        decode_usage(x, e);
        return e;
    }
    case EXECMOND_REC_EXEC_FAILED: {
        execmond_exec_failed x;
        if (size < sizeof(x))
            return DecodeError{"exec_failed record has " + std::to_string(size) + " bytes"};
        std::memcpy(&x, bytes, sizeof(x));
        size_t fn = x.filename_len, args = x.args_len;
        if (fn > EXECMOND_FILENAME_MAX || args > EXECMOND_FAILED_ARGS_MAX || sizeof(x) + fn + args != size)
            return DecodeError{"exec_failed record lengths (filename " + std::to_string(fn) + ", args " +
                               std::to_string(args) + ") do not match its " + std::to_string(size) +
                               " bytes"};
        if (x.error >= 0 || x.error < -4095)
            return DecodeError{"exec_failed record has return value " + std::to_string(x.error) +
                               ", not an error"};
        e.kind = EventKind::exec_failed;
        const char* payload = bytes + sizeof(x);
        e.filename = bounded(payload, fn);
        e.args = std::string_view(payload + fn, args);
        e.argc = x.argc;
        e.args_truncated = (x.flags & EXECMOND_FAILED_ARGS_TRUNCATED) != 0;
        e.exec_errno = -x.error;
        return e;
    }
    default:
        return DecodeError{"unknown record type " + std::to_string(h.type)};
    }
}

} // namespace execmond
