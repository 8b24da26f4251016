#include "protocol.hpp"

#include "text.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace execmond {

using json = nlohmann::ordered_json;

namespace {

// Strings here are the daemon's own or already escaped; replace, never throw.
std::string to_line(const json& j) {
    std::string line = j.dump(-1, ' ', false, json::error_handler_t::replace);
    line.push_back('\n');
    return line;
}

json per_type(const LostCounts& c) {
    json j = {{"fork", c.fork}, {"exec", c.exec}, {"exit", c.exit}};
    if (c.exec_failed != 0) // only with --exec-failures
        j["exec_failed"] = c.exec_failed;
    return j;
}

} // namespace

std::string hello_line(const HelloFacts& facts) {
    json j;
    j["type"] = "hello";
    j["protocol"] = protocol_version;
    j["version"] = EXECMOND_VERSION;
    // Any bytes may be set as a host name: escape like kernel strings, so a
    // non-UTF-8 one cannot make dump() throw on every connection.
    std::string hostname;
    bool escaped = append_json_text(hostname, facts.hostname);
    j["hostname"] = hostname;
    if (escaped)
        j["hostname_escaped"] = true;
    j["boot_id"] = facts.boot_id;
    j["boot_time"] = BootClock::format_rfc3339(facts.boot_realtime_ns);
    j["probe_mode"] = facts.probe_mode;
    j["parent_path"] = facts.parent_path;
    if (!facts.stream_id.empty()) {
        j["stream_id"] = facts.stream_id;
        j["last_seq"] = facts.last_seq;
    }
    return to_line(j);
}

std::string records_lost_line(const BootClock& clock, const LostCounts& counts, std::string_view reason,
                              uint64_t seq) {
    json j;
    j["type"] = "lost";
    if (seq != 0)
        j["seq"] = seq;
    j["time"] = clock.rfc3339(BootClock::now_boottime_ns());
    j["count"] = counts.total();
    j["reason"] = reason;
    // The schema wants by_type on both reasons; until now shutdown lines lacked it.
    j["by_type"] = per_type(counts);
    return to_line(j);
}

std::string lines_lost_line(const BootClock& clock, uint64_t count, std::string_view reason,
                            uint64_t first_seq, uint64_t last_seq) {
    json j;
    j["type"] = "lost";
    j["time"] = clock.rfc3339(BootClock::now_boottime_ns());
    j["count"] = count;
    j["reason"] = reason;
    if (first_seq != 0) {
        j["first_seq"] = first_seq;
        j["last_seq"] = last_seq;
    }
    return to_line(j);
}

std::string client_slow_line(const BootClock& clock, uint64_t count, uint64_t first_seq, uint64_t last_seq) {
    return lines_lost_line(clock, count, "client_slow", first_seq, last_seq);
}

std::string replay_expired_line(const BootClock& clock, uint64_t first_seq, uint64_t last_seq) {
    json j;
    j["type"] = "lost";
    j["time"] = clock.rfc3339(BootClock::now_boottime_ns());
    j["count"] = last_seq - first_seq + 1;
    j["reason"] = "replay_expired";
    j["first_seq"] = first_seq;
    j["last_seq"] = last_seq;
    return to_line(j);
}

namespace {

std::string key_of(Pid pid, uint64_t start_ticks) {
    return std::to_string(pid) + ":" + std::to_string(start_ticks);
}

// /proc/PID/cmdline's NUL-separated arguments (a cut last one has no NUL).
std::vector<std::string_view> split_args(std::string_view args) {
    std::vector<std::string_view> argv;
    while (!args.empty()) {
        auto nul = args.find('\0');
        argv.push_back(args.substr(0, nul));
        args.remove_prefix(nul == std::string_view::npos ? args.size() : nul + 1);
    }
    return argv;
}

// A kernel or /proc string as JSON text; true if it had to be escaped.
bool text(json& j, const char* member, std::string_view bytes) {
    std::string out;
    bool escaped = append_json_text(out, bytes);
    j[member] = std::move(out);
    return escaped;
}

json gap_process(const BootClock& clock, const GapProcess& p,
                 const std::function<bool(std::string_view)>& redact) {
    json j;
    j["pid"] = p.pid;
    j["ppid"] = p.ppid;
    j["key"] = key_of(p.pid, p.start_ticks);
    if (p.parent_start_ticks != 0)
        j["parent_key"] = key_of(p.ppid, p.parent_start_ticks);
    j["uid"] = p.uid;
    if (text(j, "comm", p.comm))
        j["comm_escaped"] = true;
    if (text(j, "filename", p.filename))
        j["filename_escaped"] = true;
    json argv = json::array(), escaped = json::array();
    bool redacted = false;
    uint32_t i = 0;
    for (std::string_view arg : split_args(p.args)) {
        std::string out;
        if (redact && redact(arg)) {
            out = "[REDACTED]";
            redacted = true;
        } else if (append_json_text(out, arg)) {
            escaped.push_back(i);
        }
        argv.push_back(std::move(out));
        ++i;
    }
    j["argv"] = std::move(argv);
    j["argv_truncated"] = p.args_truncated;
    if (!escaped.empty())
        j["argv_escaped"] = std::move(escaped);
    if (redacted)
        j["argv_redacted"] = true;
    j["start_time"] = clock.rfc3339(p.start_boottime_ns);
    j["start_ktime_ns"] = p.start_boottime_ns;
    return j;
}

} // namespace

