// The protocol's own lines (everything but fork/exec/exit): their members, and
// every kind against proto/stream.schema.json.
#include "protocol.hpp"
#include "schema_check.hpp"

#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

using namespace execmond;
using json = nlohmann::json;

namespace {

const BootClock clock_2026(1767225600ll * 1'000'000'000ll);

StatsFacts some_stats() {
    StatsFacts f;
    f.now_boottime_ns = 5'000'000'000;
    f.uptime_s = 4;
    f.fork = 10;
    f.exec = 9;
    f.exit = 8;
    f.kernel_lost = {1, 2, 3};
    f.client_lost = 5;
    f.clients.push_back({1, 123, 1000, 27, 5, 4096});
    f.process_table = 71;
    f.ring_size = 8u << 20;
    f.ring_queued = 64;
    return f;
}

GapFacts some_gap() {
    GapFacts g;
    g.now_boottime_ns = 60'000'000'000;
    g.now_realtime_ns = 1767225660ll * 1'000'000'000ll;
    g.state = "ok";
    g.previous = PreviousRun{"0f0e0d0c-0b0a-0908-0706-050403020100:99",
                             "0f0e0d0c-0b0a-0908-0706-050403020100",
                             5120,
                             1767225650ll * 1'000'000'000ll,
                             50'000'000'000,
                             false};
    GapProcess cron;
    cron.pid = 4300;
    cron.ppid = 1;
    cron.start_ticks = 5500;
    cron.start_boottime_ns = 55'000'000'000;
    cron.parent_start_ticks = 2;
    cron.comm = "cron";
    cron.filename = "/usr/sbin/cron";
    cron.args = std::string("/usr/sbin/cron\0-f\0--token=s3cret\0", 33);
    GapProcess odd;
    odd.pid = 4301;
    odd.ppid = 4300;
    odd.start_ticks = 5510;
    odd.comm = "\xff";
    odd.args = "a\xff"
               "b";
    odd.args_truncated = true;
    g.started = {cron, odd};
    g.exited = {"4242:5000"};
    return g;
}

bool redact_secret(std::string_view arg) {
    return arg.starts_with("--token=");
}

} // namespace

TEST_CASE("lost lines of the stream carry their seq; a client's own carry the range they stand for",
          "[protocol]") {
    auto ring = json::parse(records_lost_line(clock_2026, LostCounts{1, 0, 0}, "kernel_ring_full", 7));
    CHECK(ring["seq"] == 7);
    CHECK_FALSE(ring.contains("first_seq"));
    auto slow = json::parse(client_slow_line(clock_2026, 5, 10, 20));
    CHECK_FALSE(slow.contains("seq"));
    CHECK(slow["first_seq"] == 10);
    CHECK(slow["last_seq"] == 20);
    CHECK_FALSE(
        json::parse(client_slow_line(clock_2026, 5)).contains("first_seq")); // only answers were dropped
    auto expired = json::parse(replay_expired_line(clock_2026, 11, 60));
    CHECK(expired["reason"] == "replay_expired");
    CHECK(expired["count"] == 50);
    CHECK(expired["first_seq"] == 11);
    CHECK(expired["last_seq"] == 60);
}

TEST_CASE("the gap line: previous run, down time, started processes with argv, exited keys", "[protocol]") {
    auto j = json::parse(gap_line(clock_2026, some_gap(), 1, redact_secret));
    CHECK(j["seq"] == 1);
    CHECK(j["state"] == "ok");
    CHECK(j["previous"]["last_seq"] == 5120);
    CHECK(j["previous"]["clean"] == false);
    CHECK(j["previous"]["stopped_at"] == "2026-01-01T00:00:50.000000000Z");
    CHECK(j["previous"]["down_ns"] == 10'000'000'000ll); // by CLOCK_BOOTTIME within one boot
    CHECK(j["rebooted"] == false);
    REQUIRE(j["started"].size() == 2);
    CHECK(j["started"][0]["key"] == "4300:5500");
    CHECK(j["started"][0]["parent_key"] == "1:2");
    CHECK(j["started"][0]["argv"] == json{"/usr/sbin/cron", "-f", "[REDACTED]"});
    CHECK(j["started"][0]["argv_redacted"] == true);
    CHECK(j["started"][0]["start_time"] == "2026-01-01T00:00:55.000000000Z");
    CHECK(j["started"][1]["comm_escaped"] == true);
    CHECK(j["started"][1]["argv"] == json{"a\\xffb"});
    CHECK(j["started"][1]["argv_escaped"] == json{0});
    CHECK(j["started"][1]["argv_truncated"] == true);
    CHECK_FALSE(j["started"][1].contains("parent_key"));
    CHECK(j["exited"] == json{"4242:5000"});
}

TEST_CASE("a kernel_ring_full lost line counts by type", "[protocol]") {
    auto j = json::parse(records_lost_line(clock_2026, LostCounts{1, 2, 3}, "kernel_ring_full"));
    CHECK(j["type"] == "lost");
    CHECK(j["count"] == 6);
    CHECK(j["reason"] == "kernel_ring_full");
    CHECK(j["by_type"] == json{{"fork", 1}, {"exec", 2}, {"exit", 3}});
}

TEST_CASE("a client_slow lost line says how many lines this client missed", "[protocol]") {
    auto j = json::parse(client_slow_line(clock_2026, 17));
    CHECK(j["count"] == 17);
    CHECK(j["reason"] == "client_slow");
    CHECK_FALSE(j.contains("by_type"));
}

TEST_CASE("a host name that is not UTF-8 is escaped in hello, never thrown on", "[protocol]") {
    HelloFacts h;
    h.hostname = "box\xff";
    h.boot_id = "0f0e0d0c-0b0a-0908-0706-050403020100";
    h.boot_realtime_ns = 1767225600ll * 1'000'000'000ll;
    h.probe_mode = "tp_btf";
    h.parent_path = "btf";
    auto j = json::parse(hello_line(h));
    CHECK(j["protocol"] == protocol_version);
    CHECK(j["hostname"] == "box\\xff");
    CHECK(j["hostname_escaped"] == true);
    CHECK(j["boot_time"] == "2026-01-01T00:00:00.000000000Z");
}

TEST_CASE("the stats line carries the figures it is given", "[protocol]") {
    auto j = json::parse(stats_line(clock_2026, some_stats()));
    CHECK(j["events"] == json{{"fork", 10}, {"exec", 9}, {"exit", 8}});
    CHECK(j["kernel_lost"]["total"] == 6);
    CHECK(j["clients"] == 1);
    CHECK(j["per_client"][0]["pid"] == 123);
    CHECK(j["ring"]["queued"] == 64);
}

TEST_CASE("the refusal is an error line", "[protocol]") {
    auto j = json::parse(refusal_line());
    CHECK(j["type"] == "error");
    CHECK(j["message"] == "permission denied: uid not allowed");
}

TEST_CASE("every protocol line follows proto/stream.schema.json", "[protocol][schema]") {
    if (!test::schema_validator())
        SKIP("EXECMOND_STREAM_VALIDATOR not set (meson test sets it)");
    HelloFacts h;
    h.hostname = "box\xff";
    h.boot_id = "0f0e0d0c-0b0a-0908-0706-050403020100";
    h.boot_realtime_ns = 1767225600ll * 1'000'000'000ll;
    h.probe_mode = "classic";
    h.parent_path = "fork-map";
    h.stream_id = "0f0e0d0c-0b0a-0908-0706-050403020100:123456789";
    h.last_seq = 41;
    Subscription s;
    s.comm_globs = {"ba*"};
    std::vector<std::string> lines{
        hello_line(h),
        records_lost_line(clock_2026, {1, 2, 3}, "kernel_ring_full", 42),
        records_lost_line(clock_2026, {0, 4, 0}, "shutdown", 43),
        client_slow_line(clock_2026, 17),
        client_slow_line(clock_2026, 17, 100, 130),
        replay_expired_line(clock_2026, 1, 99),
        stats_line(clock_2026, some_stats()),
        stats_line(clock_2026, StatsFacts{}),
        subscribed_line(s),
        subscribed_line(s, 0),
        error_line("unknown key 'x' in subscribe"),
        refusal_line(),
        gap_line(clock_2026, some_gap(), 1, redact_secret),
        gap_line(clock_2026, GapFacts{5'000'000'000, 0, std::nullopt, "none", false, {}, {}, false}, 1, {}),
    };
    std::string report = test::schema_report(lines);
    INFO(report);
    CHECK(report.empty());
}
