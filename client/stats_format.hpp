// execmon stats: the daemon's stats line for a person. Counters with rates
// per second since the previous call (or since the daemon started), losses
// highlighted, one row per connected client.
#pragma once

#include "styled_line.hpp"
#include "user_names.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace execmon {

// What a later call needs to compute rates.
struct StatsSample {
    std::string boot_id;
    int64_t daemon_start_s = 0; // time - uptime_s: tells one daemon run from the next
    int64_t time_ns = 0;        // of the stats line
    uint64_t fork = 0, exec = 0, exit = 0, kernel_lost = 0, client_lost = 0;

    nlohmann::json to_json() const;
    static std::optional<StatsSample> from_json(const nlohmann::json& j);
    // Is `later` from the same daemon run, after this one?
    bool precedes(const StatsSample& later) const;
};

std::optional<StatsSample> sample_of(const nlohmann::json& stats, const nlohmann::json& hello);

// previous: the last call's sample (ignored unless it precedes this one).
std::vector<StyledLine> render_stats(const nlohmann::json& stats, const nlohmann::json& hello,
                                     const std::optional<StatsSample>& previous, pid_t self,
                                     UserNames& users);

std::string thousands(uint64_t n);   // 54722 -> "54,722"
std::string human_bytes(uint64_t n); // "4.0 MiB"

} // namespace execmon