std::string gap_line(const BootClock& clock, const GapFacts& f, uint64_t seq,
                     const std::function<bool(std::string_view)>& redact) {
    json j;
    j["type"] = "gap";
    j["seq"] = seq;
    j["time"] = clock.rfc3339(f.now_boottime_ns);
    j["state"] = f.state;
    if (f.previous) {
        const PreviousRun& p = *f.previous;
        // Within one boot CLOCK_BOOTTIME cannot step; across a reboot only the wall clock spans it.
        int64_t down = f.rebooted || p.written_boottime_ns > f.now_boottime_ns
                           ? f.now_realtime_ns - p.written_realtime_ns
                           : static_cast<int64_t>(f.now_boottime_ns - p.written_boottime_ns);
        j["previous"] = {{"stream_id", p.stream_id},
                         {"last_seq", p.last_seq},
                         {"clean", p.clean},
                         {"stopped_at", BootClock::format_rfc3339(p.written_realtime_ns)},
                         {"down_ns", std::max<int64_t>(down, 0)}};
        j["rebooted"] = f.rebooted;
    }
    auto started = json::array();
    for (const GapProcess& p : f.started)
        started.push_back(gap_process(clock, p, redact));
    j["started"] = std::move(started);
    j["exited"] = f.exited;
    if (f.truncated)
        j["truncated"] = true;
    return to_line(j);
}

std::string stats_line(const BootClock& clock, const StatsFacts& f) {
    json j;
    j["type"] = "stats";
    j["time"] = clock.rfc3339(f.now_boottime_ns);
    j["uptime_s"] = f.uptime_s;
    j["events"] = per_type(LostCounts{f.fork, f.exec, f.exit, f.exec_failed});
    json kernel = per_type(f.kernel_lost);
    kernel["total"] = f.kernel_lost.total();
    j["kernel_lost"] = std::move(kernel);
    j["client_lost"] = f.client_lost;
    j["clients"] = f.clients.size();
    auto per_client = json::array();
    for (const ClientStats& c : f.clients)
        per_client.push_back({{"id", c.id},
                              {"pid", c.pid},
                              {"uid", c.uid},
                              {"sent", c.sent},
                              {"lost", c.lost},
                              {"queued_bytes", c.queued_bytes}});
    j["per_client"] = std::move(per_client);
    j["process_table"] = f.process_table;
    j["ring"] = {{"size", f.ring_size}, {"queued", f.ring_queued}};
    j["wakeups"] = f.wakeups;
    j["timer_drains"] = f.timer_drains;
    j["decode_errors"] = f.decode_errors;
    j["duplicate_exits"] = f.duplicate_exits;
    j["last_seq"] = f.last_seq;
    j["replay"] = {{"limit_bytes", f.replay_limit},
                   {"bytes", f.replay_bytes},
                   {"lines", f.replay_lines},
                   {"first_seq", f.replay_first_seq}};
    if (f.file)
        j["file"] = {{"path", f.file->path},
                     {"written", f.file->written},
                     {"lost", {{"file_slow", f.file->lost_slow}, {"file_error", f.file->lost_error}}},
                     {"queued_bytes", f.file->queued_bytes},
                     {"rotations", f.file->rotations}};
    if (const auto& p = f.provenance) {
        j["provenance"] = {{"cache",
                            {{"entries", p->cache_entries},
                             {"hits", p->cache_hits},
                             {"misses", p->cache_misses},
                             {"evictions", p->cache_evictions}}},
                           {"hashed", p->hashed},
                           {"hashed_bytes", p->hashed_bytes},
                           {"queued", p->queued},
                           {"skipped",
                            {{"too_large", p->skipped_too_large},
                             {"gone", p->skipped_gone},
                             {"unreadable", p->skipped_unreadable},
                             {"busy", p->skipped_busy}}},
                           {"packages",
                            {{"packages", p->packages},
                             {"paths", p->package_paths},
                             {"index_bytes", p->index_bytes},
                             {"loads", p->index_loads}}}};
    }
    return to_line(j);
}

std::string clock_line(const BootClock& clock, uint64_t seq) {
    json j;
    j["type"] = "clock";
    j["seq"] = seq;
    j["time"] = clock.rfc3339(clock.boottime_now_ns());
    j["boot_time"] = BootClock::format_rfc3339(clock.boot_realtime_ns());
    j["previous_boot_time"] = BootClock::format_rfc3339(clock.previous_boot_realtime_ns());
    return to_line(j);
}

std::string snapshot_end_line(const BootClock& clock, uint64_t now_boottime_ns, uint64_t count) {
    json j;
    j["type"] = "snapshot_end";
    j["time"] = clock.rfc3339(now_boottime_ns);
    j["ktime_ns"] = now_boottime_ns;
    j["count"] = count;
    return to_line(j);
}

std::string subscribed_line(const Subscription& s) {
    json j;
    j["type"] = "subscribed";
    j["filter"] = s.to_json();
    return to_line(j);
}

std::string subscribed_line(const Subscription& s, uint64_t since) {
    json j;
    j["type"] = "subscribed";
    j["filter"] = s.to_json();
    j["since"] = since;
    return to_line(j);
}

std::string error_line(std::string_view message) {
    json j;
    j["type"] = "error";
    j["message"] = message;
    return to_line(j);
}

const std::string& refusal_line() {
    static const std::string line = error_line("permission denied: uid not allowed");
    return line;
}

} // namespace execmond
