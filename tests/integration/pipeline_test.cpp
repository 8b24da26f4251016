// The core pipeline against the real kernel: probes -> ring -> table ->
// encoder -> socket, as root.
#include "harness.hpp"
#include "trees.hpp"
#include <fstream>

#include <atomic>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <spawn.h>
#include <sstream>
#include <string_view>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

using namespace execmond::itest;

namespace {

void require_root() {
    if (!is_root())
        SKIP("needs root to load BPF programs");
}

// Reads lines until `done` or timeout; returns all of them.
std::vector<json> collect(Client& c, const std::function<bool(const std::vector<json>&)>& done,
                          std::chrono::milliseconds timeout = 10s) {
    std::vector<json> lines;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done(lines) && std::chrono::steady_clock::now() < deadline) {
        auto j = c.next(100ms);
        if (j)
            lines.push_back(*j);
    }
    return lines;
}

const json* find(const std::vector<json>& lines, const char* type, pid_t pid) {
    for (const auto& l : lines)
        if (l["type"] == type && l["pid"] == pid)
            return &l;
    return nullptr;
}

// Narrows the client to this test's own process tree, so a busy machine's
// other processes neither slow the client down nor crowd out its lines.
// Kernel losses (kernel_ring_full) still reach every client.
void follow_this_test(Client& c) {
    c.send(json{{"type", "subscribe"}, {"descendants_of", getpid()}}.dump());
    auto ack = c.until([](const json& l) { return l["type"] == "subscribed" || l["type"] == "error"; });
    REQUIRE(ack);
    REQUIRE((*ack)["type"] == "subscribed");
}

} // namespace

TEST_CASE("a shell running echo: fork, exec, exit lines with argv, ppid chain and exit code", "[pipeline]") {
    require_root();
    Daemon d;
    Client c(d.socket());
    auto hello = c.next();
    REQUIRE(hello);
    CHECK((*hello)["type"] == "hello");

    auto sh = run({"/bin/sh", "-c", "/bin/echo a b; exit 3"});
    REQUIRE(WIFEXITED(sh.status));
    REQUIRE(WEXITSTATUS(sh.status) == 3);

    pid_t echo_pid = 0;
    auto lines = collect(c, [&](const std::vector<json>& ls) {
        for (const auto& l : ls)
            if (l["type"] == "exec" && l["filename"] == "/bin/echo" && l["ppid"] == sh.pid)
                echo_pid = l["pid"].get<pid_t>();
        return echo_pid != 0 && find(ls, "exit", echo_pid) && find(ls, "exit", sh.pid);
    });
    const json* sh_fork = find(lines, "fork", sh.pid);
    const json* sh_exec = find(lines, "exec", sh.pid);
    const json* sh_exit = find(lines, "exit", sh.pid);
    REQUIRE(sh_fork);
    REQUIRE(sh_exec);
    REQUIRE(sh_exit);
    REQUIRE(echo_pid != 0);
    const json* echo_fork = find(lines, "fork", echo_pid);
    const json* echo_exec = find(lines, "exec", echo_pid);
    const json* echo_exit = find(lines, "exit", echo_pid);
    REQUIRE(echo_fork);
    REQUIRE(echo_exec);
    REQUIRE(echo_exit);

    CHECK((*sh_fork)["ppid"] == getpid());
    CHECK((*sh_exec)["ppid"] == getpid());
    CHECK((*sh_exec)["filename"] == "/bin/sh");
    CHECK((*sh_exec)["argv"] == json::array({"/bin/sh", "-c", "/bin/echo a b; exit 3"}));
    CHECK((*sh_exec)["argv_truncated"] == false);
    CHECK((*sh_exec)["uid"] == getuid());
    CHECK((*echo_fork)["ppid"] == sh.pid);
    CHECK((*echo_exec)["ppid"] == sh.pid);
    CHECK((*echo_exec)["argv"] == json::array({"/bin/echo", "a", "b"}));
    CHECK((*echo_exec)["comm"] == "echo");
    CHECK((*echo_exit)["exit_code"] == 0);
    CHECK((*sh_exit)["exit_code"] == 3);
    CHECK((*sh_exit)["signal"].is_null());
    // The nearest ancestor of echo is the shell, then this test.
    REQUIRE((*echo_exec)["ancestors"].size() >= 2);
    CHECK((*echo_exec)["ancestors"][0]["pid"] == sh.pid);
    CHECK((*echo_exec)["ancestors"][1]["pid"] == getpid());
    CHECK((*echo_exec)["parent_key"] == (*sh_exec)["key"]);
    // Order on the stream is causal: fork, then exec, then exit.
    auto index = [&](const json* l) {
        return l - lines.data();
    };
    CHECK(index(echo_fork) < index(echo_exec));
    CHECK(index(echo_exec) < index(echo_exit));
    CHECK(index(echo_exit) < index(sh_exit));
    CHECK(d.stop() == 0);
}

