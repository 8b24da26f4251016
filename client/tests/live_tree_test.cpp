#include "live_tree.hpp"

#include <catch2/catch_test_macros.hpp>

using namespace execmon;

namespace {

UserNames fake_users() {
    return UserNames([](uint32_t) -> std::optional<std::string> { return "root"; });
}

json anc(int pid, const std::string& comm) {
    return {{"pid", pid},
            {"key", std::to_string(pid) + ":1"},
            {"comm", comm},
            {"filename", "/usr/bin/" + comm},
            {"start_ktime_ns", 1}};
}

// An exec of `argv0` by `pid`, under `ancestors` (nearest first, as the stream has them).
json exec(int pid, const std::string& argv0, std::vector<json> ancestors) {
    json j = {{"type", "exec"},
              {"seq", pid},
              {"time", "2026-01-01T10:00:00.000000000Z"},
              {"ktime_ns", 1},
              {"pid", pid},
              {"ppid", ancestors.empty() ? 0 : ancestors[0]["pid"].get<int>()},
              {"uid", 0},
              {"comm", argv0},
              {"filename", "/bin/" + argv0},
              {"argv", {argv0}},
              {"argv_truncated", false},
              {"key", std::to_string(pid) + ":1"},
              {"ancestors", ancestors}};
    return j;
}

std::vector<std::string> text(const std::vector<StyledLine>& lines) {
    std::vector<std::string> out;
    for (const auto& l : lines)
        out.push_back(render(l, 0, false));
    return out;
}

const std::string blank(22, ' '); // the time and user columns of a heading
const std::string t = "10:00:00.000 root     ";

} // namespace

TEST_CASE("a first exec prints its ancestors once, root first, each one level deeper", "[tree]") {
    auto users = fake_users();
    EventFormatter f(users, true, 100);
    LiveTree tree(f);
    auto lines = text(tree.exec(exec(30, "ls", {anc(20, "bash"), anc(10, "sshd"), anc(1, "systemd")})));
    CHECK(lines == std::vector<std::string>{
                       blank + "1 systemd",
                       blank + "  10 sshd",
                       blank + "    20 bash",
                       t + "      30 ls",
                   });
}

TEST_CASE("later execs under the same ancestors reuse them", "[tree]") {
    auto users = fake_users();
    EventFormatter f(users, true, 100);
    LiveTree tree(f);
    std::vector<json> chain{anc(20, "bash"), anc(10, "sshd"), anc(1, "systemd")};
    tree.exec(exec(30, "ls", chain));
    CHECK(text(tree.exec(exec(31, "cat", chain))) == std::vector<std::string>{t + "      31 cat"});
    // A child of ls, one level deeper; cat came in between, so ls is named again.
    std::vector<json> deeper{anc(30, "ls")};
    deeper.insert(deeper.end(), chain.begin(), chain.end());
    CHECK(text(tree.exec(exec(32, "sort", deeper))) ==
          std::vector<std::string>{blank + "      \u2026 30 ls", t + "        32 sort"});
    // Its sibling right after it needs nothing more.
    CHECK(text(tree.exec(exec(33, "uniq", deeper))) == std::vector<std::string>{t + "        33 uniq"});
}

TEST_CASE("coming back to a branch names its nearest ancestor again, dimmed", "[tree]") {
    auto users = fake_users();
    EventFormatter f(users, true, 100);
    LiveTree tree(f);
    tree.exec(exec(30, "ls", {anc(20, "bash"), anc(1, "systemd")}));
    CHECK(text(tree.exec(exec(40, "run-parts", {anc(35, "cron"), anc(1, "systemd")}))) ==
          std::vector<std::string>{blank + "  35 cron", t + "    40 run-parts"});
    // Back under bash: without the reference line, "ls" would seem to be cron's.
    CHECK(text(tree.exec(exec(31, "ls", {anc(20, "bash"), anc(1, "systemd")}))) ==
          std::vector<std::string>{blank + "  \u2026 20 bash", t + "    31 ls"});
}

TEST_CASE("a heading shows the path when comm does not name the program", "[tree]") {
    auto users = fake_users();
    EventFormatter f(users, true, 100);
    LiveTree tree(f);
    json a = anc(20, "tmux: server");
    a["filename"] = "/usr/bin/tmux";
    CHECK(text(tree.exec(exec(30, "ls", {a})))[0] == blank + "20 tmux: server  /usr/bin/tmux");
}

TEST_CASE("exits are shown in place, only for processes in the tree", "[tree]") {
    auto users = fake_users();
    EventFormatter f(users, true, 100);
    LiveTree tree(f);
    tree.exec(exec(30, "ls", {anc(20, "bash"), anc(1, "systemd")}));
    json exit = {{"type", "exit"},    {"seq", 99},     {"time", "2026-01-01T10:00:00.000000000Z"},
                 {"ktime_ns", 1},     {"pid", 30},     {"ppid", 20},
                 {"uid", 0},          {"comm", "ls"},  {"exit_code", 0},
                 {"signal", nullptr}, {"key", "30:1"}, {"duration_ns", 1500000}};
    CHECK(text(tree.exit(exit)) == std::vector<std::string>{t + "    30 exit 0 after 1 ms  ls"});
    exit["key"] = "99:1";
    exit["pid"] = 99;
    CHECK(tree.exit(exit).empty());
}

TEST_CASE("very deep chains stop indenting and number the depth", "[tree]") {
    auto users = fake_users();
    EventFormatter f(users, true, 100);
    LiveTree tree(f);
    std::vector<json> chain;
    for (int pid = 60; pid >= 1; --pid)
        chain.push_back(anc(pid, "sh"));
    auto lines = text(tree.exec(exec(100, "deep", chain)));
    REQUIRE(lines.size() == 61);
    CHECK(lines.back() == t + std::string(LiveTree::max_indent_levels * 2, ' ') + "[60] 100 deep");
}
