// The Pipeline driven with records as the probes write them, no kernel and no
// sockets: what reaches each subscriber, encoded once for all.
#include "pipeline.hpp"
#include "record_builder.hpp"
#include "schema_check.hpp"
#include "snapshot.hpp"

#include <catch2/catch_test_macros.hpp>
#include <map>
#include <nlohmann/json.hpp>

using namespace execmond;
using json = nlohmann::json;
using namespace std::string_view_literals;

namespace {

struct Collector : Subscriber {
    Subscription filter;
    std::vector<Line> lines;
    const Subscription& subscription() const override { return filter; }
    void send(const Line& line) override { lines.push_back(line); }
    json parsed(size_t i) const { return json::parse(lines.at(i)->view()); }
};

// A table that never reads this machine's /proc, seeded with init -> bash (pid 7).
struct Rig {
    BootClock clock{1767225600ll * 1'000'000'000ll};
    ProcessTable table{ProcReader("/nonexistent")};
    CgroupPaths cgroups{"/nonexistent"};
    Encoder encoder{clock, {}};
    Fanout fanout;
    Pipeline pipeline{PipelineConfig{}, table, cgroups, encoder, fanout};

    Rig() {
        ProcSnapshot init;
        init.pid = 1;
        init.start_ticks = 1;
        init.comm = "systemd";
        init.exe = "/usr/lib/systemd/systemd";
        table.seed_one(init);
        ProcSnapshot bash;
        bash.pid = 7;
        bash.ppid = 1;
        bash.start_ticks = 100;
        bash.comm = "bash";
        bash.exe = "/usr/bin/bash";
        table.seed_one(bash);
    }
    void feed(const std::vector<char>& record) { pipeline.on_record(record.data(), record.size()); }
};

} // namespace

TEST_CASE("a child's fork, exec and exit reach a subscriber as three lines of one process", "[pipeline]") {
    Rig rig;
    Collector c;
    rig.fanout.add(c);
    rig.feed(test::fork_record(42, 7, "bash"));
    rig.feed(test::exec_record(42, 7, "echo", "/bin/echo", "echo\0hi\0"sv));
    rig.feed(test::exit_record(42, 7, "echo", 3 << 8));
    REQUIRE(c.lines.size() == 3);
    json fork = c.parsed(0), exec = c.parsed(1), exit = c.parsed(2);
    CHECK(fork["type"] == "fork");
    CHECK(exec["type"] == "exec");
    CHECK(exit["type"] == "exit");
    CHECK(exec["argv"] == json{"echo", "hi"});
    CHECK(exit["exit_code"] == 3);
    // One process: the same key on every line, its parent the seeded bash.
    CHECK(fork["key"] == exec["key"]);
    CHECK(exec["key"] == exit["key"]);
    CHECK(exec["parent_key"] == "7:100");
    REQUIRE(exec["ancestors"].size() == 2);
    CHECK(exec["ancestors"][0]["pid"] == 7);
    CHECK(exec["ancestors"][1]["pid"] == 1);
    CHECK(rig.pipeline.counters().fork == 1);
    CHECK(rig.pipeline.counters().exec == 1);
    CHECK(rig.pipeline.counters().exit == 1);
    CHECK(rig.pipeline.counters().lines == 3);
}

TEST_CASE("a line is encoded once and shared by every subscriber that wants it", "[pipeline]") {
    Rig rig;
    Collector all, execs, none;
    execs.filter.fork = execs.filter.exit = false;
    none.filter.comm_globs = {"nothing-is-called-this"};
    rig.fanout.add(all);
    rig.fanout.add(execs);
    rig.fanout.add(none);
    rig.feed(test::fork_record(42, 7, "bash"));
    rig.feed(test::exec_record(42, 7, "echo", "/bin/echo", "echo\0"sv));
    REQUIRE(all.lines.size() == 2);
    REQUIRE(execs.lines.size() == 1);
    CHECK(none.lines.empty());
    CHECK(execs.lines[0].get() == all.lines[1].get()); // the same buffer, not a copy
    CHECK(rig.pipeline.counters().lines == 2);
}

TEST_CASE("with nobody subscribed the table still follows the records and nothing is encoded", "[pipeline]") {
    Rig rig;
    rig.feed(test::fork_record(42, 7, "bash"));
    rig.feed(test::exec_record(42, 7, "echo", "/bin/echo", "echo\0"sv));
    CHECK(rig.pipeline.counters().lines == 0);
    const ProcessInfo* p = rig.table.find(42);
    REQUIRE(p);
    CHECK(p->comm == "echo");
    CHECK(p->ppid == 7);
}

TEST_CASE("a record that does not decode is counted and sends nothing", "[pipeline]") {
    Rig rig;
    Collector c;
    rig.fanout.add(c);
    auto bad = test::exec_record(42, 7, "echo", "/bin/echo", "echo\0"sv);
    bad.resize(bad.size() / 2); // shorter than its header says
    rig.feed(bad);
    CHECK(c.lines.empty());
    CHECK(rig.pipeline.counters().decode_errors == 1);
    CHECK(rig.pipeline.counters().exec == 0);
}

TEST_CASE("past the discard deadline records are counted by type, not sent", "[pipeline]") {
    Rig rig;
    Collector c;
    rig.fanout.add(c);
    rig.feed(test::fork_record(42, 7, "bash"));
    rig.pipeline.discard_from(std::chrono::steady_clock::now());
    rig.feed(test::exec_record(42, 7, "echo", "/bin/echo", "echo\0"sv));
    rig.feed(test::exit_record(42, 7, "echo", 0));
    rig.feed(test::exit_record(43, 7, "echo", 0));
    CHECK(c.lines.size() == 1);
    CHECK(rig.pipeline.counters().discarded.fork == 0);
    CHECK(rig.pipeline.counters().discarded.exec == 1);
    CHECK(rig.pipeline.counters().discarded.exit == 2);
}

TEST_CASE("a snapshot lists every live process once, then its count", "[pipeline][snapshot]") {
    Rig rig;
    rig.feed(test::fork_record(42, 7, "bash"));
    rig.feed(test::exec_record(42, 7, "echo", "/bin/echo", "echo\0hi there\0"sv));
    rig.feed(test::fork_record(43, 7, "bash"));
    rig.feed(test::exit_record(43, 7, "bash", 0)); // exited: not listed
    Collector whole;
    send_snapshot(whole, rig.table, rig.cgroups, rig.encoder, rig.clock);
    REQUIRE(whole.lines.size() == 1); // one unit
    Collector c;                      // its lines, one by one
    std::string_view rest = *whole.lines[0];
    while (!rest.empty()) {
        size_t nl = rest.find('\n');
        c.lines.push_back(share(std::string(rest.substr(0, nl + 1))));
        rest.remove_prefix(nl + 1);
    }
    REQUIRE(c.lines.size() == 4); // init, bash, echo, end
    std::map<int, json> by_pid;
    for (size_t i = 0; i + 1 < c.lines.size(); ++i) {
        json p = c.parsed(i);
        CHECK(p["type"] == "process");
        by_pid[p["pid"].get<int>()] = p;
    }
    CHECK(c.parsed(3)["type"] == "snapshot_end");
    CHECK(c.parsed(3)["count"] == 3);
    REQUIRE(by_pid.count(42));
    CHECK(by_pid[42]["argv"] == json{"echo", "hi there"});
    CHECK(by_pid[42]["known_from"] == "exec");
    CHECK(by_pid[42]["parent_key"] == "7:100");
    CHECK(by_pid[7]["known_from"] == "proc");
    CHECK_FALSE(by_pid.count(43));
    if (test::schema_validator()) {
        std::vector<std::string> lines;
        for (const Line& l : c.lines)
            lines.push_back(l->str());
        std::string report = test::schema_report(lines);
        INFO(report);
        CHECK(report.empty());
    }
}

TEST_CASE("every record takes the next seq, whether or not anyone wants its line", "[pipeline][seq]") {
    Rig rig;
    Collector execs;
    execs.filter.fork = execs.filter.exit = false;
    rig.fanout.add(execs);
    rig.feed(test::fork_record(42, 7, "bash"));                          // seq 1, wanted by nobody
    rig.feed(test::exec_record(42, 7, "echo", "/bin/echo", "echo\0"sv)); // seq 2
    auto bad = test::exec_record(43, 7, "echo", "/bin/echo", "echo\0"sv);
    bad.resize(bad.size() / 2);
    rig.feed(bad);                                                       // not a record: no seq
    rig.feed(test::exit_record(42, 7, "echo", 0));                       // seq 3
    rig.feed(test::exec_record(44, 7, "true", "/bin/true", "true\0"sv)); // seq 4
    REQUIRE(execs.lines.size() == 2);
    CHECK(execs.parsed(0)["seq"] == 2);
    CHECK(execs.parsed(1)["seq"] == 4);
    CHECK(rig.pipeline.counters().last_seq == 4);
    CHECK(rig.pipeline.counters().lines == 2); // the others were never encoded
}

TEST_CASE("with a replay buffer every record is encoded and kept, numbered as sent", "[pipeline][seq]") {
    BootClock clock{1767225600ll * 1'000'000'000ll};
    ProcessTable table{ProcReader("/nonexistent")};
    CgroupPaths cgroups{"/nonexistent"};
    Encoder encoder{clock, {}};
    Fanout fanout;
    StreamLog log(1 << 20);
    PipelineConfig config;
    config.log = &log;
    Pipeline pipeline{config, table, cgroups, encoder, fanout};
    ProcSnapshot bash;
    bash.pid = 7;
    bash.ppid = 1;
    bash.start_ticks = 100;
    bash.comm = "bash";
    table.seed_one(bash);
    log.keep_for_all(log.assign(), share("{\"type\":\"gap\"}\n")); // seq 1 taken before the records

    pipeline.on_record(test::fork_record(42, 7, "bash").data(), test::fork_record(42, 7, "bash").size());
    auto exec = test::exec_record(43, 42, "echo", "/bin/echo", "echo\0"sv);
    pipeline.on_record(exec.data(), exec.size());
    CHECK(pipeline.counters().lines == 2); // encoded with nobody connected
    REQUIRE(log.lines() == 3);
    REQUIRE(log.find(3));
    auto line = json::parse(log.find(3)->line->view());
    CHECK(line["type"] == "exec");
    CHECK(line["seq"] == 3);
    CHECK(line["pid"] == 43);

    // 43's parents leave the table; a replay with descendants_of 7 still finds it.
    auto exit42 = test::exit_record(42, 7, "bash", 0);
    pipeline.on_record(exit42.data(), exit42.size());
    table.evict_expired(UINT64_MAX / 2);
    REQUIRE(table.find(42) == nullptr);
    Subscription below7;
    below7.descendants_of = {7};
    CHECK(log.wanted(*log.find(3), below7, table));
    Subscription below99;
    below99.descendants_of = {99};
    CHECK_FALSE(log.wanted(*log.find(3), below99, table));
}