TEST_CASE("a process killed by a signal reports it", "[pipeline]") {
    require_root();
    Daemon d;
    Client c(d.socket());
    pid_t pid = spawn({"/bin/sleep", "30"});
    auto exec = c.until([&](const json& l) { return l["type"] == "exec" && l["pid"] == pid; });
    REQUIRE(exec);
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    auto exit = c.until([&](const json& l) { return l["type"] == "exit" && l["pid"] == pid; });
    REQUIRE(exit);
    CHECK((*exit)["signal"] == 9);
    CHECK((*exit)["exit_code"] == 0);
}

namespace {

// tests/integration/tools/exit_race, next to the test binary (or $EXECMOND_EXIT_RACE).
std::string exit_race_path() {
    if (const char* p = std::getenv("EXECMOND_EXIT_RACE"))
        return p;
    return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "exit_race").string();
}

} // namespace

TEST_CASE("threads are not processes: exactly one exit line per process, however its threads die",
          "[pipeline]") {
    require_root();
    Daemon d;
    Client c(d.socket());
    follow_this_test(c);
    // 3,000 processes whose 9 threads all call exit_group() at once, 2 at a
    // time: several threads of one process reach the exit tracepoint together.
    const int total = 3000;
    std::mutex mutex;
    std::vector<json> lines;
    std::atomic<bool> reading{true};
    std::thread reader([&] {
        while (reading) {
            auto l = c.next(100ms);
            if (!l)
                continue;
            std::lock_guard lock(mutex);
            lines.push_back(std::move(*l));
        }
    });
    auto out = capture(exit_race_path() + " " + std::to_string(total) + " 2; echo rc=$?");
    // Read well past the children's exits: a marker started after every child
    // was reaped has its records queued behind all of theirs in the ring.
    auto marker = run({"/bin/true", "exit-race-marker"});
    auto deadline = std::chrono::steady_clock::now() + 30s;
    bool marker_seen = false;
    while (!marker_seen && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
        std::lock_guard lock(mutex);
        marker_seen = find(lines, "exit", marker.pid) != nullptr;
    }
    reading = false;
    reader.join();
    std::istringstream in(out);
    pid_t race = 0;
    int reaped = 0;
    for (std::string word; in >> word;) {
        if (word == "race")
            in >> race;
        reaped += word == "child";
    }
    INFO(out.substr(out.size() > 200 ? out.size() - 200 : 0));
    REQUIRE(out.find("rc=0") != std::string::npos);
    REQUIRE(reaped == total);
    REQUIRE(marker_seen);

    // The children, in stream order: a pid may be reused within the run (its
    // threads take pids too), so each exit goes to the latest fork of its pid.
    struct Child {
        std::string key;
        int exits = 0;
        int wrong_code = 0;
        int wrong_key = 0;
    };
    std::vector<Child> children;
    std::map<pid_t, size_t> latest;
    int thread_forks = 0;
    for (const auto& l : lines) {
        if (!l.contains("pid"))
            continue;
        pid_t pid = l["pid"].get<pid_t>(), ppid = l["ppid"].get<pid_t>();
        if (l["type"] == "fork" && ppid == race) {
            latest[pid] = children.size();
            children.push_back({l.value("key", "")});
        } else if (l["type"] == "fork" && latest.count(ppid)) {
            ++thread_forks;
        } else if (l["type"] == "exit" && latest.count(pid)) {
            Child& child = children[latest[pid]];
            ++child.exits;
            child.wrong_code += l["exit_code"] != 7;
            // The process's own identity, not that of the thread that went last.
            child.wrong_key += l.value("key", "") != child.key;
        }
    }
    int none = 0, twice = 0, wrong_code = 0, wrong_key = 0;
    for (const Child& child : children) {
        none += child.exits == 0;
        twice += child.exits > 1;
        wrong_code += child.wrong_code;
        wrong_key += child.wrong_key;
    }
    c.send(R"({"type":"stats"})");
    auto stats = c.until([](const json& l) { return l["type"] == "stats"; });
    REQUIRE(stats);
    WARN(total << " processes dying by exit_group() from 9 threads at once: " << twice
               << " with more than one exit line, " << none << " with none, " << wrong_key
               << " exit lines whose key is not the fork's; the daemon dropped "
               << (*stats)["duplicate_exits"] << " duplicate exit records from the kernel");
    CHECK(children.size() == static_cast<size_t>(total));
    CHECK(thread_forks == 0);
    CHECK(none == 0);
    CHECK(twice == 0);
    CHECK(wrong_code == 0);
    CHECK(wrong_key == 0);
}

