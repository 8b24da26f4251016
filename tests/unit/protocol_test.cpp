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

} // namespace

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
    Subscription s;
    s.comm_globs = {"ba*"};
    std::vector<std::string> lines{
        hello_line(h),
        records_lost_line(clock_2026, {1, 2, 3}, "kernel_ring_full"),
        records_lost_line(clock_2026, {0, 4, 0}, "shutdown"),
        client_slow_line(clock_2026, 17),
        stats_line(clock_2026, some_stats()),
        stats_line(clock_2026, StatsFacts{}),
        subscribed_line(s),
        error_line("unknown key 'x' in subscribe"),
        refusal_line(),
    };
    std::string report = test::schema_report(lines);
    INFO(report);
    CHECK(report.empty());
}
