#include "record_builder.hpp"
#include "record_decoder.hpp"

#include <catch2/catch_test_macros.hpp>
#include <deque>
#include <unistd.h>

using namespace execmond;

namespace {
// An Event views its record: keep every record alive for the whole run.
Event decode_ok(std::vector<char> bytes) {
    static std::deque<std::vector<char>> records;
    const auto& kept = records.emplace_back(std::move(bytes));
    auto r = decode_record(kept.data(), kept.size());
    REQUIRE(std::holds_alternative<Event>(r));
    return std::get<Event>(r);
}
std::string decode_err(const std::vector<char>& bytes) {
    auto r = decode_record(bytes.data(), bytes.size());
    REQUIRE(std::holds_alternative<DecodeError>(r));
    return std::get<DecodeError>(r).message;
}
} // namespace

TEST_CASE("an exec record decodes to its filename and argument area", "[decoder]") {
    using namespace std::string_view_literals;
    auto e = decode_ok(test::exec_record(42, 7, "echo", "/bin/echo", "/bin/echo\0a\0b\0"sv));
    CHECK(e.kind == EventKind::exec);
    CHECK(e.pid == 42);
    CHECK(e.ppid == 7);
    CHECK(e.comm == "echo");
    CHECK(e.filename == "/bin/echo");
    CHECK(e.args == "/bin/echo\0a\0b\0"sv);
    CHECK_FALSE(e.args_truncated);
}

TEST_CASE("an exec record's who and where: cwd, exe, interp sections and their members", "[decoder]") {
    test::Identity id;
    id.interp = "/bin/sh";
    id.flags = EXECMOND_EXEC_FILELESS | EXECMOND_EXEC_SECURE | EXECMOND_EXEC_CWD_TRUNCATED;
    auto e = decode_ok(test::with_identity(test::exec_record(42, 7, "x", "/x", std::string("x\0", 2)), id));
    REQUIRE(e.identity_known);
    REQUIRE(e.audit_known);
    CHECK(e.args == std::string("x\0", 2));
    CHECK(e.cwd == "/home/u/src");
    CHECK(e.exe == "/usr/bin/echo");
    CHECK(e.interpreter == "/bin/sh");
    CHECK(e.cwd_truncated);
    CHECK_FALSE(e.exe_truncated);
    CHECK(e.fileless);
    CHECK(e.secure_exec);
    CHECK(e.auid == 1000);
    CHECK(e.session_id == 3);
    CHECK(e.tty_dev == ((136u << 8) | 3));
    CHECK(e.exe_file.ino == 1835041);
    CHECK(e.exe_file.mode == 0100755);
}

TEST_CASE("records whose probes cannot read who and where say so", "[decoder]") {
    auto e = decode_ok(test::exec_record(42, 7, "x", "/x", ""));
    CHECK_FALSE(e.identity_known);
    CHECK_FALSE(e.audit_known);
    CHECK(e.cwd.empty());
}

TEST_CASE("identity section lengths are checked against the record", "[decoder]") {
    auto ok = test::with_identity(test::exec_record(42, 7, "x", "/x", ""), test::Identity{});
    auto* x = reinterpret_cast<execmond_exec*>(ok.data());
    SECTION("a cwd longer than the record") {
        x->cwd_len += 1;
        CHECK(decode_err(ok).find("do not match") != std::string::npos);
    }
    SECTION("an interpreter over its bound") {
        x->interp_len = EXECMOND_INTERP_MAX + 1;
        CHECK(decode_err(ok).find("interp 257") != std::string::npos);
    }
    SECTION("an exe over its bound") {
        x->exe_len = EXECMOND_PATH_MAX + 1;
        CHECK(decode_err(ok).find("do not match") != std::string::npos);
    }
}

TEST_CASE("an argument area larger than the record flags truncation", "[decoder]") {
    auto e = decode_ok(test::exec_record(42, 7, "x", "/x", std::string(100, 'a'), 100000));
    CHECK(e.args_truncated);
}

TEST_CASE("a comm of 16 bytes without NUL stays within the record", "[decoder]") {
    auto e = decode_ok(test::fork_record(9, 1, "abcdefghijklmnopqrstuv"));
    CHECK(e.comm == "abcdefghijklmnop");
    CHECK(e.parent_comm == "abcdefghijklmnop");
}

