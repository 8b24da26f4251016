// The three things execmon does, each from a connection to its output.
#pragma once

#include "options.hpp"

namespace execmon {

int run_watch(const Options& options); // the live view, compact or --tree
int run_ps(const Options& options);    // execmon ps
int run_stats(const Options& options); // execmon stats

} // namespace execmon
