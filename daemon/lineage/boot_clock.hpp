// Converts CLOCK_BOOTTIME nanoseconds (what the probes stamp) to wall-clock
// RFC 3339 UTC text with nanoseconds.
#pragma once

#include <cstdint>
#include <string>

namespace execmond {

class BootClock {
public:
    BootClock(); // samples the realtime-boottime offset now
    explicit BootClock(int64_t boot_realtime_ns) : boot_realtime_ns_(boot_realtime_ns) {}

    // Wall-clock time of boot, in ns since the epoch.
    int64_t boot_realtime_ns() const { return boot_realtime_ns_; }
    // Wall-clock ns of a boottime stamp; saturates on nonsense far-future stamps.
    int64_t realtime_ns(uint64_t boottime_ns) const;
    std::string rfc3339(uint64_t boottime_ns) const;

    static std::string format_rfc3339(int64_t realtime_ns);
    static uint64_t now_boottime_ns();
    // CLOCK_BOOTTIME - CLOCK_MONOTONIC now: the time spent suspended since boot.
    // The probes stamp records with CLOCK_MONOTONIC (cheaper to read there).
    static uint64_t monotonic_to_boottime_ns();

private:
    int64_t boot_realtime_ns_;
};

} // namespace execmond
