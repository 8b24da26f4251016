// The answer to {"type":"snapshot"}: every live process of the table as one
// `process` line, then `snapshot_end`, queued as one unit at one instant
// between two records (docs/protocol.md, "Snapshot").
#pragma once

#include "boot_clock.hpp"
#include "cgroup_paths.hpp"
#include "encoder.hpp"
#include "fanout.hpp"
#include "process_table.hpp"

namespace execmond {

void send_snapshot(Subscriber& to, const ProcessTable& table, CgroupPaths& cgroups, const Encoder& encoder,
                   const BootClock& clock);

} // namespace execmond