TEST_CASE("filename is the kernel's name for the file: /dev/fd/N[/path] for execveat and fexecve",
          "[pipeline]") {
    require_root();
    Daemon d;
    Client c(d.socket());
    follow_this_test(c);
    // Each child execs /bin/true (argv[1] names the case) and reports the fd it used.
    auto exec_via = [](const char* how) {
        int p[2];
        REQUIRE(pipe(p) == 0);
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            char* argv[] = {const_cast<char*>("true"), const_cast<char*>(how), nullptr};
            int fd = std::string_view(how) == "execveat" ? open("/bin", O_RDONLY | O_DIRECTORY)
                                                         : open("/bin/true", O_RDONLY);
            (void)!write(p[1], &fd, sizeof(fd));
            close(p[1]);
            if (std::string_view(how) == "execveat")
                syscall(SYS_execveat, fd, "true", argv, environ, 0);
            else
                fexecve(fd, argv, environ);
            _exit(127);
        }
        close(p[1]);
        int fd = -1;
        REQUIRE(read(p[0], &fd, sizeof(fd)) == static_cast<ssize_t>(sizeof(fd)));
        close(p[0]);
        int status = 0;
        waitpid(pid, &status, 0);
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) == 0);
        return std::make_pair(pid, fd);
    };
    auto [at_pid, at_fd] = exec_via("execveat");
    auto [f_pid, f_fd] = exec_via("fexecve");
    auto exec_of = [&](pid_t pid) {
        return c.until([&](const json& l) { return l["type"] == "exec" && l["pid"] == pid; });
    };
    auto at = exec_of(at_pid);
    REQUIRE(at);
    CHECK((*at)["filename"] == "/dev/fd/" + std::to_string(at_fd) + "/true");
    auto f = exec_of(f_pid);
    REQUIRE(f);
    CHECK((*f)["filename"] == "/dev/fd/" + std::to_string(f_fd));
    CHECK((*f)["argv"] == json::array({"true", "fexecve"}));
}

