// Exit lines' resource usage against what the kernel reports to the parent
// for the same child: wait4()'s rusage (tests/integration/tools/usage_child.c).
#include "harness.hpp"

#include <catch2/catch_test_macros.hpp>
#include <cstdlib>
#include <fstream>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

using namespace execmond::itest;

namespace {

uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t ns_of(const timeval& tv) {
    return static_cast<uint64_t>(tv.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(tv.tv_usec) * 1000u;
}

uint64_t diff(uint64_t a, uint64_t b) {
    return a > b ? a - b : b - a;
}

struct Child {
    pid_t pid = -1;
    int status = 0;
    rusage usage{};
    uint64_t before_spawn = 0, after_wait = 0; // this test's clock around it
    uint64_t self_start = 0, self_end = 0;     // what the child measured itself
};

Child run_usage_child(const std::string& mode) {
    const char* tool = std::getenv("EXECMOND_USAGE_CHILD");
    REQUIRE(tool);
    std::string out = temp_dir() + "/usage-" + mode;
    std::vector<std::string> args{tool, mode, out};
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    Child c;
    c.before_spawn = monotonic_ns();
    REQUIRE(posix_spawn(&c.pid, tool, nullptr, nullptr, argv.data(), environ) == 0);
    REQUIRE(wait4(c.pid, &c.status, 0, &c.usage) == c.pid);
    c.after_wait = monotonic_ns();
    std::ifstream in(out);
    REQUIRE(in >> c.self_start >> c.self_end);
    return c;
}

} // namespace

// Tolerances (docs/protocol.md, "exit"): the probe reads the process at its
// last thread's sched_process_exit; that thread still runs a little after it
// (exit_notify, the final schedule), and wait4() splits the runtime by the
// tick samples taken until then, one tick (4 ms at HZ=250) at most more.
// Each thread burns 150 ms user and 150 ms system time: a thread left out of
// the sum is far outside them.
TEST_CASE("exit lines carry the CPU time, peak RSS and context switches wait4 reports for the child",
          "[pipeline][usage]") {
    if (!is_root())
        SKIP("needs root to load BPF programs");
    Daemon d;
    Client c(d.socket());
    REQUIRE(c.next()); // hello
    c.send(json{{"type", "subscribe"}, {"descendants_of", getpid()}, {"events", {"exit"}}}.dump());
    auto ack = c.until([](const json& l) { return l["type"] == "subscribed" || l["type"] == "error"; });
    REQUIRE(ack);
    REQUIRE((*ack)["type"] == "subscribed");

    for (const char* mode : {"joined", "leader-first"}) {
        INFO("mode " << mode);
        Child child = run_usage_child(mode);
        REQUIRE(WIFEXITED(child.status));
        REQUIRE(WEXITSTATUS(child.status) == 0);
        auto exit = c.until([&](const json& l) { return l["type"] == "exit" && l["pid"] == child.pid; });
        REQUIRE(exit);
        INFO("line " << exit->dump());
        const json& l = *exit;
        REQUIRE(l.contains("cpu_user_ns"));

        uint64_t user = l["cpu_user_ns"], sys = l["cpu_system_ns"];
        uint64_t ru_user = ns_of(child.usage.ru_utime), ru_sys = ns_of(child.usage.ru_stime);
        INFO("wait4: user " << ru_user << " sys " << ru_sys);
        CHECK(ru_user + ru_sys >= 2 * 300'000'000ull); // the child did burn what it says
        CHECK(diff(user + sys, ru_user + ru_sys) <= 5'000'000ull);
        CHECK(diff(user, ru_user) <= 20'000'000ull);
        CHECK(diff(sys, ru_sys) <= 20'000'000ull);

        // Peak RSS: do_exit() raised signal->maxrss before the tracepoint.
        CHECK(l["max_rss_kib"].get<uint64_t>() == static_cast<uint64_t>(child.usage.ru_maxrss));
        CHECK(child.usage.ru_maxrss >= 48 * 1024);

        // Context switches after the tracepoint (the final schedule) are not seen.
        uint64_t nvcsw = l["voluntary_ctxt_switches"], nivcsw = l["nonvoluntary_ctxt_switches"];
        INFO("wait4: nvcsw " << child.usage.ru_nvcsw << " nivcsw " << child.usage.ru_nivcsw);
        CHECK(nvcsw <= static_cast<uint64_t>(child.usage.ru_nvcsw));
        CHECK(static_cast<uint64_t>(child.usage.ru_nvcsw) - nvcsw <= 4);
        CHECK(nivcsw <= static_cast<uint64_t>(child.usage.ru_nivcsw));
        CHECK(static_cast<uint64_t>(child.usage.ru_nivcsw) - nivcsw <= 4);

        // From fork to the end: at least what the child measured of its own
        // life, at most what this test measured around it.
        uint64_t duration = l["duration_ns"];
        CHECK(duration >= child.self_end - child.self_start);
        CHECK(duration <= child.after_wait - child.before_spawn);
    }
    CHECK(d.stop() == 0);
}
