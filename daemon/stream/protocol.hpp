// Every line the daemon writes that is not an event line, one function per
// line kind of proto/stream.schema.json ($defs/<kind>); event lines (fork, exec,
// exit) come from the Encoder, on the hot path. Each returns one complete line
// ending in '\n'.
#pragma once

#include "boot_clock.hpp"
#include "event.hpp"
#include "exe_provenance.hpp"
#include "subscription.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace execmond {

// A line as it is queued to clients: encoded once, shared by all.
using Line = std::shared_ptr<const std::string>;
inline Line share(std::string line) {
    return std::make_shared<const std::string>(std::move(line));
}

inline constexpr int protocol_version = 1;

// $defs/hello: the first line every client gets.
struct HelloFacts {
    std::string hostname; // any bytes; escaped as needed
    std::string boot_id;
    int64_t boot_realtime_ns = 0;
    std::string probe_mode;
    std::string parent_path;
};
std::string hello_line(const HelloFacts& facts);

// $defs/lost, reason kernel_ring_full or shutdown: records that never became lines.
std::string records_lost_line(const BootClock& clock, const LostCounts& counts, std::string_view reason);
// $defs/lost, reason client_slow: lines one client's queue dropped.
std::string client_slow_line(const BootClock& clock, uint64_t count);

// $defs/stats.
struct ClientStats {
    uint64_t id = 0;
    int64_t pid = 0;
    uint32_t uid = 0;
    uint64_t sent = 0;
    uint64_t lost = 0;
    uint64_t queued_bytes = 0;
};
struct StatsFacts {
    uint64_t now_boottime_ns = 0;
    int64_t uptime_s = 0;
    uint64_t fork = 0, exec = 0, exit = 0;
    LostCounts kernel_lost;
    uint64_t client_lost = 0;
    std::vector<ClientStats> clients;
    uint64_t process_table = 0;
    uint64_t ring_size = 0, ring_queued = 0;
    uint64_t wakeups = 0, timer_drains = 0;
    uint64_t decode_errors = 0;
    uint64_t duplicate_exits = 0;
    std::optional<ProvenanceStats> provenance; // with --hash or --packages
};
std::string stats_line(const BootClock& clock, const StatsFacts& facts);

// $defs/clock: the wall clock was stepped, so boot_time (hello) moved.
std::string clock_line(const BootClock& clock);

// $defs/snapshot_end: closes the answer to a snapshot request (the process
// lines before it come from the Encoder).
std::string snapshot_end_line(const BootClock& clock, uint64_t now_boottime_ns, uint64_t count);

// $defs/subscribed and $defs/error: answers to requests.
std::string subscribed_line(const Subscription& s);
std::string error_line(std::string_view message);
// $defs/error, written to a peer refused by --allow-uid/--allow-group before closing.
const std::string& refusal_line();

} // namespace execmond