TEST_CASE("10,000 spawned execs all arrive, with no lost line", "[pipeline][storm]") {
    require_root();
    // The same spawner without execmond, for the cost figure in the report.
    const int baseline_n = 2000;
    auto b0 = std::chrono::steady_clock::now();
    for (int i = 0; i < baseline_n; ++i)
        run({"/bin/true", "baseline"});
    double baseline_rate =
        baseline_n / std::chrono::duration<double>(std::chrono::steady_clock::now() - b0).count();
    Daemon d;
    Client c(d.socket());
    REQUIRE(c.next()); // hello
    follow_this_test(c);
    const int total = 10000;
    const std::string token = "execmond-it-" + std::to_string(getpid());
    std::set<int> seen;
    int lost_lines = 0;
    std::atomic<bool> spawning{true};
    std::thread reader([&] {
        while (true) {
            auto line = c.next_line(spawning ? 5s : 2s);
            if (!line)
                break;
            if (line->find("\"lost\"") != std::string::npos)
                ++lost_lines;
            auto pos = line->find(token + "-");
            if (pos != std::string::npos && line->find("\"type\":\"exec\"") != std::string::npos)
                seen.insert(std::stoi(line->substr(pos + token.size() + 1)));
            if (static_cast<int>(seen.size()) == total)
                break;
        }
    });
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < total; ++i) {
        auto r = run({"/bin/true", token + "-" + std::to_string(i)});
        REQUIRE(WIFEXITED(r.status));
    }
    auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    spawning = false;
    reader.join();
    WARN("10,000 execs spawned in " << elapsed << " s (" << total / elapsed << " execs/s) under execmond; "
                                    << baseline_rate << " execs/s without it (ratio "
                                    << total / elapsed / baseline_rate << ")");
    CHECK(static_cast<int>(seen.size()) == total);
    CHECK(lost_lines == 0);
}

namespace {

// How often the daemon's main thread went to sleep, as the kernel counts it.
uint64_t voluntary_switches(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("voluntary_ctxt_switches:", 0) == 0)
            return std::stoull(line.substr(line.find(':') + 1));
    FAIL("no voluntary_ctxt_switches for " << pid);
    return 0;
}

} // namespace

TEST_CASE("at a low rate a process's fork, exec and exit wake the daemon once, and every line comes",
          "[pipeline][wakeups]") {
    require_root();
    // kernel: a BPF timer batches the wake-ups, one sleep of the daemon per
    // process. reader: the daemon's own timer, woken by the fork and then by
    // its timer, two.
    auto [mode, sleeps_per_process] = GENERATE(std::pair<std::string, double>{"kernel", 1.5},
                                               std::pair<std::string, double>{"reader", 2.5});
    INFO("--wakeup-timer " << mode);
    // Only this test's processes reach the ring: nothing else on the machine wakes the reader.
    Daemon d({"--follow", std::to_string(getpid()), "--wakeup-timer", mode});
    Client c(d.socket());
    REQUIRE(c.next()); // hello
    auto wakeups = [&] {
        c.send(R"({"type":"stats"})");
        auto stats = c.until([](const json& l) { return l["type"] == "stats"; });
        REQUIRE(stats);
        return (*stats)["wakeups"].get<uint64_t>();
    };
    uint64_t before = wakeups();
    uint64_t slept_before = voluntary_switches(d.pid());
    // Twenty processes 50 ms apart, far more than the 1 ms latency bound:
    // each is a burst of its own. The static no-op exits within microseconds
    // of its exec, well inside one period.
    const int n = 20;
    std::set<pid_t> pids;
    for (int i = 0; i < n; ++i) {
        auto r = run({noop_path(), "execmond-wakeups"});
        REQUIRE(WIFEXITED(r.status));
        pids.insert(r.pid);
        std::this_thread::sleep_for(50ms);
    }
    // Every process's three lines, the pids as waitpid() gave them.
    std::map<pid_t, std::set<std::string>> lines;
    auto all_in = [&] {
        for (pid_t p : pids)
            if (lines[p].size() != 3)
                return false;
        return true;
    };
    while (!all_in()) {
        auto l = c.next(5s);
        REQUIRE(l);
        if (l->contains("pid") && pids.count((*l)["pid"].get<pid_t>()) && l->contains("type"))
            lines[(*l)["pid"].get<pid_t>()].insert((*l)["type"].get<std::string>());
    }
    // Before the stats request below, whose answer wakes the daemon too.
    uint64_t slept = voluntary_switches(d.pid()) - slept_before;
    uint64_t woken = wakeups() - before;
    INFO("wake-ups for " << n << " processes: " << woken << "; the daemon slept " << slept << " times");
    // Per process one wake-up of the reader (exec and exit wait for the
    // timer the fork's record armed), give or take a process whose exit
    // missed its period. Waking for each record we had caught up with took
    // 1.8-2 per process.
    CHECK(woken <= n * 3 / 2);
    // Sleeps include the 1 s tick and this test's first stats request.
    CHECK(static_cast<double>(slept) <= n * sleeps_per_process);
}

