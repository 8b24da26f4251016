// Shutdown's last drain: records in the ring go out while the budget lasts,
// and records a program commits after the drain (it was running on another
// CPU while the probes detached) are counted, never silently dropped.
#include "final_drain.hpp"
#include "record_builder.hpp"

#include <catch2/catch_test_macros.hpp>

using namespace execmond;
using namespace std::string_view_literals;
using namespace std::chrono_literals;

namespace {

struct Collector : Subscriber {
    Subscription filter;
    size_t lines = 0;
    const Subscription& subscription() const override { return filter; }
    void send(const Line&) override { ++lines; }
};

struct Rig {
    BootClock clock{1767225600ll * 1'000'000'000ll};
    ProcessTable table{ProcReader("/nonexistent")};
    CgroupPaths cgroups{"/nonexistent"};
    Encoder encoder{clock, {}};
    Fanout fanout;
    Pipeline pipeline{PipelineConfig{}, table, cgroups, encoder, fanout};
    Collector client;
    Rig() { fanout.add(client); }
    void feed(const std::vector<char>& r) { pipeline.on_record(r.data(), r.size()); }
};

} // namespace

TEST_CASE("final drain: what the ring holds is sent; what is committed after the drain is counted",
          "[pipeline][shutdown]") {
    Rig rig;
    bool detached = false;
    int drains = 0;
    FinalDrainSteps steps{.detach = [&] { detached = true; },
                          .drain_all =
                              [&] {
                                  REQUIRE(detached); // never drain before the probes stop
                                  if (drains++ == 0) {
                                      // In the ring at detach: three records, in budget.
                                      rig.feed(test::fork_record(42, 1, "sh"));
                                      rig.feed(test::exec_record(42, 1, "echo", "/bin/echo", "echo\0"sv));
                                      rig.feed(test::exit_record(42, 1, "echo", 0));
                                  } else {
                                      // Committed by a program still running while the first
                                      // drain ran: an exec and a fork.
                                      rig.feed(test::exec_record(43, 1, "true", "/bin/true", "true\0"sv));
                                      rig.feed(test::fork_record(44, 1, "sh"));
                                  }
                              }};
    LostCounts lost = final_drain(rig.pipeline, steps, 1s);
    CHECK(rig.client.lines == 3);
    CHECK(lost.exec == 1);
    CHECK(lost.fork == 1);
    CHECK(lost.exit == 0);
}

TEST_CASE("final drain: with no budget left every record is counted, none sent", "[pipeline][shutdown]") {
    Rig rig;
    FinalDrainSteps steps{.detach = [] {},
                          .drain_all =
                              [&] {
                                  rig.feed(test::exec_record(42, 1, "echo", "/bin/echo", "echo\0"sv));
                                  rig.feed(test::exit_record(42, 1, "echo", 0));
                              }};
    LostCounts lost = final_drain(rig.pipeline, steps, 0s);
    CHECK(rig.client.lines == 0);
    CHECK(lost.exec == 2); // one exec per drain, both past the deadline
    CHECK(lost.exit == 2);
}
