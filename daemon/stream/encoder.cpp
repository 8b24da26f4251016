#include "encoder.hpp"

#include "text.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

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
    k_known_from("known_from"), k_seq("seq"), k_exe_sha256("exe_sha256"),
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

} // namespace

Encoder::Encoder(const BootClock& clock, const std::vector<std::string>& redact_patterns)
    : clock_(clock), redact_(redact_patterns), writer_(std::make_unique<JsonWriter>()) {}

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

bool Encoder::redacts(std::string_view arg) const {
    return !redact_.empty() && redact_.matches(arg);
}

void Encoder::write_ancestor(const ProcessInfo& a) const {
    JsonWriter& w = *writer_;
    auto [it, fresh] = ancestor_cache_.try_emplace(a.pid);
    CachedAncestor& c = it->second;
    if (!fresh && c.start_ticks == a.start_ticks && c.start_ns == a.start_ns && c.comm == a.comm &&
        c.filename == a.filename) {
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
    w.end_object();
    // The fragment starts after the comma separating it from the previous entry.
    std::string_view written = std::string_view(w.str()).substr(from);
    if (!written.empty() && written.front() == ',')
        written.remove_prefix(1);
    c.start_ticks = a.start_ticks;
    c.start_ns = a.start_ns;
    c.comm = a.comm;
    c.filename = a.filename;
    c.json.assign(written);
}

std::string Encoder::take_line() const {
    std::string line;
    line.reserve(writer_->size() + 1);
    line.append(writer_->str());
    line.push_back('\n');
    return line;
}

void Encoder::write_argv(std::string_view args, bool truncated, uint32_t argc) const {
    JsonWriter& w = *writer_;
    escaped_at_.clear();
    bool any_redacted = false;
    w.key(k_argv);
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
    w.key(k_argv_truncated);
    w.value(truncated || (!args.empty() && args.back() != '\0'));
    if (argc != 0) {
        w.key(k_argc);
        w.value(argc);
    }
    if (!escaped_at_.empty()) {
        w.key(k_argv_escaped);
        w.begin_array();
        for (uint32_t i : escaped_at_)
            w.value(i);
        w.end_array();
    }
    if (any_redacted) {
        w.key(k_argv_redacted);
        w.value(true);
    }
}

std::string Encoder::process(const ProcessInfo& p, const ProcessInfo* parent,
                             std::string_view cgroup_path) const {
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
    return take_line();
}

} // namespace execmond