TEST_CASE("--wakeup-timer kernel where no kernel timer can do it: a clear error, no probes left",
          "[pipeline][wakeups]") {
    require_root();
    // Classic tracepoints may not use a timer map; latency 0 has no period.
    for (const char* extra : {"--probe-mode=classic", "--latency-us=0"}) {
        INFO(extra);
        auto before = bpf_program_ids();
        std::string out =
            capture("timeout 10 '" + daemon_path() + "' --wakeup-timer kernel " + extra + " --socket '" +
                    temp_dir() + "/refused.sock' --state-dir '' 2>&1; echo \"exit=$?\"");
        CHECK(out.find("--wakeup-timer kernel: ") != std::string::npos);
        CHECK(out.find("exit=1") != std::string::npos);
        CHECK(bpf_program_ids() == before);
    }
}

TEST_CASE("SIGTERM in the middle of an exec storm: exit 0, nothing of ours left", "[pipeline][storm]") {
    require_root();
    Daemon d;
    // The daemon's own fds name its programs and links: other BPF users on
    // the machine cannot disturb the count.
    auto ours = bpf_ids_of(d.pid(), "prog_id");
    auto our_links = bpf_ids_of(d.pid(), "link_id");
    REQUIRE(ours.size() >= 3);
    REQUIRE(our_links.size() >= 3);

    Client c(d.socket());
    std::atomic<bool> stop{false};
    std::vector<std::thread> storm;
    for (int t = 0; t < 2; ++t)
        storm.emplace_back([&] {
            while (!stop)
                run({"/bin/true"});
        });
    std::this_thread::sleep_for(500ms);
    std::chrono::milliseconds took{};
    int status = d.stop(5s, &took);
    stop = true;
    for (auto& t : storm)
        t.join();
    REQUIRE(status != -1);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    // How long is a figure (the design aims under 1 s: a 300 ms drain, a 400 ms
    // flush); the sanitized daemon is slower. Stuck would be 5 s: status -1.
    WARN("stopped in " << took.count() << " ms under an exec storm");
    auto progs_after = bpf_program_ids();
    for (int id : ours)
        CHECK_FALSE(progs_after.count(id));
    auto links_after = bpf_link_ids();
    for (int id : our_links)
        CHECK_FALSE(links_after.count(id));
    CHECK(access(d.socket().c_str(), F_OK) != 0); // socket file removed
}

TEST_CASE("without privileges: one clear line and exit code 4", "[pipeline][errors]") {
    require_root();
    std::string dir = temp_dir();
    auto out = capture("setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all " + daemon_path() +
                       " --config /dev/null --socket " + dir + "/x.sock 2>&1; echo rc=$?");
    CHECK(out.find("needs root or CAP_BPF and CAP_PERFMON") != std::string::npos);
    CHECK(out.find("rc=4") != std::string::npos);
}

TEST_CASE("bad flags and an uncreatable socket fail with a message, not a crash", "[pipeline][errors]") {
    auto bogus = capture(daemon_path() + " --bogus 2>&1; echo rc=$?");
    CHECK(bogus.find("unrecognised option '--bogus'") != std::string::npos);
    CHECK(bogus.find("rc=2") != std::string::npos);
    if (!is_root())
        return;
    auto sock =
        capture(daemon_path() +
                " --config /dev/null --log-target stderr --socket /proc/execmond/x.sock 2>&1; echo rc=$?");
    CHECK(sock.find("create socket directory /proc/execmond") != std::string::npos);
    CHECK(sock.find("rc=1") != std::string::npos);
}

TEST_CASE("a socket already served by another daemon is not stolen", "[pipeline][errors]") {
    require_root();
    Daemon d;
    auto out = capture(daemon_path() + " --config /dev/null --log-target stderr --socket " + d.socket() +
                       " 2>&1; echo rc=$?");
    CHECK(out.find("is in use") != std::string::npos);
    CHECK(out.find("rc=1") != std::string::npos);
    Client c(d.socket()); // the first daemon still serves
    CHECK(c.next());
}
