// execmon ps: the snapshot's process lines drawn as a forest, as pstree
// does (├─ └─ │), one process per line with its pid, key, start time and
// user. Parents are found by parent_key, else by ppid; children in the order
// they started.
#pragma once

#include "styled_line.hpp"
#include "user_names.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

namespace execmon {

struct ForestOptions {
    std::optional<uint32_t> root_pid; // only this process's subtree
    bool utc = false;
    int64_t now_seconds = 0; // for START: a time today, or a date
};

// The heading first. Throws std::invalid_argument when root_pid is not in the snapshot.
std::vector<StyledLine> render_forest(const std::vector<nlohmann::json>& processes,
                                      const ForestOptions& options, UserNames& users);

} // namespace execmon
