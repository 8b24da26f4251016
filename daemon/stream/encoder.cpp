#include "encoder.hpp"

#include "text.hpp"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sys/sysmacros.h>

namespace execmond {

namespace {

constexpr std::string_view redacted_text = "[REDACTED]";

// Member names, serialized once.
const JsonKey k_type("type"), k_time("time"), k_ktime_ns("ktime_ns"), k_pid("pid"), k_tid("tid"),
    k_ppid("ppid"), k_uid("uid"), k_gid("gid"), k_comm("comm"), k_comm_escaped("comm_escaped"),
    k_euid("euid"), k_egid("egid"), k_filename("filename"), k_filename_escaped("filename_escaped"),
    k_argv("argv"), k_argv_truncated("argv_truncated"), k_argc("argc"), k_argv_escaped("argv_escaped"),
    k_argv_redacted("argv_redacted"), k_exit_code("exit_code"), k_signal("signal"),
    k_core_dumped("core_dumped"), k_key("key"), k_parent_key("parent_key"), k_parent_comm("parent_comm"),
    k_fork_ppid("fork_ppid"), k_ns_pid("ns_pid"), k_pidns("pidns"), k_cgroup_id("cgroup_id"),
    k_cgroup("cgroup"), k_parent_source("parent_source"), k_ancestors("ancestors"),
    k_start_ktime_ns("start_ktime_ns"), k_start_time("start_time"), k_kernel_thread("kernel_thread"),
    k_known_from("known_from"), k_container_id("container_id"), k_container_runtime("container_runtime"),
    k_container_name("container_name"), k_pod_uid("pod_uid"), k_parent_argv("parent_argv"),
    k_parent_argv_truncated("parent_argv_truncated"), k_parent_argv_escaped("parent_argv_escaped"),
    k_parent_argv_redacted("parent_argv_redacted"), k_seq("seq"), k_duration_ns("duration_ns"),
    k_cpu_user_ns("cpu_user_ns"), k_cpu_system_ns("cpu_system_ns"), k_max_rss_kib("max_rss_kib"),
    k_voluntary_ctxt_switches("voluntary_ctxt_switches"),
    k_nonvoluntary_ctxt_switches("nonvoluntary_ctxt_switches"), k_errno("errno"), k_env("env"),
    k_env_truncated("env_truncated"), k_cwd("cwd"), k_cwd_escaped("cwd_escaped"),
    k_cwd_truncated("cwd_truncated"), k_exe("exe"), k_exe_escaped("exe_escaped"),
    k_exe_truncated("exe_truncated"), k_exe_file("exe_file"), k_dev("dev"), k_ino("ino"), k_mode("mode"),
    k_size("size"), k_mtime("mtime"), k_nlink("nlink"), k_interpreter("interpreter"),
    k_interpreter_escaped("interpreter_escaped"), k_fileless("fileless"), k_secure_exec("secure_exec"),
    k_auid("auid"), k_session_id("session_id"), k_tty("tty"), k_exe_sha256("exe_sha256"),
    k_exe_sha256_skipped("exe_sha256_skipped"), k_exe_package("exe_package"),
    k_exe_package_modified("exe_package_modified"), k_name("name"), k_version("version"), k_arch("arch"),
    k_exec_ktime_ns("exec_ktime_ns");

// ProcessInfo::key() without allocating: "pid:start_ticks".
std::string_view key_text(const ProcessInfo& p, std::array<char, 48>& buf) {
    char* end = buf.data() + buf.size();
    char* at = std::to_chars(buf.data(), end, p.pid).ptr;
    *at++ = ':';
    at = std::to_chars(at, end, p.start_ticks).ptr;
    return {buf.data(), static_cast<size_t>(at - buf.data())};
}

// "MAJ:MIN" of a 32-bit dev_t, as /proc/PID/maps and mountinfo show it.
std::string_view dev_text(uint32_t dev, std::array<char, 24>& buf) {
    char* end = buf.data() + buf.size();
    char* at = std::to_chars(buf.data(), end, major(dev)).ptr;
    *at++ = ':';
    at = std::to_chars(at, end, minor(dev)).ptr;
    return {buf.data(), static_cast<size_t>(at - buf.data())};
}

// The mtime in ns, saturated: an inode's time may lie beyond int64 ns (year 2262).
int64_t mtime_ns(const ExeFile& f) {
    int64_t ns = 0;
    if (__builtin_mul_overflow(f.mtime_sec, int64_t{1'000'000'000}, &ns) ||
        __builtin_add_overflow(ns, int64_t{f.mtime_nsec % 1'000'000'000}, &ns))
        return f.mtime_sec < 0 ? INT64_MIN : INT64_MAX;
    return ns;
}

// st_mode's permission bits as four octal digits: "0755", "4755".
std::string_view mode_text(uint32_t mode, std::array<char, 4>& buf) {
    for (int i = 3; i >= 0; --i, mode >>= 3)
        buf[i] = static_cast<char>('0' + (mode & 7));
    return {buf.data(), buf.size()};
}

} // namespace

// Which members one argv is written as.
struct Encoder::ArgvKeys {
    const JsonKey& argv;
    const JsonKey& truncated;
    const JsonKey& escaped;
    const JsonKey& redacted;
};

// "ENOENT"; the number, as text, for an error glibc has no name for.
void Encoder::write_errno(int err) const {
    const char* name = strerrorname_np(err);
    if (name) {
        writer_->string(name);
        return;
    }
    std::array<char, 16> buf;
    auto end = std::to_chars(buf.data(), buf.data() + buf.size(), err).ptr;
    writer_->string(std::string_view(buf.data(), static_cast<size_t>(end - buf.data())));
}

Encoder::Encoder(const BootClock& clock, const std::vector<std::string>& redact_patterns, bool ancestor_argv)
    : clock_(clock), redact_(redact_patterns), ancestor_argv_(ancestor_argv),
      writer_(std::make_unique<JsonWriter>()) {}

std::vector<std::string_view> Encoder::split_args(std::string_view args) {
    std::vector<std::string_view> argv;
    while (!args.empty()) {
        auto nul = args.find('\0');
        if (nul == std::string_view::npos) {
            argv.push_back(args);
            break;
        }
        argv.push_back(args.substr(0, nul));
        args.remove_prefix(nul + 1);
    }
    return argv;
}

// BootClock::rfc3339 without allocating; the date part changes once a second.
std::string_view Encoder::time_text(KtimeNs boottime_ns) const {
    int64_t realtime_ns = clock_.realtime_ns(boottime_ns);
    int64_t secs = realtime_ns / 1'000'000'000;
    int64_t nsec = realtime_ns % 1'000'000'000;
    if (nsec < 0) {
        nsec += 1'000'000'000;
        --secs;
    }
    constexpr size_t date_len = 19; // YYYY-MM-DDTHH:MM:SS
    if (secs != cached_second_) {
        std::string full = BootClock::format_rfc3339(secs * 1'000'000'000);
        if (full.size() != date_len + 11) { // a year outside 0000-9999: no caching
            time_fallback_ = BootClock::format_rfc3339(realtime_ns);
            return time_fallback_;
        }
        full.copy(time_buf_.data(), date_len);
        cached_second_ = secs;
    }
    char* at = time_buf_.data() + date_len;
    *at++ = '.';
    for (int i = 8; i >= 0; --i) {
        at[i] = static_cast<char>('0' + nsec % 10);
        nsec /= 10;
    }
    at[9] = 'Z';
    return {time_buf_.data(), date_len + 11};
}

// Most execs run a file run just before (a storm, a build's compiler): the
// last mtime's text is kept, so the common case formats nothing.
std::string_view Encoder::mtime_text(int64_t mtime_ns) const {
    if (mtime_ns != cached_mtime_ns_ || cached_mtime_.empty()) {
        cached_mtime_ = BootClock::format_rfc3339(mtime_ns);
        cached_mtime_ns_ = mtime_ns;
    }
    return cached_mtime_;
}

bool Encoder::redacts(std::string_view arg) const {
    return !redact_.empty() && redact_.matches(arg);
}

void Encoder::write_ancestor(const ProcessInfo& a) const {
    JsonWriter& w = *writer_;
    auto [it, fresh] = ancestor_cache_.try_emplace(a.pid);
    CachedAncestor& c = it->second;
    if (!fresh && c.start_ticks == a.start_ticks && c.start_ns == a.start_ns && c.comm == a.comm &&
        c.filename == a.filename && (!ancestor_argv_ || c.args == a.args)) {
        w.raw(c.json);
        return;
    }
    size_t from = w.size();
    std::array<char, 48> key;
    w.begin_object();
    w.key(k_pid);
    w.value(a.pid);
    w.key(k_key);
    w.string(key_text(a, key));
    w.key(k_comm);
    w.text(a.comm);
    w.key(k_filename);
    w.text(a.filename);
    w.key(k_start_ktime_ns);
    w.value(a.start_ns);
    if (ancestor_argv_ && !a.args.empty())
        write_lineage_argv(ArgvKeys{k_argv, k_argv_truncated, k_argv_escaped, k_argv_redacted}, a);
    w.end_object();
    // The fragment starts after the comma separating it from the previous entry.
    std::string_view written = std::string_view(w.str()).substr(from);
    if (!written.empty() && written.front() == ',')
        written.remove_prefix(1);
    c.start_ticks = a.start_ticks;
    c.start_ns = a.start_ns;
    c.comm = a.comm;
    c.filename = a.filename;
    if (ancestor_argv_)
        c.args = a.args;
    c.json.assign(written);
}

bool Encoder::write_path(const JsonKey& key, const JsonKey& escaped, std::string_view path) const {
    JsonWriter& w = *writer_;
    w.key(key);
    if (!w.text(path))
        return false;
    w.key(escaped);
    w.value(true);
    return true;
}

void Encoder::write_ids(bool audit_known, uint32_t auid, uint32_t session_id, uint32_t tty_dev) const {
    JsonWriter& w = *writer_;
    if (audit_known && auid != unset_id) {
        w.key(k_auid);
        w.value(auid);
    }
    if (audit_known && session_id != unset_id) {
        w.key(k_session_id);
        w.value(session_id);
    }
    if (tty_dev != 0) {
        w.key(k_tty);
        w.text(ttys_.name(tty_dev));
    }
}

void Encoder::CachedIdentity::keep(const IdentityFacts& f, std::string_view written) {
    cwd.assign(f.cwd);
    exe.assign(f.exe);
    interpreter.assign(f.interpreter);
    facts = f;
    facts.cwd = cwd;
    facts.exe = exe;
    facts.interpreter = interpreter;
    json.assign(written);
    valid = true;
}

void Encoder::write_identity(const Event& e) const {
    JsonWriter& w = *writer_;
    IdentityFacts facts{.cwd = e.cwd,
                        .exe = e.exe,
                        .interpreter = e.interpreter,
                        .exe_file = e.exe_file,
                        .auid = e.auid,
                        .session_id = e.session_id,
                        .tty_dev = e.tty_dev,
                        .known = e.identity_known,
                        .audit_known = e.audit_known,
                        .cwd_truncated = e.cwd_truncated,
                        .exe_truncated = e.exe_truncated,
                        .fileless = e.fileless,
                        .secure_exec = e.secure_exec};
    if (exec_identity_.matches(facts)) {
        w.members(exec_identity_.json);
        return;
    }
    size_t from = w.size();
    if (e.identity_known) {
        if (!e.cwd.empty())
            write_path(k_cwd, k_cwd_escaped, e.cwd);
        if (e.cwd_truncated) {
            w.key(k_cwd_truncated);
            w.value(true);
        }
        if (!e.exe.empty())
            write_path(k_exe, k_exe_escaped, e.exe);
        if (e.exe_truncated) {
            w.key(k_exe_truncated);
            w.value(true);
        }
        const ExeFile& f = e.exe_file;
        std::array<char, 24> dev;
        std::array<char, 4> mode;
        w.key(k_exe_file);
        w.begin_object();
        w.key(k_dev);
        w.string(dev_text(f.dev, dev));
        w.key(k_ino);
        w.value(f.ino);
        w.key(k_mode);
        w.string(mode_text(f.mode & 07777, mode));
        w.key(k_uid);
        w.value(f.uid);
        w.key(k_gid);
        w.value(f.gid);
        w.key(k_size);
        w.value(static_cast<uint64_t>(f.size < 0 ? 0 : f.size));
        w.key(k_mtime);
        w.string(mtime_text(mtime_ns(f)));
        w.key(k_nlink);
        w.value(f.nlink);
        w.end_object();
        if (!e.interpreter.empty())
            write_path(k_interpreter, k_interpreter_escaped, e.interpreter);
        if (e.fileless) {
            w.key(k_fileless);
            w.value(true);
        }
        if (e.secure_exec) {
            w.key(k_secure_exec);
            w.value(true);
        }
    }
    write_ids(e.audit_known, e.auid, e.session_id, e.identity_known ? e.tty_dev : 0);
    exec_identity_.keep(facts, w.since(from));
}

void Encoder::write_identity(const ProcessIdentity& id, CachedIdentity* cache) const {
    JsonWriter& w = *writer_;
    IdentityFacts facts{.cwd = id.cwd,
                        .exe = id.exe,
                        .interpreter = {},
                        .exe_file = {},
                        .auid = id.auid,
                        .session_id = id.session_id,
                        .tty_dev = id.tty_dev,
                        .known = id.known,
                        .audit_known = id.audit_known,
                        .cwd_truncated = false,
                        .exe_truncated = false,
                        .fileless = false,
                        .secure_exec = false};
    if (cache && cache->matches(facts)) {
        w.members(cache->json);
        return;
    }
    size_t from = w.size();
    if (id.known && !id.cwd.empty())
        write_path(k_cwd, k_cwd_escaped, id.cwd);
    if (id.known && !id.exe.empty())
        write_path(k_exe, k_exe_escaped, id.exe);
    write_ids(id.audit_known, id.auid, id.session_id, id.known ? id.tty_dev : 0);
    if (cache)
        cache->keep(facts, w.since(from));
}

std::string Encoder::take_line() const {
    std::string line;
    line.reserve(writer_->size() + 1);
    line.append(writer_->str());
    line.push_back('\n');
    return line;
}

void Encoder::write_argv(std::string_view args, bool truncated, uint32_t argc) const {
    write_argv(ArgvKeys{k_argv, k_argv_truncated, k_argv_escaped, k_argv_redacted}, args, truncated, argc);
}

void Encoder::write_argv(const ArgvKeys& keys, std::string_view args, bool truncated, uint32_t argc) const {
    JsonWriter& w = *writer_;
    escaped_at_.clear();
    bool any_redacted = false;
    w.key(keys.argv);
    w.begin_array();
    std::string_view rest = args;
    for (uint32_t i = 0; !rest.empty(); ++i) {
        auto nul = rest.find('\0');
        std::string_view arg = rest.substr(0, nul);
        rest.remove_prefix(nul == std::string_view::npos ? rest.size() : nul + 1);
        if (!redact_.empty() && redact_.matches(arg)) {
            w.string(redacted_text);
            any_redacted = true;
        } else if (w.text(arg)) {
            escaped_at_.push_back(i);
        }
    }
    w.end_array();
    // A cut argument area still ends in a NUL-less fragment: that counts.
    w.key(keys.truncated);
    w.value(truncated || (!args.empty() && args.back() != '\0'));
    if (argc != 0) {
        w.key(k_argc);
        w.value(argc);
    }
    if (!escaped_at_.empty()) {
        w.key(keys.escaped);
        w.begin_array();
        for (uint32_t i : escaped_at_)
            w.value(i);
        w.end_array();
    }
    if (any_redacted) {
        w.key(keys.redacted);
        w.value(true);
    }
}

void Encoder::write_lineage_argv(const ArgvKeys& keys, const ProcessInfo& p) const {
    std::string_view args = p.args;
    bool cut = args.size() > max_lineage_argv;
    if (cut)
        args = args.substr(0, max_lineage_argv);
    write_argv(keys, args, p.args_truncated || cut);
}

// Siblings share their parent's argv: the last parent's members are reused.
void Encoder::write_parent_argv(const ProcessInfo& parent) const {
    JsonWriter& w = *writer_;
    CachedArgv& c = parent_argv_;
    if (c.valid && c.truncated == parent.args_truncated && c.args == parent.args) {
        w.members(c.json);
        return;
    }
    size_t from = w.size();
    write_lineage_argv(
        ArgvKeys{k_parent_argv, k_parent_argv_truncated, k_parent_argv_escaped, k_parent_argv_redacted},
        parent);
    c.args.assign(parent.args);
    c.truncated = parent.args_truncated;
    c.json.assign(w.since(from));
    c.valid = true;
}

void Encoder::write_container(const Container& c) const {
    JsonWriter& w = *writer_;
    if (!c.runtime.empty()) {
        w.key(k_container_runtime);
        w.string(c.runtime);
    }
    if (!c.id.empty()) {
        w.key(k_container_id);
        w.string(c.id);
    }
    if (!c.name.empty()) {
        w.key(k_container_name);
        w.text(c.name);
    }
    if (!c.pod_uid.empty()) {
        w.key(k_pod_uid);
        w.string(c.pod_uid);
    }
}

std::string Encoder::process(const ProcessInfo& p, const ProcessInfo* parent, std::string_view cgroup_path,
                             const Container* container) const {
    JsonWriter& w = *writer_;
    std::array<char, 48> key;
    w.clear();
    w.begin_object();
    w.key(k_type);
    w.string("process");
    w.key(k_pid);
    w.value(p.pid);
    w.key(k_ppid);
    w.value(p.ppid);
    if (p.fork_ppid != 0) {
        w.key(k_fork_ppid);
        w.value(p.fork_ppid);
    }
    w.key(k_key);
    w.string(key_text(p, key));
    if (parent) {
        w.key(k_parent_key);
        w.string(key_text(*parent, key));
    }
    w.key(k_start_time);
    w.string(time_text(p.start_ns));
    w.key(k_start_ktime_ns);
    w.value(p.start_ns);
    w.key(k_uid);
    w.value(p.uid);
    w.key(k_gid);
    w.value(p.gid);
    w.key(k_comm);
    if (w.text(p.comm)) {
        w.key(k_comm_escaped);
        w.value(true);
    }
    if (!p.filename.empty()) {
        w.key(k_filename);
        if (w.text(p.filename)) {
            w.key(k_filename_escaped);
            w.value(true);
        }
    }
    if (!p.args.empty())
        write_argv(p.args, p.args_truncated, 0);
    if (p.kernel_thread) {
        w.key(k_kernel_thread);
        w.value(true);
    }
    write_identity(p.identity());
    w.key(k_known_from);
    w.string(to_string(p.known_from));
    if (p.cgroup_id != 0) {
        w.key(k_cgroup_id);
        w.value(p.cgroup_id);
    }
    if (!cgroup_path.empty()) {
        w.key(k_cgroup);
        w.text(cgroup_path);
    }
    if (container)
        write_container(*container);
    w.end_object();
    return take_line();
}

void Encoder::write_exe_facts(const ExeFacts& f) const {
    JsonWriter& w = *writer_;
    if (!f.sha256.empty()) {
        w.key(k_exe_sha256);
        w.string(f.sha256);
    } else if (!f.skipped.empty()) {
        w.key(k_exe_sha256_skipped);
        w.string(f.skipped);
    }
    if (f.package_known) {
        w.key(k_exe_package);
        if (!f.package) {
            w.null();
        } else {
            w.begin_object();
            w.key(k_name);
            w.text(f.package->name);
            w.key(k_version);
            w.text(f.package->version);
            w.key(k_arch);
            w.text(f.package->arch);
            w.end_object();
        }
    }
    if (f.modified) {
        w.key(k_exe_package_modified);
        w.value(*f.modified);
    }
}

std::string Encoder::exe_hash(const PendingExec& p, const ExeFacts& f, KtimeNs now_boottime_ns,
                              uint64_t seq) const {
    JsonWriter& w = *writer_;
    w.clear();
    w.begin_object();
    w.key(k_type);
    w.string("exe_hash");
    w.key(k_seq);
    w.value(seq);
    w.key(k_time);
    w.string(time_text(now_boottime_ns));
    w.key(k_ktime_ns);
    w.value(now_boottime_ns);
    w.key(k_pid);
    w.value(p.pid);
    w.key(k_key);
    w.string(p.key);
    w.key(k_exec_ktime_ns);
    w.value(p.exec_ktime_ns);
    w.key(k_filename);
    if (w.text(p.filename)) {
        w.key(k_filename_escaped);
        w.value(true);
    }
    write_exe_facts(f);
    w.end_object();
    return take_line();
}

std::string Encoder::encode(const Event& e, const Lineage& lineage, uint64_t seq) const {
    write_event(e, lineage, seq);
    return take_line();
}

Line Encoder::encode_line(const Event& e, const Lineage& lineage, uint64_t seq) const {
    write_event(e, lineage, seq);
    return share(writer_->str(), "\n");
}

void Encoder::write_event(const Event& e, const Lineage& lineage, uint64_t seq) const {
    JsonWriter& w = *writer_;
    std::array<char, 48> key;
    w.clear();
    w.begin_object();
    w.key(k_type);
    w.string(to_string(e.kind));
    if (seq != 0) {
        w.key(k_seq);
        w.value(seq);
    }
    w.key(k_time);
    w.string(time_text(e.ktime_ns));
    w.key(k_ktime_ns);
    w.value(e.ktime_ns);
    w.key(k_pid);
    w.value(e.pid);
    w.key(k_tid);
    w.value(e.kind == EventKind::exec ? e.old_tid : e.tid);
    w.key(k_ppid);
    w.value(e.ppid);
    w.key(k_uid);
    w.value(e.uid);
    w.key(k_gid);
    w.value(e.gid);
    w.key(k_comm);
    if (w.text(e.comm)) {
        w.key(k_comm_escaped);
        w.value(true);
    }

    if (e.kind == EventKind::exec) {
        // Left out when the probes could not read them (fork-map mode).
        if (e.euid_known) {
            w.key(k_euid);
            w.value(e.euid);
            w.key(k_egid);
            w.value(e.egid);
        }
        w.key(k_filename);
        if (w.text(e.filename)) {
            w.key(k_filename_escaped);
            w.value(true);
        }
    }
    if (e.kind == EventKind::exec && e.args_known)
        write_argv(e.args, e.args_truncated, e.argc);
    if (e.kind == EventKind::exec && e.env_known) {
        // Only what the decoder kept: the --env names present, in the area's order.
        w.key(k_env);
        w.begin_object();
        for (size_t i = 0; i < e.env.count; ++i) {
            w.key_text(e.env.entries[i].name);
            w.text(e.env.entries[i].value);
        }
        w.end_object();
        if (e.env.truncated) {
            w.key(k_env_truncated);
            w.value(true);
        }
    }
    if (e.kind == EventKind::exec_failed) {
        w.key(k_filename);
        if (w.text(e.filename)) {
            w.key(k_filename_escaped);
            w.value(true);
        }
        // argc is left out: only the arguments copied are known.
        write_argv(e.args, e.args_truncated, 0);
        w.key(k_errno);
        write_errno(e.exec_errno);
    }
    if (e.kind == EventKind::exec)
        write_identity(e);
    else if (e.kind == EventKind::exit && lineage.self) // as of its last exec, or /proc
        write_identity(lineage.self->identity(), &exit_identity_);
    if (e.kind == EventKind::exit && !e.exit_status_known) {
        // Unknown, not 0 (fork-map mode): null.
        w.key(k_exit_code);
        w.null();
        w.key(k_signal);
        w.null();
    } else if (e.kind == EventKind::exit) {
        uint32_t sig = e.exit_status & 0x7f;
        w.key(k_exit_code);
        w.value((e.exit_status >> 8) & 0xff);
        w.key(k_signal);
        if (sig != 0)
            w.value(sig);
        else
            w.null();
        if (e.exit_status & 0x80) {
            w.key(k_core_dumped);
            w.value(true);
        }
    }
    if (e.kind == EventKind::exit && e.usage_known) {
        // Left out, not 0, when the probes cannot read them (fork-map mode).
        w.key(k_duration_ns);
        w.value(e.duration_ns);
        w.key(k_cpu_user_ns);
        w.value(e.cpu_user_ns);
        w.key(k_cpu_system_ns);
        w.value(e.cpu_system_ns);
        w.key(k_max_rss_kib);
        w.value(e.max_rss_kib);
        w.key(k_voluntary_ctxt_switches);
        w.value(e.voluntary_ctxt_switches);
        w.key(k_nonvoluntary_ctxt_switches);
        w.value(e.nonvoluntary_ctxt_switches);
    }

    if (lineage.self) {
        w.key(k_key);
        w.string(key_text(*lineage.self, key));
    }
    if (lineage.parent) {
        w.key(k_parent_key);
        w.string(key_text(*lineage.parent, key));
    }
    if (e.kind == EventKind::fork) {
        w.key(k_parent_comm);
        w.text(e.parent_comm);
    } else if (lineage.self && lineage.self->fork_ppid != 0) {
        w.key(k_fork_ppid);
        w.value(lineage.self->fork_ppid);
    }
    if (e.ns_pid != 0 && e.ns_pid != e.pid) {
        w.key(k_ns_pid);
        w.value(e.ns_pid);
    }
    if (e.pidns_id != 0) {
        w.key(k_pidns);
        w.value(e.pidns_id);
    }
    w.key(k_cgroup_id);
    w.value(e.cgroup_id);
    if (!lineage.cgroup_path.empty()) {
        w.key(k_cgroup);
        w.text(lineage.cgroup_path);
    }
    if (lineage.container)
        write_container(*lineage.container);
    if (e.kind == EventKind::exec && lineage.parent && !lineage.parent->args.empty())
        write_parent_argv(*lineage.parent);
    w.key(k_parent_source);
    w.string(to_string(e.parent_source));
    if (lineage.exe)
        write_exe_facts(*lineage.exe);

    if (lineage.ancestors) {
        if (ancestor_cache_.size() > max_cached_ancestors)
            ancestor_cache_.clear();
        w.key(k_ancestors);
        w.begin_array();
        for (const ProcessInfo* a : *lineage.ancestors)
            write_ancestor(*a);
        w.end_array();
    }
    w.end_object();
}

} // namespace execmond
