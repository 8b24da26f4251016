#include "times.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace execmon {

namespace {

bool digits(std::string_view s, size_t at, size_t n, int& out) {
    if (at + n > s.size())
        return false;
    out = 0;
    for (size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

std::tm broken_down(int64_t seconds, bool utc) {
    std::tm tm{};
    time_t t = static_cast<time_t>(seconds);
    if (utc)
        gmtime_r(&t, &tm);
    else
        localtime_r(&t, &tm);
    return tm;
}

} // namespace

std::optional<WallTime> parse_rfc3339(std::string_view s) {
    std::tm tm{};
    int year, month, day, hour, minute, second;
    if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) || s[7] != '-' ||
        !digits(s, 8, 2, day) || s[10] != 'T' || !digits(s, 11, 2, hour) || s[13] != ':' ||
        !digits(s, 14, 2, minute) || s[16] != ':' || !digits(s, 17, 2, second))
        return std::nullopt;
    size_t i = 19;
    uint32_t nanos = 0;
    if (s[i] == '.') {
        ++i;
        size_t n = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            if (n < 9)
                nanos = nanos * 10 + static_cast<uint32_t>(s[i] - '0');
            ++n, ++i;
        }
        if (n == 0)
            return std::nullopt;
        for (; n < 9; ++n)
            nanos *= 10;
    }
    if (i + 1 != s.size() || s[i] != 'Z')
        return std::nullopt;
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    return WallTime{static_cast<int64_t>(timegm(&tm)), nanos};
}

std::string clock_time(const WallTime& t, bool utc) {
    std::tm tm = broken_down(t.seconds, utc);
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min, tm.tm_sec,
                  t.nanos / 1000000);
    return buf;
}

std::string start_time(const WallTime& t, const WallTime& now, bool utc) {
    std::tm tm = broken_down(t.seconds, utc);
    char buf[32];
    if (now.seconds - t.seconds < 24 * 3600)
        std::strftime(buf, sizeof(buf), "%H:%M", &tm);
    else
        std::strftime(buf, sizeof(buf), "%b%d", &tm);
    return buf;
}

std::string human_duration(uint64_t ns) {
    char buf[32];
    constexpr uint64_t us = 1000, ms = 1000 * us, s = 1000 * ms, min = 60 * s, h = 60 * min, d = 24 * h;
    if (ns < ms)
        std::snprintf(buf, sizeof(buf), "%llu us", static_cast<unsigned long long>(ns / us));
    else if (ns < s)
        std::snprintf(buf, sizeof(buf), "%llu ms", static_cast<unsigned long long>(ns / ms));
    else if (ns < 10 * s)
        std::snprintf(buf, sizeof(buf), "%.2f s", static_cast<double>(ns) / s);
    else if (ns < min)
        std::snprintf(buf, sizeof(buf), "%llu s", static_cast<unsigned long long>(ns / s));
    else if (ns < h)
        std::snprintf(buf, sizeof(buf), "%llum%02llus", static_cast<unsigned long long>(ns / min),
                      static_cast<unsigned long long>(ns % min / s));
    else if (ns < d)
        std::snprintf(buf, sizeof(buf), "%lluh%02llum", static_cast<unsigned long long>(ns / h),
                      static_cast<unsigned long long>(ns % h / min));
    else
        std::snprintf(buf, sizeof(buf), "%llud%02lluh", static_cast<unsigned long long>(ns / d),
                      static_cast<unsigned long long>(ns % d / h));
    return buf;
}

std::optional<uint64_t> lifetime_from_key(std::string_view key, uint64_t ktime_ns, long ticks_per_second) {
    auto colon = key.find(':');
    if (colon == std::string_view::npos || ticks_per_second <= 0)
        return std::nullopt;
    uint64_t ticks = 0;
    auto tail = key.substr(colon + 1);
    auto [end, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), ticks);
    if (ec != std::errc() || end != tail.data() + tail.size())
        return std::nullopt;
    uint64_t start_ns = ticks * (1'000'000'000ULL / static_cast<uint64_t>(ticks_per_second));
    if (start_ns > ktime_ns)
        return std::nullopt;
    return ktime_ns - start_ns;
}

} // namespace execmon
