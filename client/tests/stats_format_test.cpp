#include "stats_format.hpp"
#include "stats_state.hpp"
#include "times.hpp"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <filesystem>

using namespace execmon;
using json = nlohmann::json;
using Catch::Matchers::ContainsSubstring;

namespace {

json hello() {
    return json::parse(
        R"({"type":"hello","protocol":1,"version":"0.1.0","hostname":"build-07","boot_id":"5b6c0a39-4e47-4d5e-9d1c-1f0f3b6b2a11","boot_time":"2026-01-01T00:00:00.000000000Z","probe_mode":"tp_btf","parent_path":"btf","stream_id":"5b6c0a39-4e47-4d5e-9d1c-1f0f3b6b2a11:4211000000","last_seq":0})");
}

json stats(const std::string& time, uint64_t uptime, uint64_t exec, uint64_t client_lost) {
    json j = json::parse(
        R"({"type":"stats","uptime_s":600,"events":{"fork":51200,"exec":50310,"exit":51180},"kernel_lost":{"fork":0,"exec":0,"exit":0,"total":0},"client_lost":0,"clients":2,"per_client":[{"id":1,"pid":3100,"uid":0,"sent":152100,"lost":0,"queued_bytes":0},{"id":2,"pid":3101,"uid":1000,"sent":5875,"lost":54722,"queued_bytes":4193212}],"process_table":312,"ring":{"size":8388608,"queued":0},"wakeups":1503,"timer_drains":5800,"decode_errors":0,"duplicate_exits":0,"last_seq":318400,"replay":{"limit_bytes":67108864,"bytes":67100000,"lines":98000,"first_seq":220401}})");
    j["time"] = time;
    j["uptime_s"] = uptime;
    j["events"]["exec"] = exec;
    j["client_lost"] = client_lost;
    return j;
}

std::string text(const std::vector<StyledLine>& lines, bool colour = false) {
    std::string out;
    for (const auto& l : lines)
        out += render(l, 0, colour) + "\n";
    return out;
}

UserNames users() {
    return UserNames([](uint32_t uid) -> std::optional<std::string> {
        return uid == 0 ? std::optional<std::string>("root") : std::nullopt;
    });
}

} // namespace

TEST_CASE("the first call gives rates since the daemon started", "[stats]") {
    auto u = users();
    auto s = stats("2026-01-01T00:10:00.000000000Z", 600, 60000, 0);
    std::string out = text(render_stats(s, hello(), std::nullopt, 3100, u));
    CHECK_THAT(out, ContainsSubstring("execmond 0.1.0 on build-07, up 10m00s"));
    CHECK_THAT(out, ContainsSubstring("  exec                   60,000        100.0\n")); // 60000 / 600 s
    CHECK_THAT(out, ContainsSubstring("rates since execmond started"));
    CHECK_THAT(out, ContainsSubstring("ring 0 B of 8.0 MiB queued"));
    CHECK_THAT(out, ContainsSubstring("(this execmon)"));
}

TEST_CASE("a later call gives rates since the last one", "[stats]") {
    auto u = users();
    auto a = stats("2026-01-01T00:10:00.000000000Z", 600, 60000, 0);
    auto b = stats("2026-01-01T00:10:20.000000000Z", 620, 61000, 0);
    auto prev = sample_of(a, hello());
    REQUIRE(prev);
    std::string out = text(render_stats(b, hello(), prev, 1, u));
    CHECK_THAT(out, ContainsSubstring("  exec                   61,000         50.0\n")); // 1000 in 20 s
    CHECK_THAT(out, ContainsSubstring("rates over the 20 s since the last execmon stats"));
}

TEST_CASE("a restarted daemon's counters are not compared with the old one's", "[stats]") {
    auto a = sample_of(stats("2026-01-01T00:10:00.000000000Z", 600, 60000, 0), hello());
    auto restarted = sample_of(stats("2026-01-01T00:10:20.000000000Z", 5, 100, 0), hello());
    auto later = sample_of(stats("2026-01-01T00:10:20.000000000Z", 620, 61000, 0), hello());
    REQUIRE(a);
    CHECK_FALSE(a->precedes(*restarted));
    CHECK(a->precedes(*later));
    CHECK_FALSE(later->precedes(*a));
}

TEST_CASE("losses are highlighted, with and without colour", "[stats]") {
    auto u = users();
    auto a = stats("2026-01-01T00:10:00.000000000Z", 600, 60000, 100);
    auto b = stats("2026-01-01T00:10:10.000000000Z", 610, 60000, 54722);
    std::string plain = text(render_stats(b, hello(), sample_of(a, hello()), 1, u));
    CHECK_THAT(plain,
               ContainsSubstring("lost by clients        54,722         5462  ! lost since the last call"));
    CHECK_THAT(plain, ContainsSubstring("lost in the kernel          0            0\n")); // no loss, no mark
    std::string colour = text(render_stats(b, hello(), sample_of(a, hello()), 1, u), true);
    CHECK_THAT(colour, ContainsSubstring("\x1b[1;31m  lost by clients"));
    CHECK_THAT(colour, ContainsSubstring("\x1b[1;31m     54,722"));
}

TEST_CASE("the last call's sample survives in the state file, per socket", "[stats]") {
    std::string dir = std::filesystem::temp_directory_path() / ("execmon-state-" + std::to_string(getpid()));
    std::string file = dir + "/execmon/stats.json";
    auto s = sample_of(stats("2026-01-01T00:10:00.000000000Z", 600, 60000, 0), hello());
    REQUIRE(s);
    CHECK_FALSE(load_sample(file, "/a.sock"));
    CHECK(save_sample(file, "/a.sock", *s));
    auto back = load_sample(file, "/a.sock");
    REQUIRE(back);
    CHECK(back->exec == 60000);
    CHECK(back->time_ns == s->time_ns);
    CHECK_FALSE(load_sample(file, "/b.sock"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("numbers and sizes read easily", "[stats]") {
    CHECK(thousands(0) == "0");
    CHECK(thousands(999) == "999");
    CHECK(thousands(1000) == "1,000");
    CHECK(thousands(1234567) == "1,234,567");
    CHECK(human_bytes(0) == "0 B");
    CHECK(human_bytes(4193212) == "4.0 MiB");
}

TEST_CASE("durations and RFC 3339 times", "[stats]") {
    CHECK(human_duration(850'000) == "850 us");
    CHECK(human_duration(12'000'000) == "12 ms");
    CHECK(human_duration(1'250'000'000) == "1.25 s");
    CHECK(human_duration(185'000'000'000) == "3m05s");
    CHECK(human_duration(7'620'000'000'000) == "2h07m");
    auto t = parse_rfc3339("2026-01-01T00:00:05.123456789Z");
    REQUIRE(t);
    CHECK(t->seconds == 1767225605);
    CHECK(t->nanos == 123456789);
    CHECK_FALSE(parse_rfc3339("2026-01-01 00:00:05Z"));
    CHECK(lifetime_from_key("42:500", 6'000'000'000, 100) == 1'000'000'000);
    CHECK_FALSE(lifetime_from_key("42", 6'000'000'000, 100));
}
