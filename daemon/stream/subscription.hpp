// What a client asked to see, and the parser for the lines clients send
// (docs/protocol.md): {"type":"subscribe", ...}, {"type":"stats"} and {"type":"snapshot"}.
#pragma once

#include "container_ids.hpp"
#include "event.hpp"
#include "process_table.hpp"
#include "tty_name.hpp"

#include <optional>

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
    // Live: what the cgroup path names (CgroupPaths' cache). Null on a kept
    // line: parsed from cgroup_path when a filter asks.
    const Container* container = nullptr;
    // An exec's own auid and tty (identity_set); else the auid and tty
    // filters ask the table what it knows of the process.
    bool identity_set = false;
    bool audit_known = false, tty_known = false;
    uint32_t auid = 0, tty_dev = 0;
    // The parent chain as the table knew it when the line was made (kept
    // lines); unset: ask the table now. `chain_cut`: the chain stops short.
    std::optional<std::span<const Pid>> chain;
    bool chain_cut = false;

    // A live event's facts (no chain: the table is asked).
    static MatchFacts of(const Event& e, std::string_view filename, std::string_view cgroup_path,
                         const Container* container);
};

struct Subscription {
    // Bounds on what one request may ask the loop to match per event.
    static constexpr size_t max_glob_bytes = 1024; // a filename glob; comm is 15 bytes
    static constexpr size_t max_glob_stars = 16;
    static constexpr size_t max_globs = 64; // per member

    bool fork = true;
    bool exec = true;
    bool exit = true;
    bool exec_failed = true;                 // only produced with --exec-failures
    std::vector<uint32_t> uids;              // empty: any
    std::vector<std::string> comm_globs;     // fnmatch(3) patterns; empty: any
    std::vector<std::string> filename_globs; // exec: the path run; else the image the table knows
    std::string cgroup_prefix;               // cgroup2 path, it and below (whole components); empty: any
    std::vector<Pid> descendants_of;         // the pid itself counts; empty: any
    std::vector<uint32_t> auids;             // login uids; empty: any
    // tty: has one (true) or none (false); or one of these names ("pts/3").
    std::optional<bool> has_tty;
    std::vector<std::string> tty_names;
    // From the cgroup path (container_ids.hpp), exact; empty: any.
    std::vector<std::string> container_ids;      // 64 lowercase hex
    std::vector<std::string> container_names;    // nspawn / lxc names
    std::vector<std::string> container_runtimes; // "docker", ...; "none": not in a container
    unsigned stats_interval_s = 0;               // 0: stats only on request

    bool wants(EventKind k) const;
    bool matches(const Event& e, std::string_view filename, std::string_view cgroup_path,
                 const Container* container, const ProcessTable& table) const;
    bool matches(const MatchFacts& f, const ProcessTable& table) const;
    nlohmann::ordered_json to_json() const;

private:
    bool matches_identity(const MatchFacts& e, const ProcessTable& table) const;
    mutable TtyNames ttys_;
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
