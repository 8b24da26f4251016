// What a client asked to see, and the parser for the lines clients send
// (docs/protocol.md): {"type":"subscribe", ...}, {"type":"stats"} and {"type":"snapshot"}.
#pragma once

#include "event.hpp"
#include "process_table.hpp"
#include "tty_name.hpp"

#include <optional>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace execmond {

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
    std::vector<uint32_t> auids;             // login uids; empty: any
    // tty: has one (true) or none (false); or one of these names ("pts/3").
    std::optional<bool> has_tty;
    std::vector<std::string> tty_names;
    unsigned stats_interval_s = 0; // 0: stats only on request

    bool wants(EventKind k) const;
    bool matches(const Event& e, std::string_view filename, std::string_view cgroup_path,
                 const ProcessTable& table) const;
    nlohmann::ordered_json to_json() const;

private:
    bool matches_identity(const Event& e, const ProcessTable& table) const;
    mutable TtyNames ttys_;
};

struct SubscribeRequest {
    Subscription subscription;
};
struct StatsRequest {};
struct SnapshotRequest {};
struct RequestError {
    std::string message;
};

using Request = std::variant<SubscribeRequest, StatsRequest, SnapshotRequest, RequestError>;

Request parse_request(std::string_view line);

} // namespace execmond
