// The daemon's counters as Prometheus text exposition (format 0.0.4), for
// GET /metrics. The same facts as the stats line, so a scrape and a stats
// request taken at one moment agree number for number.
#pragma once

#include "protocol.hpp"

#include <cstdint>
#include <string>

namespace execmond {

struct MetricsFacts {
    StatsFacts stats;
    std::string version;
    std::string probe_mode;
    std::string parent_path;
    double start_time_s = 0; // wall clock, seconds since the epoch
};

std::string prometheus_text(const MetricsFacts& facts);

} // namespace execmond
