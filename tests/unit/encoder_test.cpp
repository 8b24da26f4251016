#include "encoder.hpp"
#include "record_builder.hpp"
#include "record_decoder.hpp"
#include "schema_check.hpp"

#include <catch2/catch_test_macros.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unistd.h>

using namespace execmond;
using json = nlohmann::json;
using namespace std::string_view_literals;

namespace {

// A fixed boot time makes "time" exact: 2026-01-01T00:00:00Z.
const BootClock clock_2026(1767225600ll * 1'000'000'000ll);

json encode(const std::vector<char>& bytes, const Lineage& lineage = {},
            std::vector<std::string> redact = {}) {
    auto r = decode_record(bytes.data(), bytes.size());
    REQUIRE(std::holds_alternative<Event>(r));
    Encoder enc(clock_2026, redact);
    std::string line = enc.encode(std::get<Event>(r), lineage);
    REQUIRE(line.back() == '\n');
    REQUIRE(line.find('\n') == line.size() - 1); // exactly one line
    return json::parse(line);
}

} // namespace

TEST_CASE("exec record -> exact JSON line", "[encoder]") {
    auto j = encode(test::exec_record(42, 7, "echo", "/bin/echo", "/bin/echo\0a b\0\"q\"\0"sv));
    CHECK(j["type"] == "exec");
    CHECK(j["time"] == "2026-01-01T00:00:05.000000000Z");
    CHECK(j["ktime_ns"] == 5'000'000'000ull);
    CHECK(j["pid"] == 42);
    CHECK(j["tid"] == 42);
    CHECK(j["ppid"] == 7);
    CHECK(j["uid"] == 1000);
    CHECK(j["gid"] == 1000);
    CHECK(j["comm"] == "echo");
    CHECK(j["filename"] == "/bin/echo");
    CHECK(j["argv"] == json::array({"/bin/echo", "a b", "\"q\""}));
    CHECK(j["argv_truncated"] == false);
    CHECK(j["parent_source"] == "btf");
    CHECK_FALSE(j.contains("argv_escaped"));
}

TEST_CASE("the first key of every line is its type", "[encoder]") {
    auto bytes = test::fork_record(1, 0, "x"); // the event's views point into it
    auto r = decode_record(bytes.data(), bytes.size());
    Encoder enc(clock_2026, {});
    CHECK(enc.encode(std::get<Event>(r), {}).rfind("{\"type\":\"fork\"", 0) == 0);
}

TEST_CASE("argv edge cases", "[encoder]") {
    SECTION("empty argument area: empty argv") {
        auto j = encode(test::exec_record(1, 0, "x", "/x", ""));
        CHECK(j["argv"] == json::array());
        CHECK(j["argv_truncated"] == false);
    }
    SECTION("empty arguments are kept") {
        auto j = encode(test::exec_record(1, 0, "x", "/x", "x\0\0y\0"sv));
        CHECK(j["argv"] == json::array({"x", "", "y"}));
    }
    SECTION("cut by the kernel bound: the last fragment is kept and flagged") {
        auto j = encode(test::exec_record(1, 0, "x", "/x", "x\0abc"sv, 9000));
        CHECK(j["argv"] == json::array({"x", "abc"}));
        CHECK(j["argv_truncated"] == true);
    }
    SECTION("non-UTF-8 is escaped, never dropped, and its index listed") {
        auto j = encode(test::exec_record(1, 0, "x", "/x", "ok\0bad\xff\0"sv));
        CHECK(j["argv"] == json::array({"ok", "bad\\xff"}));
        CHECK(j["argv_escaped"] == json::array({1}));
    }
    SECTION("non-UTF-8 filename and comm are escaped and flagged") {
        auto j = encode(test::exec_record(1, 0, "c\xfe", "/tmp/\xff", "a\0"sv));
        CHECK(j["filename"] == "/tmp/\\xff");
        CHECK(j["filename_escaped"] == true);
        CHECK(j["comm"] == "c\\xfe");
        CHECK(j["comm_escaped"] == true);
    }
    SECTION("redaction masks whole matching elements") {
        auto j = encode(test::exec_record(1, 0, "x", "/x", "curl\0--token=abc\0-v\0"sv), {}, {"^--token="});
        CHECK(j["argv"] == json::array({"curl", "[REDACTED]", "-v"}));
        CHECK(j["argv_redacted"] == true);
    }
}

TEST_CASE("exit record -> exit_code and signal", "[encoder]") {
    SECTION("normal exit") {
        auto j = encode(test::exit_record(5, 1, "sh", 3 << 8));
        CHECK(j["type"] == "exit");
        CHECK(j["exit_code"] == 3);
        CHECK(j["signal"].is_null());
        CHECK_FALSE(j.contains("core_dumped"));
    }
    SECTION("killed by SIGKILL") {
        auto j = encode(test::exit_record(5, 1, "sh", 9));
        CHECK(j["exit_code"] == 0);
        CHECK(j["signal"] == 9);
    }
    SECTION("SIGSEGV with core") {
        auto j = encode(test::exit_record(5, 1, "sh", 11 | 0x80));
        CHECK(j["signal"] == 11);
        CHECK(j["core_dumped"] == true);
    }
}

TEST_CASE("fork record carries the parent's comm", "[encoder]") {
    auto j = encode(test::fork_record(10, 9, "bash"));
    CHECK(j["type"] == "fork");
    CHECK(j["pid"] == 10);
    CHECK(j["ppid"] == 9);
    CHECK(j["parent_comm"] == "bash");
}

TEST_CASE("lineage: keys and ancestors, nearest first", "[encoder]") {
    ProcessInfo self, parent, grandparent;
    self.pid = 42;
    self.start_ticks = 499;
    self.fork_ppid = 7;
    parent.pid = 7;
    parent.start_ticks = 100;
    parent.comm = "bash";
    parent.filename = "/usr/bin/bash";
    parent.start_ns = 1'000'000'000;
    grandparent.pid = 1;
    grandparent.start_ticks = 1;
    grandparent.comm = "systemd";
    std::vector<const ProcessInfo*> ancestors{&parent, &grandparent};
    Lineage l{&self, &parent, &ancestors, "/system.slice/x.service"};
    auto j = encode(test::exec_record(42, 7, "echo", "/bin/echo", "e\0"sv), l);
    CHECK(j["key"] == "42:499");
    CHECK(j["parent_key"] == "7:100");
    CHECK(j["fork_ppid"] == 7);
    CHECK(j["cgroup"] == "/system.slice/x.service");
    REQUIRE(j["ancestors"].size() == 2);
    CHECK(j["ancestors"][0] == json{{"pid", 7},
                                    {"key", "7:100"},
                                    {"comm", "bash"},
                                    {"filename", "/usr/bin/bash"},
                                    {"start_ktime_ns", 1'000'000'000}});
    CHECK(j["ancestors"][1]["comm"] == "systemd");
}

TEST_CASE("a nonsense kernel time saturates instead of overflowing", "[encoder]") {
    // Found by tests/fuzz/record_fuzz: ktime near 2^64 overflowed int64.
    CHECK(clock_2026.rfc3339(~0ull) == "2262-04-11T23:47:16.854775807Z");
    CHECK(clock_2026.rfc3339(1ull << 63) == "2262-04-11T23:47:16.854775807Z");
    CHECK(clock_2026.rfc3339(0) == "2026-01-01T00:00:00.000000000Z");
}

TEST_CASE("every line the encoder writes follows proto/stream.schema.json", "[encoder][schema]") {
    if (!test::schema_validator())
        SKIP("EXECMOND_STREAM_VALIDATOR not set (meson test sets it)");
    ProcessInfo self, parent;
    self.pid = 42;
    self.start_ticks = 499;
    self.fork_ppid = 7;
    parent.pid = 7;
    parent.start_ticks = 100;
    parent.comm = "b\xff";
    parent.filename = "/usr/bin/bash";
    std::vector<const ProcessInfo*> ancestors{&parent};
    std::vector<const ProcessInfo*> none;
    Lineage full{&self, &parent, &ancestors, "/system.slice/x.service"};
    Lineage bare{nullptr, nullptr, &none, {}};
    Lineage known{&self, &parent, nullptr, "/"}; // fork and exit lines carry no ancestors
    Encoder enc(clock_2026, {"^--password="});
    std::vector<std::string> lines;
    auto add = [&](const std::vector<char>& bytes, const Lineage& l) {
        auto r = decode_record(bytes.data(), bytes.size());
        REQUIRE(std::holds_alternative<Event>(r));
        lines.push_back(enc.encode(std::get<Event>(r), l, lines.size() + 1)); // the daemon numbers every line
    };
    add(test::exec_record(42, 7, "echo", "/bin/echo", "/bin/echo\0--password=x\0\xff\0"sv), full);
    add(test::exec_record(42, 7, "e\xfe", "/bin/\xff", "/bin/echo\0cut"sv, 9000), bare);
    add(test::exec_record(1, 0, "x", "/x", ""), bare);
    add(test::fork_record(10, 9, "bash"), known);
    add(test::fork_record(10, 0, ""), {});
    add(test::exit_record(5, 1, "sh", 3 << 8), known);
    add(test::exit_record(5, 1, "sh", 11 | 0x80), {});

    std::string report = test::schema_report(lines);
    INFO(report);
    CHECK(report.empty());
}
