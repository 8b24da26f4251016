#include "process_table.hpp"
#include "record_builder.hpp"
#include "record_decoder.hpp"

#include <catch2/catch_test_macros.hpp>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace execmond;
namespace fs = std::filesystem;

namespace {

// A fake /proc with just the files the reader opens.
struct FakeProc {
    fs::path root;
    FakeProc() {
        char tmpl[] = "/tmp/execmond-proc-XXXXXX";
        root = mkdtemp(tmpl);
    }
    ~FakeProc() { fs::remove_all(root); }
    void add(Pid pid, Pid ppid, uint64_t start_ticks, const std::string& comm, uint32_t uid = 0) {
        fs::create_directories(root / std::to_string(pid));
        std::ofstream(root / std::to_string(pid) / "stat")
            << pid << " (" << comm << ") S " << ppid << " 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 "
            << start_ticks << " 1000 100\n";
        std::ofstream(root / std::to_string(pid) / "status")
            << "Name:\t" << comm << "\nUid:\t" << uid << "\t" << uid << "\t" << uid << "\t" << uid
            << "\nGid:\t0\t0\t0\t0\nNSpid:\t" << pid << "\n";
    }
    void remove(Pid pid) { fs::remove_all(root / std::to_string(pid)); }
};

// Events are views into their record, so the records live as long as the test binary.
Event event(std::vector<char> bytes) {
    static std::deque<std::vector<char>> records;
    const auto& kept = records.emplace_back(std::move(bytes));
    return std::get<Event>(decode_record(kept.data(), kept.size()));
}

Event fork_of(Pid pid, Pid ppid, uint64_t start_ns) {
    auto e = event(test::fork_record(pid, ppid, "sh"));
    e.start_boottime_ns = start_ns;
    e.ktime_ns = start_ns;
    return e;
}

Event exec_of(Pid pid, Pid ppid, uint64_t start_ns, const char* filename) {
    auto e = event(test::exec_record(pid, ppid, "prog", filename, ""));
    e.start_boottime_ns = start_ns;
    return e;
}

Event exit_of(Pid pid, Pid ppid, uint64_t start_ns, uint64_t at_ns) {
    auto e = event(test::exit_record(pid, ppid, "sh", 0));
    e.start_boottime_ns = start_ns;
    e.ktime_ns = at_ns;
    return e;
}

} // namespace

TEST_CASE("seeding many processes over several threads reads each exactly once, in /proc's order",
          "[table][proc]") {
    FakeProc proc;
    for (Pid pid = 2; pid < 1002; ++pid)
        proc.add(pid, pid / 2, 1000 + pid, "p" + std::to_string(pid), pid % 7);
    // Listed but gone by the time it is read (a directory without files).
    fs::create_directories(proc.root / "5000");
    ProcReader reader(proc.root.string());
    auto pids = reader.list_pids();
    REQUIRE(pids.size() == 1001);
    auto one = reader.read_all(1);
    auto many = reader.read_all(4);
    REQUIRE(one.size() == 1000);
    REQUIRE(many.size() == 1000);
    size_t k = 0;
    for (Pid pid : pids) {
        if (pid == 5000)
            continue;
        INFO("pid " << pid);
        CHECK(one[k].pid == pid);
        CHECK(many[k].pid == pid);
        CHECK(many[k].ppid == pid / 2);
        CHECK(many[k].start_ticks == 1000 + pid);
        CHECK(many[k].comm == "p" + std::to_string(pid));
        CHECK(many[k].uid == pid % 7);
        ++k;
    }
    ProcessTable t{ProcReader(proc.root.string())};
    t.seed();
    CHECK(t.size() == 1000);
    REQUIRE(t.find(777));
    CHECK(t.find(777)->ppid == 388);
}

