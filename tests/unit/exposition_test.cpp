#include "exposition.hpp"

#include <catch2/catch_test_macros.hpp>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

using namespace execmond;

namespace {

// Reads exposition text the way the format defines it (HELP, TYPE, samples)
// and fails on anything else: sample -> value.
std::map<std::string, std::string> samples(const std::string& text) {
    static const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*)");
    static const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge))");
    static const std::regex sample(
        R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? ([0-9.e+-]+))");
    std::map<std::string, std::string> out;
    std::set<std::string> typed;
    std::istringstream in(text);
    std::string line;
    std::smatch m;
    while (std::getline(in, line)) {
        INFO(line);
        if (std::regex_match(line, m, help))
            continue;
        if (std::regex_match(line, m, type)) {
            CHECK(typed.insert(m[1]).second); // one TYPE per family
            continue;
        }
        REQUIRE(std::regex_match(line, m, sample));
        std::string name = m[1];
        CHECK(typed.count(name) == 1); // TYPE comes before the samples
        std::string key = line.substr(0, line.rfind(' '));
        CHECK(out.emplace(key, m[5]).second);
    }
    CHECK(text.back() == '\n');
    return out;
}

} // namespace

TEST_CASE("exposition: every counter of the stats line, in the text format", "[metrics]") {
    MetricsFacts f;
    f.version = "0.1.0";
    f.probe_mode = "tp_btf";
    f.parent_path = "btf";
    f.start_time_s = 1700000000.25;
    f.stats.fork = 11;
    f.stats.exec = 12;
    f.stats.exit = 13;
    f.stats.kernel_lost = {1, 2, 3};
    f.stats.client_lost = 54;
    f.stats.clients = {ClientStats{}, ClientStats{}};
    f.stats.process_table = 312;
    f.stats.ring_size = 8388608;
    f.stats.ring_queued = 4096;
    f.stats.wakeups = 7;
    f.stats.timer_drains = 8;
    f.stats.decode_errors = 0;
    f.stats.duplicate_exits = 4;
    f.stats.last_seq = 9000;
    f.stats.replay_limit = 64u << 20;
    f.stats.replay_bytes = 123456;
    f.stats.replay_lines = 321;
    auto s = samples(prometheus_text(f));
    CHECK(s["execmond_build_info{version=\"0.1.0\",probe_mode=\"tp_btf\",parent_path=\"btf\"}"] == "1");
    CHECK(s["execmond_start_time_seconds"] == "1700000000.250");
    CHECK(s["execmond_events_total{type=\"fork\"}"] == "11");
    CHECK(s["execmond_events_total{type=\"exec\"}"] == "12");
    CHECK(s["execmond_events_total{type=\"exit\"}"] == "13");
    CHECK(s["execmond_kernel_lost_total{type=\"fork\"}"] == "1");
    CHECK(s["execmond_kernel_lost_total{type=\"exec\"}"] == "2");
    CHECK(s["execmond_kernel_lost_total{type=\"exit\"}"] == "3");
    CHECK(s["execmond_client_lost_lines_total{reason=\"client_slow\"}"] == "54");
    CHECK(s["execmond_clients"] == "2");
    CHECK(s["execmond_process_table_entries"] == "312");
    CHECK(s["execmond_ring_size_bytes"] == "8388608");
    CHECK(s["execmond_ring_queued_bytes"] == "4096");
    CHECK(s["execmond_ring_wakeups_total"] == "7");
    CHECK(s["execmond_ring_timer_drains_total"] == "8");
    CHECK(s["execmond_decode_errors_total"] == "0");
    CHECK(s["execmond_duplicate_exits_total"] == "4");
    CHECK(s["execmond_stream_last_seq"] == "9000");
    CHECK(s["execmond_replay_buffer_bytes"] == "123456");
    CHECK(s["execmond_replay_buffer_limit_bytes"] == "67108864");
    CHECK(s["execmond_replay_buffer_lines"] == "321");
    CHECK(s.count("execmond_file_lines_total{path=\"\"}") == 0); // no file, no file metrics

    f.stats.file = FileStats{"/var/log/execmond/a \"b\"\\c.jsonl", 100, 5, 6, 700, 2};
    auto withfile = samples(prometheus_text(f));
    std::string path = R"(path="/var/log/execmond/a \"b\"\\c.jsonl")";
    CHECK(withfile["execmond_file_lines_total{" + path + "}"] == "100");
    CHECK(withfile["execmond_file_lost_lines_total{" + path + ",reason=\"file_slow\"}"] == "5");
    CHECK(withfile["execmond_file_lost_lines_total{" + path + ",reason=\"file_error\"}"] == "6");
    CHECK(withfile["execmond_file_queued_bytes{" + path + "}"] == "700");
    CHECK(withfile["execmond_file_rotations_total{" + path + "}"] == "2");
}
