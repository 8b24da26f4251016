// The request lines execmon sends (docs/protocol.md, "Requests"): the
// filters as one subscribe request, and the stats and snapshot requests.
#pragma once

#include "options.hpp"

#include <string>
#include <vector>

namespace execmon {

// The event types of the live view when -e is not given: exec, and exit with -x.
std::vector<std::string> view_events(const Options& o);
// One line, without '\n'. Members are sent only when a filter sets them, so
// that a daemon without auid or container_id members still accepts the rest.
std::string subscribe_request(const Filters& f, const std::vector<std::string>& events,
                              unsigned stats_interval = 0);
std::string stats_request();
std::string snapshot_request();

} // namespace execmon
