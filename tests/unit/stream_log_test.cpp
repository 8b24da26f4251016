// The stream's numbering and replay buffer: bounded in bytes, contiguous
// seqs, and a replayed line filtered as it was live.
#include "stream_log.hpp"

#include <catch2/catch_test_macros.hpp>

using namespace execmond;

namespace {

Line text(size_t bytes) {
    return share(std::string(bytes - 1, 'x') + "\n");
}

MatchFacts exec_facts(Pid pid, Pid ppid, std::string_view comm) {
    MatchFacts f;
    f.kind = EventKind::exec;
    f.pid = pid;
    f.ppid = ppid;
    f.uid = 1000;
    f.comm = comm;
    f.filename = "/bin/echo";
    f.cgroup_path = "/user.slice/u.scope";
    return f;
}

} // namespace

TEST_CASE("with no replay buffer the numbering still counts every line", "[stream_log]") {
    StreamLog log(0);
    CHECK_FALSE(log.keeping());
    CHECK(log.assign() == 1);
    CHECK(log.assign() == 2);
    CHECK(log.assign() == 3);
    CHECK(log.last_seq() == 3);
    CHECK(log.first_kept() == 4); // nothing kept: a replay from anywhere has expired
    CHECK(log.find(3) == nullptr);
    CHECK(log.lines() == 0);
}

TEST_CASE("the replay buffer holds the newest lines within its bytes, seqs contiguous", "[stream_log]") {
    const uint64_t per_line = 1000 + StreamLog::overhead_per_line;
    StreamLog log(10 * per_line);
    for (int i = 0; i < 25; ++i) {
        uint64_t seq = log.assign();
        log.keep_for_all(seq, text(1000));
        CHECK(log.bytes() <= log.capacity());
    }
    CHECK(log.last_seq() == 25);
    CHECK(log.lines() == 10);
    CHECK(log.first_kept() == 16);
    CHECK(log.bytes() == 10 * per_line);
    CHECK(log.find(15) == nullptr);
    REQUIRE(log.find(16) != nullptr);
    REQUIRE(log.find(25) != nullptr);
    CHECK(log.find(26) == nullptr);
    // Lines of other sizes: the bound holds in bytes, not lines.
    uint64_t seq = log.assign();
    log.keep_for_all(seq, text(5000));
    CHECK(log.bytes() <= log.capacity());
    CHECK(log.find(26) != nullptr);
    CHECK(log.first_kept() == 26 - (log.lines() - 1));
}

TEST_CASE("a line bigger than the whole buffer is not kept, and the kept range stays contiguous",
          "[stream_log]") {
    StreamLog log(4096);
    log.keep_for_all(log.assign(), text(100));
    log.keep_for_all(log.assign(), text(100));
    log.keep_for_all(log.assign(), text(8000)); // seq 3
    CHECK(log.lines() == 0);
    CHECK(log.first_kept() == 4);
    log.keep_for_all(log.assign(), text(100));
    CHECK(log.first_kept() == 4);
    CHECK(log.find(4) != nullptr);
    CHECK(log.find(3) == nullptr);
}

TEST_CASE("a kept line is filtered as it was live; lost and gap lines pass every filter", "[stream_log]") {
    ProcessTable table{ProcReader("/nonexistent")};
    StreamLog log(1 << 20);
    log.keep_for_all(log.assign(), text(50)); // seq 1, e.g. the gap line
    Pid chain[] = {42, 7, 1};                 // 43's parents when its line was made
    MatchFacts f = exec_facts(43, 42, "echo");
    f.chain = std::span<const Pid>(chain);
    log.keep(log.assign(), text(200), f); // seq 2

    auto want = [&](const char* request, uint64_t seq) {
        auto r = parse_request(request);
        REQUIRE(std::holds_alternative<SubscribeRequest>(r));
        return log.wanted(*log.find(seq), std::get<SubscribeRequest>(r).subscription, table);
    };
    CHECK(want(R"({"type":"subscribe","events":["fork"]})", 1));
    CHECK_FALSE(want(R"({"type":"subscribe","events":["fork"]})", 2));
    CHECK(want(R"({"type":"subscribe","comm":"ec*","uid":1000})", 2));
    CHECK_FALSE(want(R"({"type":"subscribe","comm":"ba*"})", 2));
    CHECK(want(R"({"type":"subscribe","cgroup":"/user.slice"})", 2));
    CHECK_FALSE(want(R"({"type":"subscribe","cgroup":"/system.slice"})", 2));
    // The table knows none of 42, 7, 1 now (they exited and were evicted):
    // the chain kept with the line still answers descendants_of.
    CHECK(want(R"({"type":"subscribe","descendants_of":7})", 2));
    CHECK(want(R"({"type":"subscribe","descendants_of":43})", 2));
    CHECK_FALSE(want(R"({"type":"subscribe","descendants_of":99})", 2));
}
