// The boot clock following wall-clock steps, with an injected clock, and the
// encoder's times and clock line after one.
#include "boot_clock.hpp"
#include "encoder.hpp"
#include "protocol.hpp"
#include "record_builder.hpp"
#include "record_decoder.hpp"

#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

using namespace execmond;
using namespace std::string_view_literals;

namespace {

// Clocks the test sets: 2026-01-01T00:00:00Z at boot, 5 s after boot.
struct FakeClocks {
    int64_t boot_realtime = 1767225600ll * 1'000'000'000ll;
    int64_t boottime = 5'000'000'000;
    BootClock::Reader reader() {
        return [this](clockid_t id) {
            return id == CLOCK_REALTIME ? boot_realtime + boottime : boottime;
        };
    }
};

std::string time_of(const Encoder& enc, KtimeNs ktime) {
    auto bytes = test::exit_record(5, 1, "sh", 0);
    auto e = std::get<Event>(decode_record(bytes.data(), bytes.size()));
    e.ktime_ns = ktime;
    return nlohmann::json::parse(enc.encode(e, {}))["time"];
}

} // namespace

TEST_CASE("the boot clock follows a step of the wall clock, not sampling noise", "[clock]") {
    FakeClocks clocks;
    BootClock clock(clocks.reader());
    CHECK(clock.boot_realtime_ns() == clocks.boot_realtime);
    CHECK_FALSE(clock.resample());

    clocks.boottime += 2'000'000'000; // time passes: no step
    CHECK_FALSE(clock.resample());
    clocks.boot_realtime += 999'999; // under the threshold: noise
    CHECK_FALSE(clock.resample());
    CHECK(clock.boot_realtime_ns() == clocks.boot_realtime - 999'999);

    const int64_t before = clock.boot_realtime_ns();
    clocks.boot_realtime += 3600ll * 1'000'000'000; // date -s an hour ahead
    CHECK(clock.resample());
    CHECK(clock.boot_realtime_ns() == clocks.boot_realtime);
    CHECK(clock.previous_boot_realtime_ns() == before);
    CHECK_FALSE(clock.resample()); // reported once

    clocks.boot_realtime -= 86400ll * 365 * 1'000'000'000; // and a year back
    CHECK(clock.resample());
    CHECK(clock.realtime_ns(0) == clocks.boot_realtime);
}

TEST_CASE("after a step the encoder's times and a clock line follow the new boot time", "[clock]") {
    FakeClocks clocks;
    BootClock clock(clocks.reader());
    Encoder enc(clock, {});
    // Same second, cached text: then the clock jumps by exactly one hour.
    CHECK(time_of(enc, 5'000'000'000) == "2026-01-01T00:00:05.000000000Z");
    CHECK(time_of(enc, 5'500'000'000) == "2026-01-01T00:00:05.500000000Z");
    clocks.boot_realtime += 3600ll * 1'000'000'000;
    REQUIRE(clock.resample());
    enc.clock_changed();
    CHECK(time_of(enc, 5'500'000'000) == "2026-01-01T01:00:05.500000000Z");
    CHECK(time_of(enc, 5'000'000'000) == "2026-01-01T01:00:05.000000000Z");

    auto line = clock_line(clock, 77);
    CHECK(line.back() == '\n');
    auto j = nlohmann::json::parse(line);
    CHECK(j["type"] == "clock");
    CHECK(j["seq"] == 77); // a line of the numbered stream
    CHECK(j["boot_time"] == "2026-01-01T01:00:00.000000000Z");
    CHECK(j["previous_boot_time"] == "2026-01-01T00:00:00.000000000Z");
    CHECK(j["time"] == "2026-01-01T01:00:05.000000000Z"); // boottime 5 s, by the new offset
    CHECK(line.rfind(R"({"type":"clock",)", 0) == 0);
}

TEST_CASE("a fixed boot clock never moves", "[clock]") {
    BootClock fixed(42);
    CHECK_FALSE(fixed.resample());
    CHECK(fixed.boot_realtime_ns() == 42);
}