TEST_CASE("seeding reads everything on one thread when no more threads can be had", "[table][proc]") {
    FakeProc proc;
    for (Pid pid = 2; pid < 1002; ++pid)
        proc.add(pid, 1, 1000 + pid, "p");
    fs::permissions(proc.root, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                   fs::perms::others_read | fs::perms::others_exec);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // A user at its process limit: every thread creation fails with EAGAIN.
        if (getuid() == 0 && setuid(65534) != 0)
            _exit(3);
        rlimit one{1, 1};
        if (setrlimit(RLIMIT_NPROC, &one) != 0)
            _exit(4);
        try {
            _exit(ProcReader(proc.root.string()).read_all(4).size() == 1000 ? 0 : 1);
        } catch (...) {
            _exit(2);
        }
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("seeded processes have keys that match the probes' start times", "[table]") {
    FakeProc proc;
    proc.add(1, 0, 5, "init");
    proc.add(100, 1, 1234, "bash", 1000);
    ProcessTable t{ProcReader(proc.root.string())};
    t.seed();
    REQUIRE(t.size() == 2);
    CHECK(t.find(100)->key() == "100:1234");
    CHECK(t.find(100)->uid == 1000);
    // An exec of the seeded bash carries start_boottime in ns: same key.
    const auto& p = t.on_exec(exec_of(100, 1, 1234 * ns_per_tick() + 5'000'000, "/bin/ls"));
    CHECK(p.key() == "100:1234");
    CHECK(t.size() == 2);
}

TEST_CASE("ancestors: nearest first, up to pid 1, bounded by depth", "[table]") {
    FakeProc proc;
    proc.add(1, 0, 1, "init");
    ProcessTable t{ProcReader(proc.root.string())};
    t.seed();
    uint64_t start = 10 * ns_per_tick();
    Pid parent = 1;
    for (Pid pid = 2; pid < 300; ++pid) {
        t.on_fork(fork_of(pid, parent, start));
        parent = pid;
    }
    std::vector<const ProcessInfo*> out;
    t.ancestors(299, 64, out);
    REQUIRE(out.size() == 64);
    CHECK(out[0]->pid == 299);
    CHECK(out[63]->pid == 236);
    t.ancestors(299, 1000, out);
    CHECK(out.size() == 299);
    CHECK(out.back()->pid == 1);
}

TEST_CASE("a reused pid never inherits the old process's lineage", "[table]") {
    FakeProc proc;
    proc.add(1, 0, 1, "init");
    proc.add(50, 1, 2, "old-parent");
    ProcessTable t{ProcReader(proc.root.string())};
    t.seed();
    t.on_fork(fork_of(77, 50, 100 * ns_per_tick()));
    t.on_exec(exec_of(77, 50, 100 * ns_per_tick(), "/old/image"));
    // 77 exits, but its exit record was lost; later a new 77 appears whose
    // first record is an exec (its fork was not seen).
    const auto& p = t.on_exec(exec_of(77, 1, 900 * ns_per_tick(), "/new/image"));
    CHECK(p.key() == "77:900");
    CHECK(p.ppid == 1);
    CHECK(p.fork_ppid == 0); // the old fork-time parent is not inherited
    CHECK(p.filename == "/new/image");
}

TEST_CASE("exits are evicted after the grace period; the table returns to its size", "[table]") {
    FakeProc proc;
    proc.add(1, 0, 1, "init");
    ProcessTable t{ProcReader(proc.root.string())};
    t.seed();
    size_t start_size = t.size();
    uint64_t now = 1'000'000'000'000ull;
    for (Pid pid = 1000; pid < 21000; ++pid) {
        uint64_t start = now + pid * 1000;
        t.on_fork(fork_of(pid, 1, start));
        t.on_exec(exec_of(pid, 1, start, "/bin/true"));
        t.on_exit(exit_of(pid, 1, start, start + 1000));
        t.evict_expired(start);
    }
    CHECK(t.size() > start_size); // still inside the grace period
    t.evict_expired(now + 21000 * 1000 + ProcessTable::exit_grace_ns + 1000);
    CHECK(t.size() == start_size);
    CHECK(t.pending_evictions() == 0);
}

TEST_CASE("eviction spares a pid reused during the grace period", "[table]") {
    FakeProc proc;
    ProcessTable t{ProcReader(proc.root.string())};
    t.on_fork(fork_of(5, 1, 10 * ns_per_tick()));
    t.on_exit(exit_of(5, 1, 10 * ns_per_tick(), 11 * ns_per_tick()));
    t.on_fork(fork_of(5, 1, 20 * ns_per_tick()));
    t.evict_expired(20 * ns_per_tick() + ProcessTable::exit_grace_ns * 2);
    REQUIRE(t.find(5));
    CHECK(t.find(5)->key() == "5:20");
    CHECK_FALSE(t.find(5)->exited);
}

TEST_CASE("an orphan's ancestors show its new parent, re-read from /proc", "[table]") {
    FakeProc proc;
    proc.add(1, 0, 1, "init");
    proc.add(10, 1, 2, "subreaper");
    ProcessTable t{ProcReader(proc.root.string())};
    t.seed();
    uint64_t s = 100 * ns_per_tick();
    t.on_fork(fork_of(20, 10, s)); // spawner
    t.on_fork(fork_of(30, 20, s)); // the daemonized child
    t.on_exit(exit_of(20, 10, s, s + 1));
    // The kernel reparented 30 to the subreaper 10.
    proc.add(30, 10, 100, "daemon");
    std::vector<const ProcessInfo*> out;
    t.ancestors(30, 64, out);
    REQUIRE(out.size() == 3);
    CHECK(out[0]->pid == 30);
    CHECK(out[1]->pid == 10);
    CHECK(out[2]->pid == 1);
    CHECK(t.find(30)->fork_ppid == 20); // the original spawner stays visible
}

TEST_CASE("descends_from follows the current parents", "[table]") {
    FakeProc proc;
    ProcessTable t{ProcReader(proc.root.string())};
    t.on_fork(fork_of(2, 1, 1 * ns_per_tick()));
    t.on_fork(fork_of(3, 2, 2 * ns_per_tick()));
    t.on_fork(fork_of(4, 1, 3 * ns_per_tick()));
    CHECK(t.descends_from(3, 2));
    CHECK(t.descends_from(3, 1));
    CHECK_FALSE(t.descends_from(4, 2));
}

TEST_CASE("current_parent: a fork-map parent that exited is replaced by /proc's", "[table]") {
    FakeProc proc;
    proc.add(1, 0, 1, "init");
    proc.add(10, 1, 2, "subreaper");
    ProcessTable t{ProcReader(proc.root.string())};
    t.seed();
    uint64_t s = 100 * ns_per_tick();
    t.on_fork(fork_of(20, 10, s));
    t.on_fork(fork_of(30, 20, s));
    proc.add(30, 20, 100, "daemon");
    CHECK(t.current_parent(30, 20) == 20); // the parent lives: no /proc read needed
    t.on_exit(exit_of(20, 10, s, s + 1));
    proc.add(30, 10, 100, "daemon");
    CHECK(t.current_parent(30, 20) == 10);
    CHECK(t.current_parent(30, 0) == 10); // unknown parent: /proc tells
    // A different process on pid 30 per /proc: keep what the probe said.
    proc.add(30, 1, 500, "stranger");
    CHECK(t.current_parent(30, 20) == 20);
}

TEST_CASE("with /proc disabled (child pid namespace) nothing is read from it", "[table]") {
    FakeProc proc;
    proc.add(1, 0, 1, "init");
    proc.add(30, 10, 100, "daemon");
    ProcessTable t{ProcReader(proc.root.string())};
    t.disable_proc();
    t.seed();
    CHECK(t.size() == 0);
    CHECK(t.current_parent(30, 20) == 20);
}

TEST_CASE("a fork timed a tick before the task's start is still the same process", "[table]") {
    FakeProc proc;
    ProcessTable t{ProcReader(proc.root.string())};
    // The classic probes' fork time: just before a tick boundary; the exec
    // reads the real start time: just after it.
    t.on_fork(fork_of(40, 1, 100 * ns_per_tick() - 1));
    const auto& p = t.on_exec(exec_of(40, 1, 100 * ns_per_tick() + 1, "/bin/true"));
    CHECK(p.fork_ppid == 1);
    CHECK(p.key() == "40:99"); // the key its fork line had
    // An exited process a tick later is another one.
    t.on_exit(exit_of(40, 1, 100 * ns_per_tick() + 1, 101 * ns_per_tick()));
    const auto& q = t.on_exec(exec_of(40, 7, 101 * ns_per_tick(), "/bin/new"));
    CHECK(q.key() == "40:101");
    CHECK(q.fork_ppid == 0);
}

TEST_CASE("a second exit of one process is a duplicate, whichever thread's start it carries", "[table]") {
    FakeProc proc;
    ProcessTable t{ProcReader(proc.root.string())};
    uint64_t s = 100 * ns_per_tick();
    t.on_fork(fork_of(20, 1, s));
    auto first = t.on_exit(exit_of(20, 1, s, s + 50 * ns_per_tick()));
    CHECK_FALSE(first.duplicate);
    CHECK(first.process.key() == "20:100");
    // Two threads saw the group die: the same start, or a later thread's.
    auto same = t.on_exit(exit_of(20, 1, s, s + 50 * ns_per_tick() + 10));
    CHECK(same.duplicate);
    auto thread = t.on_exit(exit_of(20, 1, s + 30 * ns_per_tick(), s + 50 * ns_per_tick() + 20));
    CHECK(thread.duplicate);
    // Without a start time (fork-map probes) the exited entry decides.
    auto unknown = t.on_exit(exit_of(20, 1, 0, s + 50 * ns_per_tick() + 30));
    CHECK(unknown.duplicate);
    REQUIRE(t.find(20));
    CHECK(t.find(20)->key() == "20:100");
    CHECK(t.pending_evictions() == 1);
}

TEST_CASE("an exit of a process that reused an exited pid is not a duplicate", "[table]") {
    FakeProc proc;
    ProcessTable t{ProcReader(proc.root.string())};
    uint64_t s = 100 * ns_per_tick();
    t.on_fork(fork_of(20, 1, s));
    CHECK_FALSE(t.on_exit(exit_of(20, 1, s, s + ns_per_tick())).duplicate);
    // Its fork was lost (ring full): the new process started after the old exit.
    auto reused = t.on_exit(exit_of(20, 1, s + 5 * ns_per_tick(), s + 9 * ns_per_tick()));
    CHECK_FALSE(reused.duplicate);
    CHECK(reused.process.key() == "20:105");
    // And with its fork seen, the same.
    t.on_fork(fork_of(20, 1, s + 20 * ns_per_tick()));
    CHECK_FALSE(t.on_exit(exit_of(20, 1, s + 20 * ns_per_tick(), s + 21 * ns_per_tick())).duplicate);
}

TEST_CASE("each exec keeps its own cwd, exe and ids when identities are shared between processes",
          "[table]") {
    FakeProc proc;
    ProcessTable table{ProcReader(proc.root.string())};
    auto exec_in = [&](Pid pid, const char* cwd, const char* exe, uint32_t auid) {
        table.on_fork(fork_of(pid, 1, pid * 1000ull));
        Event e = exec_of(pid, 1, pid * 1000ull, exe);
        e.identity_known = true;
        e.cwd = cwd;
        e.exe = exe;
        e.audit_known = true;
        e.auid = auid;
        e.session_id = 3;
        return table.on_exec(e).identity();
    };
    // A, then B elsewhere, then A's place again, then A's place as another user.
    exec_in(100, "/srv/a", "/usr/bin/make", 1000);
    exec_in(101, "/srv/b", "/usr/bin/make", 1000);
    exec_in(102, "/srv/a", "/usr/bin/make", 1000);
    exec_in(103, "/srv/a", "/usr/bin/cc", 1000);
    exec_in(104, "/srv/a", "/usr/bin/cc", 1001);
    struct Want {
        Pid pid;
        const char* cwd;
        const char* exe;
        uint32_t auid;
    };
    for (Want w : {Want{100, "/srv/a", "/usr/bin/make", 1000}, Want{101, "/srv/b", "/usr/bin/make", 1000},
                   Want{102, "/srv/a", "/usr/bin/make", 1000}, Want{103, "/srv/a", "/usr/bin/cc", 1000},
                   Want{104, "/srv/a", "/usr/bin/cc", 1001}}) {
        INFO("pid " << w.pid);
        const ProcessIdentity& id = table.find(w.pid)->identity();
        REQUIRE(id.known);
        REQUIRE(id.cwd == w.cwd);
        REQUIRE(id.exe == w.exe);
        REQUIRE(id.auid == w.auid);
        REQUIRE(id.session_id == 3);
    }
}
