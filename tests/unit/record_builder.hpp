// Builds ring-buffer records byte for byte as the probes write them
// (proto/execmond_event.h), for decoder and encoder tests.
#pragma once

#include "execmond_event.h"

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace execmond::test {

// Marks a built record's members unknown (execmond_unknown bits), as the
// fork-map probes do.
inline void set_unknown(std::vector<char>& record, __u16 bits) {
    reinterpret_cast<execmond_header*>(record.data())->unknown = bits;
}

inline execmond_header header(__u32 type, __u32 pid, __u32 ppid, std::string_view comm) {
    execmond_header h{};
    h.type = type;
    h.ktime_ns = 5'000'000'000ull;
    h.start_boottime_ns = 4'990'000'000ull;
    h.cgroup_id = 1;
    h.pid = pid;
    h.tid = pid;
    h.ppid = ppid;
    h.uid = 1000;
    h.gid = 1000;
    h.ns_pid = pid;
    h.pidns_id = 4026531836u;
    h.parent_source = EXECMOND_PARENT_BTF;
    std::memcpy(h.comm, comm.data(), std::min(comm.size(), sizeof(h.comm)));
    return h;
}

inline std::vector<char> exec_record(__u32 pid, __u32 ppid, std::string_view comm, std::string_view filename,
                                     std::string_view args, __u32 args_full_len = 0) {
    execmond_exec x{};
    x.hdr = header(EXECMOND_REC_EXEC, pid, ppid, comm);
    x.old_tid = pid;
    x.euid = 1000;
    x.egid = 1000;
    x.filename_len = static_cast<__u16>(filename.size() + 1);
    x.args_len = static_cast<__u16>(args.size());
    x.args_full_len = args_full_len ? args_full_len : static_cast<__u32>(args.size());
    x.argc = 0;
    // No who-and-where unless identity() adds it (as fork-map records).
    x.hdr.unknown |= EXECMOND_UNKNOWN_IDENT | EXECMOND_UNKNOWN_AUDIT;
    x.auid = x.session_id = 4294967295u;
    x.hdr.size = static_cast<__u32>(sizeof(x) + x.filename_len + x.args_len);
    std::vector<char> bytes(x.hdr.size);
    std::memcpy(bytes.data(), &x, sizeof(x));
    std::memcpy(bytes.data() + sizeof(x), filename.data(), filename.size());
    bytes[sizeof(x) + filename.size()] = '\0';
    std::memcpy(bytes.data() + sizeof(x) + x.filename_len, args.data(), args.size());
    return bytes;
}

// Who and where for an exec_record(): the trailing sections and their members.
struct Identity {
    std::string cwd = "/home/u/src";
    std::string exe = "/usr/bin/echo";
    std::string interp;
    __u16 flags = 0;
    __u32 auid = 1000;
    __u32 session_id = 3;
    __u32 tty_dev = (136 << 8) | 3; // pts/3
};

inline std::vector<char> with_identity(std::vector<char> bytes, const Identity& id) {
    execmond_exec x;
    std::memcpy(&x, bytes.data(), sizeof(x));
    x.hdr.unknown &= ~(EXECMOND_UNKNOWN_IDENT | EXECMOND_UNKNOWN_AUDIT);
    x.cwd_len = static_cast<__u16>(id.cwd.size());
    x.exe_len = static_cast<__u16>(id.exe.size());
    x.interp_len = static_cast<__u16>(id.interp.size());
    x.flags = id.flags;
    x.auid = id.auid;
    x.session_id = id.session_id;
    x.tty_dev = id.tty_dev;
    x.exe_dev = (254 << 8) | 1;
    x.exe_ino = 1835041;
    x.exe_size = 125560;
    x.exe_mtime_sec = 1672956717;
    x.exe_mtime_nsec = 5;
    x.exe_mode = 0100755;
    x.exe_nlink = 1;
    std::string tail = id.cwd + id.exe + id.interp;
    bytes.insert(bytes.end(), tail.begin(), tail.end());
    x.hdr.size = static_cast<__u32>(bytes.size());
    std::memcpy(bytes.data(), &x, sizeof(x));
    return bytes;
}

inline std::vector<char> fork_record(__u32 pid, __u32 ppid, std::string_view comm) {
    execmond_fork f{};
    f.hdr = header(EXECMOND_REC_FORK, pid, ppid, comm);
    f.hdr.size = sizeof(f);
    f.parent_start_boottime_ns = 1'000'000'000ull;
    std::memcpy(f.parent_comm, comm.data(), std::min(comm.size(), sizeof(f.parent_comm)));
    std::vector<char> bytes(sizeof(f));
    std::memcpy(bytes.data(), &f, sizeof(f));
    return bytes;
}

inline std::vector<char> exit_record(__u32 pid, __u32 ppid, std::string_view comm, __u32 status) {
    execmond_exit x{};
    x.hdr = header(EXECMOND_REC_EXIT, pid, ppid, comm);
    x.hdr.size = sizeof(x);
    x.exit_code = status;
    std::vector<char> bytes(sizeof(x));
    std::memcpy(bytes.data(), &x, sizeof(x));
    return bytes;
}

// An exec record with an environment area after argv (--env).
inline std::vector<char> exec_env_record(__u32 pid, std::string_view args, std::string_view env,
                                         __u32 env_full_len = 0) {
    auto bytes = exec_record(pid, 1, "env", "/usr/bin/env", args);
    auto* x = reinterpret_cast<execmond_exec*>(bytes.data());
    x->env_len = static_cast<__u16>(env.size());
    x->env_full_len = env_full_len ? env_full_len : static_cast<__u32>(env.size());
    x->hdr.size = static_cast<__u32>(bytes.size() + env.size());
    bytes.insert(bytes.end(), env.begin(), env.end());
    reinterpret_cast<execmond_header*>(bytes.data())->size = static_cast<__u32>(bytes.size());
    return bytes;
}

// What bpf/exec_failed.bpf.h writes: no parent, start time or pid namespace.
inline std::vector<char> exec_failed_record(__u32 pid, std::string_view comm, std::string_view filename,
                                            std::string_view args, __s32 error, __u32 flags = 0) {
    execmond_exec_failed x{};
    x.hdr = header(EXECMOND_REC_EXEC_FAILED, pid, 0, comm);
    x.hdr.unknown = EXECMOND_UNKNOWN_START | EXECMOND_UNKNOWN_NS;
    x.hdr.parent_source = EXECMOND_PARENT_UNKNOWN;
    x.error = error;
    x.filename_len = static_cast<__u16>(filename.size() + 1);
    x.args_len = static_cast<__u16>(args.size());
    x.flags = flags;
    x.hdr.size = static_cast<__u32>(sizeof(x) + x.filename_len + x.args_len);
    std::vector<char> bytes(x.hdr.size);
    std::memcpy(bytes.data(), &x, sizeof(x));
    std::memcpy(bytes.data() + sizeof(x), filename.data(), filename.size());
    bytes[sizeof(x) + filename.size()] = '\0';
    std::memcpy(bytes.data() + sizeof(x) + x.filename_len, args.data(), args.size());
    return bytes;
}

// An exit record with resource usage as the probes read it.
inline std::vector<char> exit_usage_record(__u32 pid, __u32 ppid, std::string_view comm) {
    auto bytes = exit_record(pid, ppid, comm, 0);
    auto* x = reinterpret_cast<execmond_exit*>(bytes.data());
    x->duration_ns = 712'000'000;
    x->utime_ns = 40'000'000;
    x->stime_ns = 40'000'000;
    x->runtime_ns = 601'000'000;
    x->maxrss_pages = 12608;
    x->nvcsw = 3;
    x->nivcsw = 17;
    return bytes;
}

} // namespace execmond::test
