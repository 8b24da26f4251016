// Converts CLOCK_BOOTTIME nanoseconds (what the probes stamp) to wall-clock
// RFC 3339 UTC text with nanoseconds. The wall-clock time of boot is
// CLOCK_REALTIME - CLOCK_BOOTTIME; it changes only when the wall clock is
// stepped (an NTP client's first sync, `date -s`, a leap second), and then
// resample() follows it (clock_steps.hpp says when to).
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <string>

namespace execmond {

class BootClock {
public:
    // Reads a clock in ns (injectable for tests; the real one is clock_gettime).
    using Reader = std::function<int64_t(clockid_t)>;
    // A change of the boot time smaller than this is sampling noise, not a step.
    static constexpr int64_t step_threshold_ns = 1'000'000;

    BootClock(); // samples the real clocks now
    explicit BootClock(Reader read);
    // A fixed boot time that never moves (tests, benches).
    explicit BootClock(int64_t boot_realtime_ns) : boot_realtime_ns_(boot_realtime_ns) {}

    // Wall-clock time of boot, in ns since the epoch.
    int64_t boot_realtime_ns() const { return boot_realtime_ns_; }
    // Samples again; true if the wall clock was stepped since the last
    // sample (the boot time moved by step_threshold_ns or more), and then
    // previous_boot_realtime_ns() is where it was.
    bool resample();
    int64_t previous_boot_realtime_ns() const { return previous_boot_realtime_ns_; }
    // Wall-clock ns of a boottime stamp; saturates on nonsense far-future stamps.
    int64_t realtime_ns(uint64_t boottime_ns) const;
    std::string rfc3339(uint64_t boottime_ns) const;
    // The current boottime by this clock's reader.
    uint64_t boottime_now_ns() const;

    static std::string format_rfc3339(int64_t realtime_ns);
    static uint64_t now_boottime_ns();
    // CLOCK_BOOTTIME - CLOCK_MONOTONIC now: the time spent suspended since boot.
    // The probes stamp records with CLOCK_MONOTONIC (cheaper to read there).
    static uint64_t monotonic_to_boottime_ns();

private:
    int64_t sample() const;

    Reader read_;
    int64_t boot_realtime_ns_ = 0;
    int64_t previous_boot_realtime_ns_ = 0;
};

} // namespace execmond
