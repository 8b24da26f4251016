// Where execmon stats keeps the last call's counters, so that the next call
// can give rates "since the last call": one small JSON file per user,
// one entry per socket.
#pragma once

#include "stats_format.hpp"

#include <optional>
#include <string>

namespace execmon {

// $XDG_STATE_HOME/execmon/stats.json, else $HOME/.local/state/execmon/stats.json; "" if neither is set.
std::string stats_state_path();
std::optional<StatsSample> load_sample(const std::string& file, const std::string& socket);
// Best effort (a read-only home only loses the rates): returns false if it could not write.
bool save_sample(const std::string& file, const std::string& socket, const StatsSample& sample);

} // namespace execmon
