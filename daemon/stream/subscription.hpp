// What a client asked to see, and the parser for the lines clients send
// (docs/protocol.md): {"type":"subscribe", ...}, {"type":"stats"} and {"type":"snapshot"}.
#pragma once

#include "event.hpp"
#include "process_table.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace execmond {

// What a filter looks at in one event: live, or kept for replay.
struct MatchFacts {
    EventKind kind{};
    uint32_t uid = 0;
    Pid pid = 0;
    Pid ppid = 0;
    std::string_view comm;
    std::string_view filename; // exec: the path run; else the image the table knows
    std::string_view cgroup_path;
    // The parent chain as the table knew it when the line was made (kept
    // lines); unset: ask the table now. `chain_cut`: the chain stops short.
    std::optional<std::span<const Pid>> chain;
    bool chain_cut = false;
};

struct Subscription {
    // Bounds on what one request may ask the loop to match per event.
    static constexpr size_t max_glob_bytes = 1024; // a filename glob; comm is 15 bytes
    static constexpr size_t max_glob_stars = 16;
    static constexpr size_t max_globs = 64; // per member

    bool fork = true;
    bool exec = true;
    bool exit = true;
    std::vector<uint32_t> uids;              // empty: any
    std::vector<std::string> comm_globs;     // fnmatch(3) patterns; empty: any
    std::vector<std::string> filename_globs; // exec: the path run; else the image the table knows
    std::string cgroup_prefix;               // cgroup2 path, it and below (whole components); empty: any
    std::vector<Pid> descendants_of;         // the pid itself counts; empty: any
    unsigned stats_interval_s = 0;           // 0: stats only on request

    bool wants(EventKind k) const;
    bool matches(const Event& e, std::string_view filename, std::string_view cgroup_path,
                 const ProcessTable& table) const;
    bool matches(const MatchFacts& f, const ProcessTable& table) const;
    nlohmann::ordered_json to_json() const;
};

struct SubscribeRequest {
    Subscription subscription;
    // Resuming (docs/protocol.md): replay the lines after `since` of stream `stream_id`.
    std::optional<uint64_t> since;
    std::string stream_id;
};
struct StatsRequest {};
struct SnapshotRequest {};
struct RequestError {
    std::string message;
};

using Request = std::variant<SubscribeRequest, StatsRequest, SnapshotRequest, RequestError>;

Request parse_request(std::string_view line);

} // namespace execmond
