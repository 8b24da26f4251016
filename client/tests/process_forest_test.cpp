#include "process_forest.hpp"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

using namespace execmon;
using json = nlohmann::json;

namespace {

json proc(int pid, int ppid, const std::string& comm, std::vector<std::string> argv, uint64_t start) {
    json j = {{"type", "process"},
              {"pid", pid},
              {"ppid", ppid},
              {"key", std::to_string(pid) + ":" + std::to_string(start)},
              {"start_time", "2026-01-01T10:00:00.000000000Z"},
              {"start_ktime_ns", start},
              {"uid", 0},
              {"comm", comm}};
    if (!argv.empty())
        j["argv"] = argv;
    return j;
}

std::vector<std::string> commands(const std::vector<StyledLine>& lines) {
    // The tree and the command: what follows the USER column.
    std::vector<std::string> out;
    for (size_t i = 1; i < lines.size(); ++i) {
        std::string l = render(lines[i], 0, false);
        out.push_back(l.substr(l.find("root     ") + 9));
    }
    return out;
}

} // namespace

TEST_CASE("ps draws the forest with connectors, children in start order", "[forest]") {
    std::vector<json> ps{
        proc(1, 0, "systemd", {"/sbin/init"}, 1),  proc(2, 0, "kthreadd", {}, 2),
        proc(30, 2, "kworker/0:1", {}, 3),         proc(500, 1, "sshd", {"sshd", "-D"}, 10),
        proc(700, 500, "bash", {"-bash"}, 40),     proc(650, 500, "bash", {"-bash"}, 30),
        proc(800, 650, "vim", {"vim", "a b"}, 50), proc(900, 1, "cron", {"cron"}, 20),
    };
    UserNames users([](uint32_t) -> std::optional<std::string> { return "root"; });
    ForestOptions o;
    o.utc = true;
    o.now_seconds = 1767261600; // 2026-01-01T10:00:00Z
    auto lines = render_forest(ps, o, users);
    CHECK(render(lines[0], 0, false) == "    PID KEY    START USER     COMMAND");
    CHECK(commands(lines) == std::vector<std::string>{
                                 "/sbin/init",
                                 "\u251c\u2500 sshd -D",
                                 "\u2502  \u251c\u2500 -bash",
                                 "\u2502  \u2502  \u2514\u2500 vim 'a b'",
                                 "\u2502  \u2514\u2500 -bash",
                                 "\u2514\u2500 cron",
                                 "[kthreadd]",
                                 "\u2514\u2500 [kworker/0:1]",
                             });
    std::string first = render(lines[1], 0, false);
    CHECK(first.rfind("      1 1:1    10:00 root     /sbin/init", 0) == 0);
}

TEST_CASE("parent_key wins over ppid, so a reused pid does not adopt strangers", "[forest]") {
    std::vector<json> ps{proc(1, 0, "init", {"init"}, 1), proc(10, 1, "a", {"a"}, 5),
                         proc(11, 10, "b", {"b"}, 6)};
    ps[2]["parent_key"] = "1:1"; // reparented: ppid 10 is stale in this made-up line
    UserNames users([](uint32_t) -> std::optional<std::string> { return "root"; });
    auto lines = render_forest(ps, {}, users);
    CHECK(commands(lines) == std::vector<std::string>{"init", "\u251c\u2500 a", "\u2514\u2500 b"});
}

TEST_CASE("ps -p shows one subtree, and says when the pid is not there", "[forest]") {
    std::vector<json> ps{proc(1, 0, "init", {"init"}, 1), proc(10, 1, "a", {"a"}, 5),
                         proc(11, 10, "b", {"b"}, 6), proc(12, 1, "c", {"c"}, 7)};
    UserNames users([](uint32_t) -> std::optional<std::string> { return "root"; });
    ForestOptions o;
    o.root_pid = 10;
    CHECK(commands(render_forest(ps, o, users)) == std::vector<std::string>{"a", "\u2514\u2500 b"});
    o.root_pid = 99;
    CHECK_THROWS_WITH(render_forest(ps, o, users), "no process 99 in the snapshot");
}

TEST_CASE("a parent loop in bad input ends, and every process still appears once", "[forest]") {
    std::vector<json> ps{proc(10, 11, "a", {"a"}, 5), proc(11, 10, "b", {"b"}, 6),
                         proc(1, 0, "init", {"init"}, 1)};
    UserNames users([](uint32_t) -> std::optional<std::string> { return "root"; });
    CHECK(commands(render_forest(ps, {}, users)) == std::vector<std::string>{"init", "a", "\u2514\u2500 b"});
}
