// A client resuming from a cursor (Client::resume) over a real socket pair:
// the kept lines after it that pass its filter, then live lines, with no gap
// and no duplicate; what the buffer no longer holds is reported, exactly.
#include "client.hpp"
#include "stream_log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

using namespace execmond;
namespace asio = boost::asio;
using json = nlohmann::json;

namespace {

// A numbered line of `bytes` bytes that says its seq.
Line numbered(uint64_t seq, size_t bytes = 64) {
    std::string s = R"({"seq":)" + std::to_string(seq) + R"(,"pad":")";
    s.append(bytes > s.size() + 3 ? bytes - s.size() - 3 : 0, 'x');
    s += "\"}\n";
    return share(std::move(s));
}

MatchFacts facts(std::string_view comm) {
    MatchFacts f;
    f.kind = EventKind::exec;
    f.pid = 42;
    f.ppid = 1;
    f.comm = comm;
    f.chain = std::span<const Pid>();
    return f;
}

struct Rig {
    asio::io_context io;
    asio::local::stream_protocol::socket ours{io}, theirs{io};
    ProcessTable table{ProcReader("/nonexistent")};
    StreamLog log;
    Fanout fanout;
    std::shared_ptr<Client> client;
    std::string buffered;

    Rig(uint64_t log_bytes, size_t queue_bytes) : log(log_bytes) {
        asio::local::connect_pair(ours, theirs);
        // Small kernel buffers, so the client's queue holds the backlog.
        theirs.set_option(asio::socket_base::receive_buffer_size(4096));
        ours.set_option(asio::socket_base::send_buffer_size(4096));
        client = std::make_shared<Client>(
            std::move(ours), 1, PeerCredentials{}, queue_bytes, [](Client&, std::string_view) {},
            [](Client&, std::string_view) {});
        client->start();
        fanout.add(*client);
    }
    // A line every client gets, made now (kept and fanned out as the daemon does).
    void publish(size_t bytes = 64) {
        publish_to_all(log, fanout, [&](uint64_t seq) { return numbered(seq, bytes)->str(); });
    }
    // An event line that only filters passing `comm` get.
    void publish_event(std::string_view comm) {
        uint64_t seq = log.assign();
        Line l = numbered(seq);
        log.keep(seq, l, facts(comm));
        Subscription& s = client->subscription();
        if (!client->replaying() && s.matches(facts(comm), table))
            client->deliver(l, seq);
    }
    // Every line the client writes until `n` arrived or nothing more comes.
    std::vector<json> read(size_t n) {
        std::vector<json> lines;
        auto quiet_since = std::chrono::steady_clock::now();
        while (lines.size() < n &&
               std::chrono::steady_clock::now() - quiet_since < std::chrono::milliseconds(500)) {
            io.poll();
            io.restart();
            boost::system::error_code ec;
            size_t avail = theirs.available(ec);
            if (avail == 0) {
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
                continue;
            }
            std::string chunk(avail, '\0');
            size_t got = theirs.read_some(asio::buffer(chunk), ec);
            buffered.append(chunk, 0, got);
            for (size_t nl; (nl = buffered.find('\n')) != std::string::npos;) {
                lines.push_back(json::parse(buffered.substr(0, nl)));
                buffered.erase(0, nl + 1);
            }
            quiet_since = std::chrono::steady_clock::now();
        }
        return lines;
    }
};

std::vector<uint64_t> seqs(const std::vector<json>& lines) {
    std::vector<uint64_t> out;
    for (const auto& l : lines)
        if (l.contains("seq"))
            out.push_back(l["seq"].get<uint64_t>());
    return out;
}

// "" when `got` is exactly `want`, else where they part (for a short message).
std::string diff(const std::vector<uint64_t>& got, const std::vector<uint64_t>& want) {
    size_t i = 0;
    while (i < got.size() && i < want.size() && got[i] == want[i])
        ++i;
    if (i == got.size() && i == want.size())
        return "";
    auto at = [](const std::vector<uint64_t>& v, size_t k) {
        return k < v.size() ? std::to_string(v[k]) : std::string("(end)");
    };
    return "at index " + std::to_string(i) + ": got " + at(got, i) + ", want " + at(want, i) + " (" +
           std::to_string(got.size()) + " vs " + std::to_string(want.size()) + " seqs)";
}

std::vector<uint64_t> range(uint64_t first, uint64_t last) {
    std::vector<uint64_t> out;
    for (uint64_t s = first; s <= last; ++s)
        out.push_back(s);
    return out;
}

} // namespace