TEST_CASE("fork and exit records decode", "[decoder]") {
    auto f = decode_ok(test::fork_record(9, 1, "bash"));
    CHECK(f.kind == EventKind::fork);
    CHECK(f.parent_start_boottime_ns == 1'000'000'000ull);
    auto x = decode_ok(test::exit_record(9, 1, "bash", 3 << 8));
    CHECK(x.kind == EventKind::exit);
    CHECK(x.exit_status == 0x300);
}

TEST_CASE("malformed records are rejected with a reason, never read past", "[decoder]") {
    auto exec = test::exec_record(42, 7, "echo", "/bin/echo", std::string("a\0b\0", 4));
    SECTION("shorter than a header") {
        std::vector<char> tiny(10);
        CHECK(decode_err(tiny).find("shorter than its header") != std::string::npos);
    }
    SECTION("size field disagrees with the bytes") {
        auto cut = exec;
        cut.pop_back();
        CHECK(decode_err(cut).find("says") != std::string::npos);
    }
    SECTION("lengths that do not add up") {
        auto bad = exec;
        auto* x = reinterpret_cast<execmond_exec*>(bad.data());
        x->args_len = 60000;
        CHECK(decode_err(bad).find("do not match") != std::string::npos);
    }
    SECTION("unknown type") {
        auto bad = test::exit_record(1, 0, "x", 0);
        reinterpret_cast<execmond_header*>(bad.data())->type = 99;
        CHECK(decode_err(bad) == "unknown record type 99");
    }
    SECTION("fork record of the wrong size") {
        auto bad = test::fork_record(1, 0, "x");
        bad.resize(bad.size() + 8);
        reinterpret_cast<execmond_header*>(bad.data())->size = static_cast<__u32>(bad.size());
        CHECK(decode_err(bad).find("fork record") != std::string::npos);
    }
}

TEST_CASE("members a record marks unknown decode as unknown, whatever bytes they hold", "[decoder]") {
    using namespace std::string_view_literals;
    SECTION("exec without euid/egid or argv (fork-map mode)") {
        auto rec = test::exec_record(42, 7, "echo", "/bin/echo", "/bin/echo\0a\0"sv);
        reinterpret_cast<execmond_exec*>(rec.data())->argc = 2;
        test::set_unknown(rec, EXECMOND_UNKNOWN_START | EXECMOND_UNKNOWN_NS | EXECMOND_UNKNOWN_EUID |
                                   EXECMOND_UNKNOWN_ARGS);
        auto e = decode_ok(rec);
        CHECK(e.filename == "/bin/echo");
        CHECK_FALSE(e.euid_known);
        CHECK(e.euid == 0);
        CHECK_FALSE(e.args_known);
        CHECK(e.args.empty());
        CHECK(e.argc == 0);
        CHECK_FALSE(e.args_truncated);
        CHECK(e.start_boottime_ns == 0);
        CHECK(e.ns_pid == 0);
        CHECK(e.pidns_id == 0);
        CHECK(e.exit_status_known); // not an exit: nothing to say
    }
    SECTION("exit without an exit code") {
        auto rec = test::exit_record(9, 1, "sh", 3 << 8);
        test::set_unknown(rec, EXECMOND_UNKNOWN_EXIT_CODE);
        auto e = decode_ok(rec);
        CHECK_FALSE(e.exit_status_known);
        CHECK(e.exit_status == 0);
    }
    SECTION("exit without resource usage (fork-map mode)") {
        auto rec = test::exit_record(9, 1, "sh", 0);
        auto* x = reinterpret_cast<execmond_exit*>(rec.data());
        x->duration_ns = 5;
        x->runtime_ns = 7;
        x->maxrss_pages = 3;
        x->nvcsw = 2;
        test::set_unknown(rec, EXECMOND_UNKNOWN_USAGE);
        auto e = decode_ok(rec);
        CHECK_FALSE(e.usage_known);
        CHECK(e.duration_ns == 0);
        CHECK(e.cpu_user_ns == 0);
        CHECK(e.max_rss_kib == 0);
        CHECK(e.voluntary_ctxt_switches == 0);
    }
    SECTION("fork without start times") {
        auto rec = test::fork_record(9, 1, "sh");
        test::set_unknown(rec, EXECMOND_UNKNOWN_START);
        auto e = decode_ok(rec);
        CHECK(e.start_boottime_ns == 0);
        CHECK(e.parent_start_boottime_ns == 0);
    }
    SECTION("nothing marked: everything known") {
        auto e = decode_ok(test::exec_record(42, 7, "echo", "/bin/echo", "/bin/echo\0"sv));
        CHECK(e.euid_known);
        CHECK(e.args_known);
        CHECK(e.euid == 1000);
        CHECK(e.start_boottime_ns == 4'990'000'000ull);
    }
}

namespace {
Event exit_with_cpu(__u64 utime, __u64 stime, __u64 runtime) {
    auto rec = test::exit_record(9, 1, "burn", 0);
    auto* x = reinterpret_cast<execmond_exit*>(rec.data());
    x->utime_ns = utime;
    x->stime_ns = stime;
    x->runtime_ns = runtime;
    x->duration_ns = 1'500'000'000;
    x->maxrss_pages = 1000;
    x->nvcsw = 12;
    x->nivcsw = 3;
    return decode_ok(rec);
}
} // namespace

// wait4() reports the scheduler's exact runtime split by the tick samples'
// ratio (kernel/sched/cputime.c cputime_adjust): so must the exit line.
TEST_CASE("exit CPU time is the exact runtime split as the kernel's cputime_adjust splits it", "[decoder]") {
    auto e = exit_with_cpu(3 * 4'000'000ull, 1 * 4'000'000ull, 1'000'000'001ull);
    CHECK(e.usage_known);
    CHECK(e.cpu_system_ns == 250'000'000ull);
    CHECK(e.cpu_user_ns == 750'000'001ull);
    CHECK(e.duration_ns == 1'500'000'000ull);
    CHECK(e.max_rss_kib == 1000 * (static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) / 1024));
    CHECK(e.voluntary_ctxt_switches == 12);
    CHECK(e.nonvoluntary_ctxt_switches == 3);
    // No system tick: all of it user time; no user tick: all system time.
    CHECK(exit_with_cpu(8, 0, 100).cpu_user_ns == 100);
    CHECK(exit_with_cpu(0, 8, 100).cpu_system_ns == 100);
    CHECK(exit_with_cpu(0, 0, 100).cpu_user_ns == 100);
    // Large values do not overflow (a day of CPU on both sides).
    auto big = exit_with_cpu(86'400'000'000'000ull, 86'400'000'000'000ull, 172'800'000'000'000ull);
    CHECK(big.cpu_system_ns == 86'400'000'000'000ull);
    CHECK(big.cpu_user_ns == 86'400'000'000'000ull);
}

TEST_CASE("exec_failed records decode and are validated like exec records", "[decoder]") {
    using namespace std::string_view_literals;
    auto e = decode_ok(test::exec_failed_record(42, "sh", "/nope", "/nope\0-x\0"sv, -2));
    CHECK(e.kind == EventKind::exec_failed);
    CHECK(e.filename == "/nope");
    CHECK(e.args == "/nope\0-x\0"sv);
    CHECK(e.exec_errno == 2);
    CHECK(e.start_boottime_ns == 0);
    CHECK_FALSE(e.args_truncated);
    CHECK(decode_ok(test::exec_failed_record(42, "sh", "/x", ""sv, -2, EXECMOND_FAILED_ARGS_TRUNCATED))
              .args_truncated);

    auto lengths = test::exec_failed_record(42, "sh", "/nope", "a\0"sv, -2);
    reinterpret_cast<execmond_exec_failed*>(lengths.data())->args_len = 9;
    CHECK(decode_err(lengths).find("lengths") != std::string::npos);
    CHECK(decode_err(test::exec_failed_record(42, "sh", "/x", ""sv, 0)).find("not an error") !=
          std::string::npos);
    auto shorter = test::exec_failed_record(42, "sh", "/x", ""sv, -2);
    shorter.resize(sizeof(execmond_header) + 4);
    reinterpret_cast<execmond_header*>(shorter.data())->size = static_cast<__u32>(shorter.size());
    CHECK(decode_err(shorter).find("exec_failed record has") != std::string::npos);
}
