#include "protocol.hpp"

#include "text.hpp"

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
    return {{"fork", c.fork}, {"exec", c.exec}, {"exit", c.exit}};
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
    return to_line(j);
}

std::string records_lost_line(const BootClock& clock, const LostCounts& counts, std::string_view reason) {
    json j;
    j["type"] = "lost";
    j["time"] = clock.rfc3339(BootClock::now_boottime_ns());
    j["count"] = counts.total();
    j["reason"] = reason;
    // The schema wants by_type on both reasons; until now shutdown lines lacked it.
    j["by_type"] = per_type(counts);
    return to_line(j);
}

std::string client_slow_line(const BootClock& clock, uint64_t count) {
    json j;
    j["type"] = "lost";
    j["time"] = clock.rfc3339(BootClock::now_boottime_ns());
    j["count"] = count;
    j["reason"] = "client_slow";
    return to_line(j);
}

std::string stats_line(const BootClock& clock, const StatsFacts& f) {
    json j;
    j["type"] = "stats";
    j["time"] = clock.rfc3339(f.now_boottime_ns);
    j["uptime_s"] = f.uptime_s;
    j["events"] = {{"fork", f.fork}, {"exec", f.exec}, {"exit", f.exit}};
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

std::string clock_line(const BootClock& clock) {
    json j;
    j["type"] = "clock";
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
