// Times as a person reads them: the stream's RFC 3339 UTC times shown as
// local (or UTC) clock time, and durations in the largest sensible unit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace execmon {

struct WallTime {
    int64_t seconds = 0; // since the epoch
    uint32_t nanos = 0;
};

// "2026-01-01T00:00:05.123456789Z" (fraction optional).
std::optional<WallTime> parse_rfc3339(std::string_view text);
// "HH:MM:SS.mmm", local time unless utc.
std::string clock_time(const WallTime& t, bool utc);
// "HH:MM" when t is within the last 24 hours of now, else "Mon DD" (as ps does).
std::string start_time(const WallTime& t, const WallTime& now, bool utc);
// "850 us", "12 ms", "1.25 s", "3m05s", "2h07m", "3d04h".
std::string human_duration(uint64_t ns);
// Nanoseconds of a process's life from its key's start ticks ("pid:ticks")
// to `ktime_ns`, at clock-tick precision; nullopt when the key is unusable.
std::optional<uint64_t> lifetime_from_key(std::string_view key, uint64_t ktime_ns, long ticks_per_second);

} // namespace execmon
