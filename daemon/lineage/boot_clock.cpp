#include "boot_clock.hpp"

#include <cstdio>
#include <ctime>
#include <limits>

namespace execmond {
namespace {

int64_t read_ns(clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

} // namespace

BootClock::BootClock() : BootClock(Reader(read_ns)) {}

BootClock::BootClock(Reader read) : read_(std::move(read)) {
    boot_realtime_ns_ = previous_boot_realtime_ns_ = sample();
}

int64_t BootClock::sample() const {
    // Bracket the realtime read with two boottime reads to halve the error.
    int64_t b0 = read_(CLOCK_BOOTTIME);
    int64_t r = read_(CLOCK_REALTIME);
    int64_t b1 = read_(CLOCK_BOOTTIME);
    return r - (b0 + (b1 - b0) / 2);
}

bool BootClock::resample() {
    if (!read_)
        return false;
    int64_t now = sample();
    int64_t moved = now - boot_realtime_ns_;
    if (moved < step_threshold_ns && moved > -step_threshold_ns)
        return false;
    previous_boot_realtime_ns_ = boot_realtime_ns_;
    boot_realtime_ns_ = now;
    return true;
}

uint64_t BootClock::boottime_now_ns() const {
    return read_ ? static_cast<uint64_t>(read_(CLOCK_BOOTTIME)) : now_boottime_ns();
}

uint64_t BootClock::monotonic_to_boottime_ns() {
    int64_t m0 = read_ns(CLOCK_MONOTONIC);
    int64_t b = read_ns(CLOCK_BOOTTIME);
    int64_t m1 = read_ns(CLOCK_MONOTONIC);
    int64_t offset = b - (m0 + (m1 - m0) / 2);
    return offset > 0 ? static_cast<uint64_t>(offset) : 0;
}

uint64_t BootClock::now_boottime_ns() {
    return static_cast<uint64_t>(read_ns(CLOCK_BOOTTIME));
}

int64_t BootClock::realtime_ns(uint64_t boottime_ns) const {
    // A kernel time this far out is nonsense; saturate rather than overflow.
    constexpr uint64_t max = std::numeric_limits<int64_t>::max();
    int64_t realtime = 0;
    if (boottime_ns > max ||
        __builtin_add_overflow(boot_realtime_ns_, static_cast<int64_t>(boottime_ns), &realtime))
        realtime = std::numeric_limits<int64_t>::max();
    return realtime;
}

std::string BootClock::rfc3339(uint64_t boottime_ns) const {
    return format_rfc3339(realtime_ns(boottime_ns));
}

std::string BootClock::format_rfc3339(int64_t realtime_ns) {
    time_t secs = static_cast<time_t>(realtime_ns / 1'000'000'000);
    long nsec = static_cast<long>(realtime_ns % 1'000'000'000);
    if (nsec < 0) {
        nsec += 1'000'000'000;
        --secs;
    }
    tm utc{};
    gmtime_r(&secs, &utc);
    char buf[48];
    int n = std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", utc.tm_year + 1900,
                          utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, nsec);
    return std::string(buf, static_cast<size_t>(n));
}

} // namespace execmond
