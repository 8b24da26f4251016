#include "final_drain.hpp"

namespace execmond {

LostCounts final_drain(Pipeline& pipeline, const FinalDrainSteps& steps,
                       std::chrono::steady_clock::duration budget) {
    steps.detach();
    pipeline.discard_from(std::chrono::steady_clock::now() + budget);
    steps.drain_all();
    // Detaching does not wait for a program already running on another CPU:
    // it may commit after the drain above. Count those too, in a drain that
    // is all past the deadline.
    pipeline.discard_from(std::chrono::steady_clock::now());
    steps.drain_all();
    return pipeline.counters().discarded;
}

} // namespace execmond
