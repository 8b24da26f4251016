// Every line the daemon writes that is not an event line, one function per
// line kind of proto/stream.schema.json ($defs/<kind>); event lines (fork, exec,
// exit) come from the Encoder, on the hot path. Each returns one complete line
// ending in '\n'.
#pragma once

#include "boot_clock.hpp"
#include "event.hpp"
#include "exe_provenance.hpp"
#include "line.hpp"
#include "subscription.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace execmond {

inline constexpr int protocol_version = 1;

// $defs/hello: the first line every client gets.
struct HelloFacts {
    std::string hostname; // any bytes; escaped as needed
    std::string boot_id;
    int64_t boot_realtime_ns = 0;
    std::string probe_mode;
    std::string parent_path;
    std::string stream_id; // names the numbering (StreamLog): boot id and daemon start
    uint64_t last_seq = 0; // the seq this connection's stream continues after
};
std::string hello_line(const HelloFacts& facts);

// $defs/lost, reason kernel_ring_full or shutdown: records that never became
// lines. The line itself is part of the stream: `seq` (0 leaves it out).
std::string records_lost_line(const BootClock& clock, const LostCounts& counts, std::string_view reason,
                              uint64_t seq = 0);
// $defs/lost, reason client_slow: lines one client's queue dropped; of the
// stream's lines among them, the first and last seq (0: none were).
std::string client_slow_line(const BootClock& clock, uint64_t count, uint64_t first_seq = 0,
                             uint64_t last_seq = 0);
// $defs/lost without by_type: `count` lines of any type one reader dropped,
// for `reason` (client_slow: a client's queue was full; file_slow: the output
// file's queue was full; file_error: writing the output file failed, e.g. the
// disk was full); of the stream's lines among them, the first and last seq.
std::string lines_lost_line(const BootClock& clock, uint64_t count, std::string_view reason,
                            uint64_t first_seq = 0, uint64_t last_seq = 0);
// $defs/lost, reason replay_expired: the stream's lines first_seq..last_seq,
// asked for with `since`, are no longer kept.
std::string replay_expired_line(const BootClock& clock, uint64_t first_seq, uint64_t last_seq);

// $defs/gap: what the daemon missed while it was not running.
struct GapProcess { // started while the daemon was down, still alive
    Pid pid = 0;
    Pid ppid = 0;
    uint64_t start_ticks = 0;
    uint64_t start_boottime_ns = 0;
    uint64_t parent_start_ticks = 0; // 0: parent unknown
    uint32_t uid = 0;
    std::string comm;
    std::string filename;
    std::string args; // NUL-separated, as /proc/PID/cmdline
    bool args_truncated = false;
};
struct PreviousRun {
    std::string stream_id;
    std::string boot_id;
    uint64_t last_seq = 0;
    int64_t written_realtime_ns = 0; // the state file's last write
    uint64_t written_boottime_ns = 0;
    bool clean = false; // written at a clean stop
};
struct GapFacts {
    uint64_t now_boottime_ns = 0;
    int64_t now_realtime_ns = 0;
    std::optional<PreviousRun> previous; // unset: no usable state file
    std::string state;                   // "ok", "none", "unreadable", "disabled"
    bool rebooted = false;               // the previous run was in another boot
    std::vector<GapProcess> started;
    std::vector<std::string> exited; // keys
    bool truncated = false;          // the lists were cut (see gap_limit)
};
inline constexpr size_t gap_limit = 4096; // processes per list
// `redact` says which argv elements --redact masks, as on exec lines.
std::string gap_line(const BootClock& clock, const GapFacts& facts, uint64_t seq,
                     const std::function<bool(std::string_view)>& redact);

// $defs/stats.
struct ClientStats {
    uint64_t id = 0;
    int64_t pid = 0;
    uint32_t uid = 0;
    uint64_t sent = 0;
    uint64_t lost = 0;
    uint64_t queued_bytes = 0;
};
// The output file (--output-file), when there is one.
struct FileStats {
    std::string path;
    uint64_t written = 0;    // lines written
    uint64_t lost_slow = 0;  // lines dropped because the queue was full
    uint64_t lost_error = 0; // lines dropped because a write failed
    uint64_t queued_bytes = 0;
    uint64_t rotations = 0;
};
struct StatsFacts {
    uint64_t now_boottime_ns = 0;
    int64_t uptime_s = 0;
    uint64_t fork = 0, exec = 0, exit = 0;
    uint64_t exec_failed = 0; // --exec-failures
    LostCounts kernel_lost;
    uint64_t client_lost = 0;
    std::vector<ClientStats> clients;
    uint64_t process_table = 0;
    uint64_t ring_size = 0, ring_queued = 0;
    uint64_t wakeups = 0, timer_drains = 0;
    uint64_t decode_errors = 0;
    uint64_t duplicate_exits = 0;
    uint64_t last_seq = 0;
    uint64_t replay_limit = 0, replay_bytes = 0, replay_lines = 0, replay_first_seq = 0;
    std::optional<FileStats> file;
    std::optional<ProvenanceStats> provenance; // with --hash or --packages
};
std::string stats_line(const BootClock& clock, const StatsFacts& facts);

// $defs/clock: the wall clock was stepped, so boot_time (hello) moved. A
// line of the numbered stream, like lost and gap.
std::string clock_line(const BootClock& clock, uint64_t seq);

// $defs/snapshot_end: closes the answer to a snapshot request (the process
// lines before it come from the Encoder).
std::string snapshot_end_line(const BootClock& clock, uint64_t now_boottime_ns, uint64_t count);

// $defs/subscribed and $defs/error: answers to requests.
std::string subscribed_line(const Subscription& s);
// ... to a subscribe with since: the seq the replay starts after.
std::string subscribed_line(const Subscription& s, uint64_t since);
std::string error_line(std::string_view message);
// $defs/error, written to a peer refused by --allow-uid/--allow-group before closing.
const std::string& refusal_line();

} // namespace execmond
