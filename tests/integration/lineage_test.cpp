// Lineage against ground truth: trees of a known shape (tools/lineage_tool.c),
// compared line by line with what the kernel shows in /proc while they live
// and what the trees themselves report (pids before a reparenting, tids).
#include "harness.hpp"
#include "trees.hpp"

#include <algorithm>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace execmond::itest;

namespace {

void require_root() {
    if (!is_root())
        SKIP("needs root to load BPF programs");
}

// The three ways the probes find a parent (docs/lineage.md), forced.
struct Mode {
    std::string name; // as in "parent_source" and the hello line's "parent_path"
    std::vector<std::string> args;
};

const std::vector<Mode>& modes() {
    static const std::vector<Mode> m{
        {"btf", {"--probe-mode", "btf"}},
        {"offsets", {"--probe-mode", "classic", "--btf", "/sys/kernel/btf/vmlinux"}},
        {"fork-map", {"--probe-mode", "classic"}},
    };
    return m;
}

// The daemon says which parent path it took, in its log and its hello line.
void check_parent_path(const Daemon& d, Stream& s, const Mode& mode) {
    const json* hello = s.find([](const json& l) { return l.value("type", "") == "hello"; });
    if (!hello) {
        s.wait(
            [&] { return s.find([](const json& l) { return l.value("type", "") == "hello"; }) != nullptr; },
            5s);
        hello = s.find([](const json& l) { return l.value("type", "") == "hello"; });
    }
    REQUIRE(hello);
    CHECK((*hello)["parent_path"] == mode.name);
    INFO(d.log());
    CHECK(d.log().find("parent pid: " + mode.name) != std::string::npos);
}

// The daemon as the tests run it: a client queue big enough that the test's
// own client, busy checking lines on a loaded machine, never has lines
// dropped (other work on the machine may stream thousands of lines a second).
std::vector<std::string> daemon_args(std::vector<std::string> args) {
    args.insert(args.end(), {"--client-queue", "1G"});
    return args;
}

std::vector<pid_t> self_and_parents() {
    std::vector<pid_t> out{getpid()};
    for (pid_t p : proc_parents(getpid()))
        out.push_back(p);
    return out;
}

std::vector<pid_t> concat(std::vector<pid_t> a, const std::vector<pid_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// What a process looked like in /proc while it lived.
struct Truth {
    std::string key, comm, exe;
};

Truth truth_of(pid_t pid) {
    auto s = proc_stat(pid);
    return {proc_key(pid), s ? s->comm : "", proc_exe(pid)};
}

// An exec line's ancestors are exactly `expected` (nearest first), and those
// whose /proc entry we captured match it in key, comm and filename.
void check_ancestors(const json& exec, const std::vector<pid_t>& expected,
                     const std::map<pid_t, Truth>& known = {}) {
    INFO(exec.dump());
    CHECK(ancestor_pids(exec) == expected);
    for (const auto& a : exec["ancestors"]) {
        auto it = known.find(a["pid"].get<pid_t>());
        if (it == known.end())
            continue;
        CHECK(a["key"] == it->second.key);
        CHECK(a["comm"] == it->second.comm);
        if (!it->second.exe.empty())
            CHECK(a["filename"] == it->second.exe);
    }
}

bool is_exec_of(const json& l, const std::string& filename, const std::string& arg1) {
    return l.value("type", "") == "exec" && l.value("filename", "") == filename && l.contains("argv") &&
           l["argv"].size() > 1 && l["argv"][1] == arg1;
}

// In fork-map mode the probes cannot read argv: find exec lines by pid there.
bool has_argv(const Mode& m) {
    return m.name != "fork-map";
}

std::string unique(const char* what) {
    static int n = 0;
    return std::string(what) + "-" + std::to_string(getpid()) + "-" + std::to_string(++n);
}

} // namespace

TEST_CASE("a process started before execmond: its children's exec lines carry it and its real parents",
          "[lineage][paths]") {
    require_root();
    const Mode& mode = modes()[GENERATE(0, 1, 2)];
    INFO("parent path " << mode.name);
    const std::string tool = lineage_tool();
    // test -> chain 2 (P0) -> chain 1 (P1) -> gate (P2), all before execmond.
    std::string token = unique("pre");
    Tree tree({tool, "chain", "2", tool, "gate", "/bin/echo", token});
    pid_t p2 = wait_descendant(tree.pid(), 2, "gate");
    REQUIRE(p2 != 0);
    pid_t p1 = proc_stat(p2)->ppid;
    pid_t p0 = tree.pid();
    REQUIRE(proc_stat(p1)->ppid == p0);
    std::map<pid_t, Truth> known{{p0, truth_of(p0)}, {p1, truth_of(p1)}, {p2, truth_of(p2)}};
    for (pid_t p : self_and_parents())
        known[p] = truth_of(p);

    Daemon d(daemon_args(mode.args));
    Stream s(d.socket());
    check_parent_path(d, s, mode);
    tree.write_line("go");
    const json* exec = nullptr;
    s.wait(
        [&] {
            exec = s.find([&](const json& l) { return l.value("type", "") == "exec" && l["ppid"] == p2; });
            return exec != nullptr;
        },
        10s);
    REQUIRE(exec);
    INFO(exec->dump());
    CHECK((*exec)["filename"] == "/bin/echo");
    if (has_argv(mode))
        CHECK((*exec)["argv"] == json::array({"/bin/echo", token}));
    CHECK((*exec)["parent_source"] == mode.name);
    CHECK((*exec)["fork_ppid"] == p2);
    CHECK((*exec)["parent_key"] == known[p2].key);
    check_ancestors(*exec, concat({p2, p1, p0}, self_and_parents()), known);
    CHECK(exec->at("ancestors").back()["pid"] == 1);
    // Its fork line told the same key.
    const json* fork = s.line("fork", (*exec)["pid"].get<pid_t>());
    REQUIRE(fork);
    CHECK((*fork)["key"] == (*exec)["key"]);
    CHECK((*fork)["ppid"] == p2);
    CHECK(tree.wait() == 0);
}

TEST_CASE("double fork that daemonizes: the orphan shows its new parent, fork_ppid its spawner",
          "[lineage][paths]") {
    require_root();
    const Mode& mode = modes()[GENERATE(0, 1, 2)];
    const bool subreaper = GENERATE(true, false);
    INFO("parent path " << mode.name << (subreaper ? ", subreaper" : ", no subreaper"));
    const std::string tool = lineage_tool();
    Daemon d(daemon_args(mode.args));
    Stream s(d.socket());
    check_parent_path(d, s, mode);

    std::string token = unique("orphan");
    // A -> B -> C; B exits; C (reparented to A or init) execs "spawn", which
    // forks D running echo.
    Tree a({tool, "daemonize", subreaper ? "1" : "0", tool, "spawn", "/bin/echo", token});
    auto orphan = a.expect("orphan");
    REQUIRE(orphan);
    REQUIRE(orphan->size() == 3);
    pid_t c = static_cast<pid_t>((*orphan)[0]), b = static_cast<pid_t>((*orphan)[1]);
    pid_t n = static_cast<pid_t>((*orphan)[2]);
    if (subreaper)
        CHECK(n == a.pid());
    const json* c_exec = s.await("exec", c);
    REQUIRE(c_exec);
    const json* d_exec = nullptr;
    s.wait([&] {
        d_exec = s.find([&](const json& l) { return l.value("type", "") == "exec" && l["ppid"] == c; });
        return d_exec != nullptr;
    });
    REQUIRE(d_exec);
    // Every line of the shape, compared.
    const json* b_fork = s.line("fork", b);
    const json* c_fork = s.line("fork", c);
    const json* b_exit = s.line("exit", b);
    REQUIRE(b_fork);
    REQUIRE(c_fork);
    REQUIRE(b_exit);
    CHECK((*b_fork)["ppid"] == a.pid());
    CHECK((*c_fork)["ppid"] == b);
    CHECK((*c_fork)["parent_key"] == (*b_fork)["key"]);
    CHECK(s.index_of(b_exit) < s.index_of(c_exec));
    {
        INFO(c_exec->dump());
        CHECK((*c_exec)["ppid"] == n);
        CHECK((*c_exec)["fork_ppid"] == b);
        CHECK((*c_exec)["key"] == (*c_fork)["key"]);
        CHECK((*c_exec)["filename"] == tool);
        CHECK((*c_exec)["parent_source"] == mode.name);
    }
    std::vector<pid_t> above_n = n == 1 ? std::vector<pid_t>{} : concat({}, self_and_parents());
    if (n == 1)
        check_ancestors(*c_exec, {1});
    else if (subreaper)
        check_ancestors(*c_exec, concat({n}, above_n));
    {
        INFO(d_exec->dump());
        CHECK((*d_exec)["filename"] == "/bin/echo");
        CHECK((*d_exec)["fork_ppid"] == c);
        CHECK((*d_exec)["parent_key"] == (*c_exec)["key"]);
        REQUIRE(ancestor_pids(*d_exec).size() >= 2);
        CHECK(ancestor_pids(*d_exec)[0] == c);
        CHECK(ancestor_pids(*d_exec)[1] == n);
        CHECK((*d_exec)["ancestors"][0]["filename"] == tool);
        if (subreaper)
            check_ancestors(*d_exec, concat({c, n}, above_n));
    }
    CHECK(a.wait() == 0);
}

TEST_CASE("exec from a non-leader thread: the line has the tgid as pid, the thread as tid, lineage intact",
          "[lineage][paths]") {
    require_root();
    const Mode& mode = modes()[GENERATE(0, 1, 2)];
    INFO("parent path " << mode.name);
    const std::string tool = lineage_tool();
    Daemon d(daemon_args(mode.args));
    Stream s(d.socket());
    check_parent_path(d, s, mode);
    std::string token = unique("thread");
    Tree t({tool, "thread-exec", tool, "spawn", "/bin/echo", token});
    auto ids = t.expect("thread");
    REQUIRE(ids);
    pid_t tgid = static_cast<pid_t>((*ids)[0]), tid = static_cast<pid_t>((*ids)[1]);
    REQUIRE(tgid == t.pid());
    REQUIRE(tid != tgid);
    const json* child = nullptr;
    s.wait([&] {
        child = s.find([&](const json& l) { return l.value("type", "") == "exec" && l["ppid"] == tgid; });
        return child != nullptr;
    });
    REQUIRE(child);
    CHECK(t.wait() == 0);
    s.await("exit", tgid, "", 5s);
    // Two exec lines for tgid: the tool's own start, then the thread's exec.
    auto execs = s.all([&](const json& l) { return l.value("type", "") == "exec" && l["pid"] == tgid; });
    REQUIRE(execs.size() == 2);
    const json& x = *execs[1];
    INFO(x.dump());
    CHECK(x["tid"] == tid);
    CHECK(x["ppid"] == getpid());
    CHECK(x["fork_ppid"] == getpid());
    CHECK(x["key"] == (*execs[0])["key"]);
    CHECK(x["parent_source"] == mode.name);
    check_ancestors(x, self_and_parents());
    // One exit for the process, after everything it did; none for the old
    // leader thread that de_thread() retired.
    auto exits = s.all([&](const json& l) { return l.value("type", "") == "exit" && l["pid"] == tgid; });
    CHECK(exits.size() == 1);
    if (!exits.empty())
        CHECK(s.index_of(exits[0]) > s.index_of(child));
    INFO(child->dump());
    CHECK((*child)["parent_key"] == x["key"]);
    check_ancestors(*child, concat({tgid}, self_and_parents()));
    CHECK((*child)["ancestors"][0]["filename"] == tool);
}

TEST_CASE("pid reuse: a new process with an old pid never inherits the old one's lineage",
          "[lineage][paths]") {
    require_root();
    const Mode& mode = modes()[GENERATE(0, 1, 2)];
    INFO("parent path " << mode.name);
    const std::string tool = lineage_tool();
    Daemon d(daemon_args(mode.args));
    Stream s(d.socket());
    check_parent_path(d, s, mode);
    std::string token = unique("reuse");
    // R forks X (execs true) and reaps it; then R forks Y, which gets X's pid
    // again for its own child (clone3 set_tid), within the exit grace.
    Tree r({tool, "reuse", tool, "spawn", "/bin/echo", token});
    auto old = r.expect("old");
    auto again = r.expect("new");
    REQUIRE(old);
    if (!again)
        FAIL("clone3(set_tid) did not reuse the pid");
    pid_t x = static_cast<pid_t>((*old)[0]);
    REQUIRE((*again)[0] == x);
    pid_t y = static_cast<pid_t>((*again)[1]);
    CHECK(r.wait() == 0);
    const json* child = nullptr;
    s.wait([&] {
        child = s.find([&](const json& l) { return l.value("type", "") == "exec" && l["ppid"] == x; });
        return child != nullptr;
    });
    REQUIRE(child);
    auto execs = s.all([&](const json& l) { return l.value("type", "") == "exec" && l["pid"] == x; });
    REQUIRE(execs.size() == 2);
    const json& old_exec = *execs[0];
    const json& new_exec = *execs[1];
    INFO(old_exec.dump());
    INFO(new_exec.dump());
    CHECK(old_exec["filename"] == "/bin/true");
    CHECK(old_exec["ppid"] == r.pid());
    check_ancestors(old_exec, concat({r.pid()}, self_and_parents()));
    CHECK(new_exec["filename"] == tool);
    CHECK(new_exec["key"] != old_exec["key"]);
    CHECK(new_exec["ppid"] == y);
    CHECK(new_exec["fork_ppid"] == y);
    check_ancestors(new_exec, concat({y, r.pid()}, self_and_parents()));
    const json* y_fork = s.line("fork", y);
    REQUIRE(y_fork);
    CHECK(new_exec["parent_key"] == (*y_fork)["key"]);
    const json* new_fork = s.find(
        [&](const json& l) { return l.value("type", "") == "fork" && l["pid"] == x && l["ppid"] == y; });
    REQUIRE(new_fork);
    CHECK((*new_fork)["key"] == new_exec["key"]);
    // The grandchild sees the new process, not the old one.
    INFO(child->dump());
    check_ancestors(*child, concat({x, y, r.pid()}, self_and_parents()));
    CHECK((*child)["ancestors"][0]["key"] == new_exec["key"]);
    CHECK((*child)["ancestors"][0]["filename"] == tool);
}

TEST_CASE("a deep chain of 200: ancestors bounded at 64, --ancestors-depth honoured", "[lineage]") {
    require_root();
    const std::string tool = lineage_tool();
    Daemon d(daemon_args({}));
    Daemon shallow(daemon_args({"--ancestors-depth", "5"}));
    // Only our tree's lines are parsed (comm and filename say lineage_tool).
    Stream s(d.socket(), {"lineage_tool"});
    Stream s5(shallow.socket(), {"lineage_tool"});
    constexpr int depth = 200;
    Tree t({tool, "chain", std::to_string(depth), tool, "block"});
    // Ground truth first: walk the chain in /proc (one child per level)
    // down to the leaf running "block".
    pid_t leaf_pid = t.pid();
    auto deadline = std::chrono::steady_clock::now() + 60s;
    for (int level = 0; level < depth && std::chrono::steady_clock::now() < deadline;) {
        auto children = proc_children(leaf_pid);
        if (children.size() == 1) {
            leaf_pid = children[0];
            ++level;
        } else {
            std::this_thread::sleep_for(10ms);
        }
    }
    REQUIRE(wait_descendant(leaf_pid, 0, "block", 30s) == leaf_pid);
    const json* leaf = s.await("exec", leaf_pid, "block", 30s);
    if (!leaf) {
        auto lost = s.all([](const json& l) { return l.value("type", "") == "lost"; });
        INFO(s.lines.size() << " lines, " << lost.size() << " lost lines"
                            << (lost.empty() ? "" : ", the first: " + lost[0]->dump()));
        FAIL("no exec line for the chain's leaf " << leaf_pid);
    }
    std::vector<pid_t> truth = proc_parents(leaf_pid);
    REQUIRE(truth.size() > depth);
    std::vector<pid_t> first64(truth.begin(), truth.begin() + 64);
    std::map<pid_t, Truth> known;
    for (pid_t p : first64)
        known[p] = truth_of(p);
    CHECK((*leaf)["ancestors"].size() == 64);
    check_ancestors(*leaf, first64, known);
    // Each level's exec line names its real parent.
    int checked = 0;
    for (size_t i = 0; i + 1 < truth.size() && truth[i] != getpid(); ++i) {
        const json* e = s.line("exec", truth[i]);
        REQUIRE(e);
        CHECK((*e)["ppid"] == truth[i + 1]);
        CHECK((*e)["comm"] == "lineage_tool");
        ++checked;
    }
    CHECK(checked == depth);
    const json* leaf5 = s5.await("exec", leaf_pid, "block", 30s);
    REQUIRE(leaf5);
    check_ancestors(*leaf5, std::vector<pid_t>(truth.begin(), truth.begin() + 5), known);
    t.close_stdin();
    CHECK(t.wait(30s) == 0);
}

TEST_CASE("a wide burst of 2,000 live children: every exec line present with the right parent",
          "[lineage][paths]") {
    require_root();
    const Mode& mode = modes()[GENERATE(0, 1, 2)];
    INFO("parent path " << mode.name);
    const std::string tool = lineage_tool();
    Daemon d(daemon_args(mode.args));
    Stream s(d.socket(), {"lineage_tool"});
    constexpr size_t width = 2000;
    Tree w({tool, "wide", std::to_string(width), tool, "block"});
    // Scanned as lines arrive: the stream holds the whole machine's lines.
    std::vector<const json*> lines;
    size_t scanned = 0;
    s.wait(
        [&] {
            for (; scanned < s.lines.size(); ++scanned) {
                const json& l = s.lines[scanned];
                if (l.value("type", "") == "exec" && l["ppid"] == w.pid() && l["filename"] == tool)
                    lines.push_back(&l);
            }
            return lines.size() >= width;
        },
        60s);
    // All of them alive at once.
    CHECK(proc_children(w.pid()).size() == width);
    REQUIRE(lines.size() == width);
    std::set<pid_t> pids;
    std::string w_key = proc_key(w.pid());
    std::map<pid_t, const json*> forks;
    for (const auto& l : s.lines)
        if (l.value("type", "") == "fork" && l["ppid"] == w.pid())
            forks[l["pid"].get<pid_t>()] = &l;
    size_t key_mismatches = 0;
    for (const json* l : lines) {
        pid_t pid = (*l)["pid"].get<pid_t>();
        INFO(l->dump());
        pids.insert(pid);
        if (has_argv(mode))
            CHECK((*l)["argv"] == json::array({tool, "block"}));
        CHECK((*l)["parent_key"] == w_key);
        CHECK((*l)["fork_ppid"] == w.pid());
        CHECK((*l)["parent_source"] == mode.name);
        REQUIRE(!(*l)["ancestors"].empty());
        CHECK((*l)["ancestors"][0]["pid"] == w.pid());
        REQUIRE(forks.count(pid));
        CHECK((*forks[pid])["key"] == (*l)["key"]);
        key_mismatches += (*l)["key"] != proc_key(pid);
    }
    // Keys are /proc's (pid:start_ticks). The classic probes time a fork at
    // task_newtask, microseconds after the task's start: a key may then be
    // a tick off /proc's (rarely), but stays the same on all its lines.
    if (mode.name == "btf")
        CHECK(key_mismatches == 0);
    else
        CHECK(key_mismatches <= width / 100);
    CHECK(pids.size() == width);
    w.close_stdin();
    CHECK(w.wait(60s) == 0);
}

TEST_CASE("another pid namespace and a fresh cgroup: host pid, ns_pid, pidns, cgroup id and path",
          "[lineage]") {
    require_root();
    namespace fs = std::filesystem;
    // The cgroup v2 hierarchy, wherever it is mounted.
    std::string root;
    {
        std::ifstream in("/proc/self/mountinfo");
        std::string line;
        while (std::getline(in, line) && root.empty()) {
            auto dash = line.find(" - cgroup2 ");
            if (dash == std::string::npos)
                continue;
            std::istringstream f(line);
            std::string id, parent, dev, r, mp;
            f >> id >> parent >> dev >> r >> mp;
            root = mp;
        }
    }
    if (root.empty())
        SKIP("no cgroup v2 hierarchy mounted");
    std::string name = unique("execmond-lineage");
    fs::path dir = fs::path(root) / name;
    REQUIRE(fs::create_directory(dir));
    struct stat cg {};
    REQUIRE(stat(dir.c_str(), &cg) == 0);

    const std::string tool = lineage_tool();
    Daemon d(daemon_args({}));
    Stream s(d.socket());
    // incgroup (T) -> unshare (T) forks U = pid 1 of the new namespace, which
    // execs "spawn" and starts "block" (pid 2 there).
    {
        Tree t({tool, "incgroup", dir.string(), "/usr/bin/unshare", "--pid", "--fork", "--mount-proc", tool,
                "spawn", tool, "block"});
        const json* block = nullptr;
        s.wait([&] {
            block = s.find([&](const json& l) {
                return is_exec_of(l, tool, "block") && ancestor_pids(l).size() > 1 &&
                       ancestor_pids(l)[1] == t.pid();
            });
            return block != nullptr;
        });
        REQUIRE(block);
        INFO(block->dump());
        pid_t host = (*block)["pid"].get<pid_t>();
        pid_t u = (*block)["ppid"].get<pid_t>();
        // Ground truth from the host's /proc while it lives.
        std::ifstream status("/proc/" + std::to_string(host) + "/status");
        std::string line, nspid;
        while (std::getline(status, line))
            if (line.rfind("NSpid:", 0) == 0)
                nspid = line;
        std::istringstream ns(nspid.substr(6));
        long outer = 0, inner = 0;
        ns >> outer >> inner;
        CHECK(outer == host);
        CHECK(inner == 2);
        CHECK((*block)["ns_pid"] == inner);
        struct stat pidns {};
        REQUIRE(stat(("/proc/" + std::to_string(host) + "/ns/pid").c_str(), &pidns) == 0);
        CHECK((*block)["pidns"] == pidns.st_ino);
        CHECK((*block)["cgroup_id"] == cg.st_ino);
        CHECK((*block)["cgroup"] == "/" + name);
        CHECK((*block)["key"] == proc_key(host));
        check_ancestors(*block, concat({u, t.pid()}, self_and_parents()));
        const json* u_exec = s.line("exec", u, "spawn");
        REQUIRE(u_exec);
        CHECK((*u_exec)["ns_pid"] == 1);
        CHECK((*u_exec)["pidns"] == pidns.st_ino);
        CHECK((*u_exec)["cgroup"] == "/" + name);
        t.close_stdin();
        CHECK(t.wait() == 0);
    }
    fs::remove(dir);
}

TEST_CASE("execmond inside a child pid namespace warns that /proc and the probes disagree on pids",
          "[lineage]") {
    require_root();
    std::string dir = temp_dir();
    auto out = capture("timeout -s TERM 2 /usr/bin/unshare --pid --fork --mount-proc --kill-child=SIGTERM " +
                       daemon_path() + " --config /dev/null --log-target stderr --socket " + dir +
                       "/events.sock 2>&1");
    INFO(out);
    CHECK(out.find("pid namespace") != std::string::npos);
    CHECK(out.find("ready in") != std::string::npos);
    std::filesystem::remove_all(dir);
}

TEST_CASE("--follow: only the followed process and its descendants, cleaned up on exit", "[lineage]") {
    require_root();
    const std::string tool = lineage_tool();
    std::string token = unique("followed");
    std::string other = unique("unfollowed");
    // R (chain 1) -> G (gate), both before execmond; after start G spawns S
    // ("spawn"), S spawns echo.
    Tree r({tool, "chain", "1", tool, "gate", tool, "spawn", "/bin/echo", token});
    pid_t g = wait_descendant(r.pid(), 1, "gate");
    REQUIRE(g != 0);
    Daemon d(daemon_args({"--follow", std::to_string(r.pid())}));
    Stream s(d.socket());
    // Unrelated work elsewhere, before and while the subtree runs.
    Tree elsewhere({tool, "chain", "3", "/bin/echo", other});
    run({"/bin/echo", other});
    r.write_line("go");
    CHECK(r.wait() == 0);
    CHECK(elsewhere.wait() == 0);
    run({"/bin/echo", other});
    REQUIRE(s.await("exit", r.pid()));
    // The followed pids, from the fork lines themselves.
    std::set<pid_t> tree{r.pid(), g};
    for (const auto& l : s.lines)
        if (l.value("type", "") == "fork" && tree.count(l["ppid"].get<pid_t>()))
            tree.insert(l["pid"].get<pid_t>());
    CHECK(tree.size() == 4); // R, G, S and echo
    for (const auto& l : s.lines) {
        std::string type = l.value("type", "");
        if (type != "fork" && type != "exec" && type != "exit")
            continue;
        INFO(l.dump());
        CHECK(tree.count(l["pid"].get<pid_t>()) == 1);
        CHECK(l.dump().find(other) == std::string::npos);
    }
    const json* echo = s.find([&](const json& l) { return is_exec_of(l, "/bin/echo", token); });
    REQUIRE(echo);
    REQUIRE(ancestor_pids(*echo).size() >= 3);
    CHECK(ancestor_pids(*echo)[1] == g);
    CHECK(ancestor_pids(*echo)[2] == r.pid());
    CHECK(ancestor_pids(*echo) == concat({(*echo)["ppid"].get<pid_t>(), g, r.pid()}, self_and_parents()));
    // Every followed process has exited: the kernel map is empty again.
    auto entries = bpf_map_dump(d.pid(), "followed");
    REQUIRE(entries);
    INFO(entries->dump());
    CHECK(entries->is_array());
    CHECK(entries->size() == 0);
}

TEST_CASE("--follow: a running descendant's children are followed from the first exec the root makes",
          "[lineage]") {
    require_root();
    // R (the root) and D (its child, running before execmond) take turns: R
    // execs echo r-N, then D execs echo d-N, then R r-N+1 ... So from R's first
    // reported exec on, every d-N is one too, unless D joined the follow set
    // later than R did (descendants added only after seeding: D's children
    // exec'd unreported while the daemon was starting).
    std::string dir = temp_dir();
    std::string token = unique("turns");
    REQUIRE(mkfifo((dir + "/to-d").c_str(), 0600) == 0);
    REQUIRE(mkfifo((dir + "/to-r").c_str(), 0600) == 0);
    std::ofstream(dir + "/run").put('\n');
    std::string script =
        "cd " + dir +
        " || exit 1; exec 3<>to-d 4<>to-r;"
        " ( while read -r n <&3; do /bin/echo " +
        token + "-d-$n >/dev/null; echo >&4; done ) & i=0; while [ -e run ]; do /bin/echo " + token +
        "-r-$i >/dev/null; echo $i >&3; read -r _ <&4; i=$((i+1)); done; kill $!; echo ended $i";
    Tree r({"/bin/bash", "-c", script});
    pid_t d_pid = wait_descendant(r.pid(), 1, "bash");
    REQUIRE(d_pid != 0);
    Daemon d(daemon_args({"--follow", std::to_string(r.pid())}));
    Stream s(d.socket(), {token});
    // From the stream's first line on: the replay buffer has the lines made
    // while the daemon was starting, before any client could connect.
    REQUIRE(s.wait(
        [&] { return s.find([](const json& l) { return l.value("type", "") == "hello"; }) != nullptr; },
        10s));
    std::string stream_id =
        (*s.find([](const json& l) { return l.value("type", "") == "hello"; }))["stream_id"];
    s.client.send(json{{"type", "subscribe"}, {"since", 0}, {"stream_id", stream_id}}.dump());
    auto turns = [&](char who) {
        std::set<long> n;
        for (const auto& l : s.lines)
            if (l.value("type", "") == "exec" && l["argv"].size() == 2) {
                std::string a = l["argv"][1];
                std::string prefix = token + "-" + who + "-";
                if (a.rfind(prefix, 0) == 0)
                    n.insert(std::stol(a.substr(prefix.size())));
            }
        return n;
    };
    // Well past start-up: 300 of R's turns reported.
    REQUIRE(s.wait([&] { return turns('r').size() >= 300; }, 60s));
    std::filesystem::remove(dir + "/run");
    auto ended = r.expect("ended", 20s);
    REQUIRE(ended);
    long last = ended->at(0) - 1; // R's last turn; D took it too
    REQUIRE(s.wait([&] { return turns('r').count(last) && turns('d').count(last); }, 20s));
    std::set<long> rs = turns('r'), ds = turns('d');
    long first = *rs.begin();
    std::vector<long> missing;
    for (long n = first; n <= last; ++n) {
        if (!rs.count(n))
            missing.push_back(n);
        if (!ds.count(n))
            missing.push_back(-n - 1); // D's turn n, as -n-1
    }
    INFO("R's turns " << first << ".." << last
                      << "; missing (negative: D's turn -n-1): " << json(missing).dump());
    CHECK(missing.empty());
    CHECK(r.wait() == 0);
    std::filesystem::remove_all(dir);
}

TEST_CASE("the kernel's follow set has room for every process with --follow, one entry without",
          "[lineage]") {
    require_root();
    auto max_entries = [](const Daemon& d) {
        auto info = bpf_map_info(d.pid(), "followed");
        return info ? info->value("max_entries", 0u) : 0u;
    };
    {
        Daemon d(daemon_args({}));
        CHECK(max_entries(d) == 1);
    }
    Daemon d(daemon_args({"--follow", std::to_string(getpid())}));
    std::ifstream pid_max("/proc/sys/kernel/pid_max");
    unsigned most = 0;
    pid_max >> most;
    CHECK(max_entries(d) > 1);
    CHECK(max_entries(d) <= most);
}

TEST_CASE("churning 200,000 short-lived processes: the table returns to its start size", "[lineage][churn]") {
    require_root();
    const std::string tool = lineage_tool();
    // No replay buffer: holding the churn's last lines is not the table's
    // memory (its bound is tested in [resume]).
    Daemon d(daemon_args({"--replay-buffer", "0"}));
    std::this_thread::sleep_for(3s); // let start-up churn (the test's own) age out
    auto stats = [&] {
        Stream s(d.socket());
        auto st = s.stats();
        REQUIRE(st);
        return *st;
    };
    // What the table may hold: the live processes, plus those that exited
    // within the grace period (2 s, plus up to a 1 s eviction tick) — other
    // work on a shared machine churns too, so that part is measured from the
    // daemon's exit count over one second.
    struct Look {
        size_t table = 0, live = 0, bound = 0;
        json st;
    };
    auto look = [&] {
        json a = stats();
        std::this_thread::sleep_for(1s);
        Look l;
        l.st = stats();
        l.live = live_process_count();
        l.table = l.st["process_table"].get<size_t>();
        uint64_t exits_per_s = l.st["events"]["exit"].get<uint64_t>() - a["events"]["exit"].get<uint64_t>();
        l.bound = l.live + exits_per_s * 4 + 30;
        return l;
    };
    Look start = look();
    uint64_t rss0 = vm_rss_kib(d.pid());
    // Two spawners (one per core) of vfork + _exit children: a fork and an
    // exit record each.
    auto churn = [&](long per_spawner) {
        auto t0 = std::chrono::steady_clock::now();
        Tree a({tool, "churn", std::to_string(per_spawner)});
        Tree b({tool, "churn", std::to_string(per_spawner)});
        CHECK(a.wait(180s) == 0);
        CHECK(b.wait(180s) == 0);
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    // Past the exit grace and the eviction tick, the table is back.
    auto settled = [&] {
        std::this_thread::sleep_for(2500ms);
        Look l = look();
        for (int i = 0; i < 10 && l.table > l.bound; ++i)
            l = look();
        return l;
    };
    constexpr long per_spawner = 100000;
    double secs = churn(per_spawner);
    uint64_t rss_peak = vm_rss_kib(d.pid());
    Look first = settled();
    uint64_t rss1 = vm_rss_kib(d.pid());
    // A second round: memory stays where the first one left it.
    double secs2 = churn(per_spawner);
    Look second = settled();
    uint64_t rss2 = vm_rss_kib(d.pid());
    WARN("churn: " << 2 * per_spawner << " processes in " << secs << " s (" << 2 * per_spawner / secs
                   << "/s), then again in " << secs2 << " s; events fork " << second.st["events"]["fork"]
                   << " exit " << second.st["events"]["exit"] << ", kernel lost "
                   << second.st["kernel_lost"]["total"] << "; process table " << start.table << " -> "
                   << first.table << " -> " << second.table << " (live processes " << start.live << " -> "
                   << first.live << " -> " << second.live << "; bound " << start.bound << ", " << first.bound
                   << ", " << second.bound << "); VmRSS " << rss0 << " KiB -> " << rss_peak
                   << " KiB at the end of the churn -> " << rss1 << " KiB after eviction -> " << rss2
                   << " KiB after the second round");
    CHECK(second.st["events"]["fork"].get<uint64_t>() >= 4 * per_spawner);
    CHECK(second.st["kernel_lost"]["total"] == 0);
    CHECK(first.table <= first.bound);
    CHECK(second.table <= second.bound);
    // Bounded: no growth from one round to the next. AddressSanitizer's
    // quarantine holds freed memory on purpose, so only a plain build says.
    if (maps_library(d.pid(), "libasan"))
        WARN("VmRSS not checked: the daemon runs under AddressSanitizer");
    else
        CHECK(rss2 <= rss1 + 2048);
}
