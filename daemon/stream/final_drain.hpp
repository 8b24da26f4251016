// The last records at shutdown: what the ring holds once the probes are
// detached goes out while a time budget lasts and is counted after it, and so
// is what a program still running on another CPU commits after that drain.
#pragma once

#include "pipeline.hpp"

#include <chrono>
#include <functional>

namespace execmond {

struct FinalDrainSteps {
    std::function<void()> detach;    // no program runs from new events after it
    std::function<void()> drain_all; // hands every committed record to the pipeline
};

// Returns the records counted instead of sent (the `shutdown` lost line's counts).
LostCounts final_drain(Pipeline& pipeline, const FinalDrainSteps& steps,
                       std::chrono::steady_clock::duration budget);

} // namespace execmond
