// What the daemon learns before the first record: the processes already
// running (the table, and the fork map in fork-map mode) and the --follow
// roots, which go into the kernel's follow set before the probes attach so no
// child they fork can slip past.
#pragma once

#include "probes.hpp"
#include "process_table.hpp"

#include <sys/types.h>
#include <vector>

namespace execmond {

// Between Probes::load() and attach(): each root and its running descendants.
// Throws ProbeError: exit_usage for a root that does not exist, exit_failure
// when the kernel's follow set refuses a pid.
void follow_roots(Probes& probes, const std::vector<pid_t>& roots);

// After attach(): seeds the table from /proc, the fork map from the table in
// fork-map mode, and adds the roots' descendants it finds to the follow set
// (throws ProbeError when the set refuses one).
void seed(Probes& probes, ProcessTable& table, const std::vector<pid_t>& roots);

} // namespace execmond