TEST_CASE("resuming replays the kept lines after the cursor, then continues live with no gap or duplicate",
          "[replay]") {
    Rig rig(64 << 20, 64 * 1024);
    for (int batch = 0; batch < 50; ++batch) { // 5,000 lines of 200 bytes, read live
        for (int i = 0; i < 100; ++i)
            rig.publish(200);
        REQUIRE(rig.read(100).size() == 100);
    }
    // As if it had reconnected after seq 1234:
    rig.client->resume(1234, rig.log, rig.table);
    REQUIRE(rig.client->replaying());
    size_t max_queued = 0;
    bool more_published = false;
    std::vector<json> got;
    while (got.size() < 5000 - 1234 + 100) {
        auto more = rig.read(1);
        REQUIRE_FALSE(more.empty());
        got.insert(got.end(), more.begin(), more.end());
        max_queued = std::max(max_queued, rig.client->queued_bytes());
        if (got.size() >= 1000 && !more_published) {
            REQUIRE(rig.client->replaying());
            more_published = true;
            for (int i = 0; i < 100; ++i) // new lines while it catches up: they come in order
                rig.publish(200);
        }
    }
    // Never more than half its queue taken by the replay (plus the line that crossed it).
    CHECK(max_queued <= 32 * 1024 + 200);
    CHECK_FALSE(rig.client->replaying());
    rig.publish();
    auto live = rig.read(1);
    got.insert(got.end(), live.begin(), live.end());
    CHECK(diff(seqs(got), range(1235, 5101)) == "");
}

TEST_CASE("a replay is filtered by the new subscription", "[replay]") {
    Rig rig(1 << 20, 64 * 1024);
    rig.client->subscription().comm_globs = {"even"};
    for (int i = 1; i <= 40; ++i)
        rig.publish_event(i % 2 == 0 ? "even" : "odd");
    REQUIRE(rig.read(20).size() == 20); // live
    rig.client->resume(10, rig.log, rig.table);
    auto got = rig.read(15);
    std::vector<uint64_t> want;
    for (uint64_t s = 12; s <= 40; s += 2)
        want.push_back(s);
    CHECK(diff(seqs(got), want) == "");
}

TEST_CASE("a cursor older than the buffer: one replay_expired line with the exact range, then the rest",
          "[replay]") {
    const uint64_t per_line = 64 + StreamLog::overhead_per_line;
    Rig rig(10 * per_line, 64 * 1024);
    for (int i = 0; i < 30; ++i)
        rig.publish();
    REQUIRE(rig.log.first_kept() == 21);
    rig.read(30);
    rig.client->resume(5, rig.log, rig.table);
    auto got = rig.read(11);
    REQUIRE(got.size() == 11);
    CHECK(got[0]["type"] == "lost");
    CHECK(got[0]["reason"] == "replay_expired");
    CHECK(got[0]["first_seq"] == 6);
    CHECK(got[0]["last_seq"] == 20);
    CHECK(got[0]["count"] == 15);
    got.erase(got.begin());
    CHECK(diff(seqs(got), range(21, 30)) == "");
}

TEST_CASE("a replay overtaken by the buffer's eviction reports the lines it can no longer send", "[replay]") {
    const uint64_t line = 4000, per_line = line + StreamLog::overhead_per_line;
    Rig rig(20 * per_line, 64 * 1024);
    for (int i = 0; i < 20; ++i)
        rig.publish(line);
    rig.read(20);
    rig.client->resume(0, rig.log, rig.table);
    rig.io.poll(); // it queues a first chunk
    rig.io.restart();
    for (int i = 0; i < 40; ++i) // meanwhile the buffer moves on to 41..60
        rig.publish(line);
    REQUIRE(rig.log.first_kept() == 41);
    auto got = rig.read(1000);
    // Every seq 1..60 exactly once: received, or inside one replay_expired range.
    std::vector<uint64_t> covered;
    int expired_lines = 0;
    for (const auto& l : got) {
        if (l.value("reason", "") == "replay_expired") {
            ++expired_lines;
            CHECK(l["count"] == l["last_seq"].get<uint64_t>() - l["first_seq"].get<uint64_t>() + 1);
            auto r = range(l["first_seq"], l["last_seq"]);
            covered.insert(covered.end(), r.begin(), r.end());
        } else {
            covered.push_back(l["seq"]);
        }
    }
    CHECK(expired_lines == 1);
    CHECK(diff(covered, range(1, 60)) == "");
}
