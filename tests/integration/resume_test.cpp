// Resuming (docs/protocol.md, "Resuming") against the real daemon: a client
// that reconnects with since misses nothing and repeats nothing; a cursor
// older than the replay buffer is reported exactly; a restart's gap line lists
// what /proc says started and exited while the daemon was down.
#include "harness.hpp"
#include "trees.hpp"

#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace execmond::itest;

namespace {

void require_root() {
    if (!is_root())
        SKIP("needs root to load BPF programs");
}

// The seq of a line of the stream, or 0 for lines that are not (hello,
// answers, a client's own lost lines). It is the second member when present.
uint64_t seq_of(const std::string& line) {
    auto at = line.find("\"seq\":");
    if (at == std::string::npos || at > 24)
        return 0;
    return std::stoull(line.substr(at + 6, 20));
}

bool is(const json& l, const char* type) {
    return l.is_object() && l.value("type", "") == type;
}

// Reads one client on a thread of its own, keeping every line.
class Reader {
public:
    explicit Reader(Client& c) : c_(c), thread_([this] { run(); }) {}
    ~Reader() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable())
            thread_.join();
    }
    uint64_t last_seq() const { return last_seq_; }
    // Waits until a line with at least this seq arrived.
    bool wait_seq(uint64_t seq, std::chrono::milliseconds timeout = 30s) const {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (last_seq_ < seq && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(5ms);
        return last_seq_ >= seq;
    }
    // Waits for a line containing `text`; returns its seq (0 on timeout).
    uint64_t wait_text(const std::string& text, std::chrono::milliseconds timeout = 30s) const {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        size_t from = 0;
        while (std::chrono::steady_clock::now() < deadline) {
            {
                std::lock_guard lock(mutex_);
                for (; from < lines_.size(); ++from)
                    if (lines_[from].find(text) != std::string::npos)
                        return seq_of(lines_[from]);
            }
            std::this_thread::sleep_for(5ms);
        }
        return 0;
    }
    std::vector<std::string> lines() const {
        std::lock_guard lock(mutex_);
        return lines_;
    }
    // Waits until the daemon closed the connection.
    bool wait_eof(std::chrono::milliseconds timeout = 10s) const {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!eof_ && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(5ms);
        return eof_;
    }

private:
    void run() {
        while (!stop_ && !eof_) {
            auto line = c_.next_line(100ms);
            if (!line) {
                char b;
                eof_ = recv(c_.fd(), &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
                continue;
            }
            uint64_t seq = seq_of(*line);
            std::lock_guard lock(mutex_);
            lines_.push_back(std::move(*line));
            if (seq > last_seq_)
                last_seq_ = seq;
        }
    }

    Client& c_;
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
    std::atomic<uint64_t> last_seq_{0};
    std::atomic<bool> stop_{false};
    std::atomic<bool> eof_{false};
    std::thread thread_;
};

// The lines of the stream among `lines`, by seq, from `first` to `last`.
std::vector<std::pair<uint64_t, std::string>> numbered(const std::vector<std::string>& lines, uint64_t first,
                                                       uint64_t last) {
    std::vector<std::pair<uint64_t, std::string>> out;
    for (const auto& l : lines)
        if (uint64_t s = seq_of(l); s >= first && s <= last)
            out.emplace_back(s, l);
    return out;
}

json subscribe(Client& c, json request) {
    request["type"] = "subscribe";
    c.send(request.dump());
    auto ack = c.until([](const json& l) { return is(l, "subscribed") || is(l, "error"); });
    REQUIRE(ack);
    INFO(ack->dump());
    REQUIRE(is(*ack, "subscribed"));
    return *ack;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Waits until the daemon's state file lists all these keys.
bool state_lists(const std::string& dir, const std::vector<std::string>& keys) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
        auto j = json::parse(read_file(dir + "/state"), nullptr, false);
        if (j.is_object() && j["processes"].is_array()) {
            std::set<std::string> have(j["processes"].begin(), j["processes"].end());
            if (std::all_of(keys.begin(), keys.end(),
                            [&](const std::string& k) { return have.count(k) != 0; }))
                return true;
        }
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

// The gap line of a new stream, by resuming with the previous stream's id.
json gap_after_restart(Client& c, const std::string& old_stream, uint64_t old_seq) {
    auto hello = c.next();
    REQUIRE(hello);
    REQUIRE(is(*hello, "hello"));
    CHECK((*hello)["stream_id"] != old_stream);
    auto ack = subscribe(c, {{"since", old_seq}, {"stream_id", old_stream}});
    CHECK(ack["since"] == 0); // another stream: from this one's first line
    auto gap = c.next();
    REQUIRE(gap);
    INFO(gap->dump());
    REQUIRE(is(*gap, "gap"));
    CHECK((*gap)["seq"] == 1);
    return *gap;
}

struct Children { // long-lived processes the test starts, killed at the end
    std::vector<pid_t> pids;
    std::vector<pid_t> grandchildren; // not ours to wait for
    pid_t start(const std::vector<std::string>& argv) {
        pids.push_back(spawn(argv));
        return pids.back();
    }
    ~Children() {
        for (pid_t p : grandchildren)
            kill(p, SIGKILL);
        for (pid_t p : pids) {
            kill(p, SIGKILL);
            waitpid(p, nullptr, 0);
        }
    }
};

} // namespace

TEST_CASE("a client that disconnects mid-storm and resumes with since: together its two connections are "
          "line for line what a client that stayed got",
          "[resume][storm]") {
    require_root();
    Daemon d;
    Client witness(d.socket());
    auto hello = witness.next();
    REQUIRE(hello);
    const std::string stream = (*hello)["stream_id"];
    Reader all(witness);

    const std::string token = "resume-" + std::to_string(getpid());
    std::optional<Client> first(d.socket());
    REQUIRE(first->next()); // hello
    std::atomic<double> took{0};
    std::thread storm([&] { took = run_storm(token, 8000); });

    // The first connection reads a while, then goes away with lines still
    // queued for it in the daemon and in its socket.
    std::vector<std::string> first_lines;
    uint64_t first_seq = 0, last_read = 0;
    int storm_execs = 0;
    while (storm_execs < 2000) {
        auto line = first->next_line(10s);
        REQUIRE(line);
        if (uint64_t s = seq_of(*line)) {
            first_seq = first_seq ? first_seq : s;
            last_read = s;
            first_lines.push_back(*line);
        }
        storm_execs +=
            line->find(token + "-") != std::string::npos && line->find("\"exec\"") != std::string::npos;
    }
    first.reset();
    // Well behind when it comes back: thousands of lines later.
    REQUIRE(all.wait_seq(last_read + 5000));
    uint64_t head_at_reconnect = all.last_seq();

    Client second(d.socket());
    REQUIRE(second.next()); // hello
    auto resume_start = std::chrono::steady_clock::now();
    auto ack = subscribe(second, {{"since", last_read}, {"stream_id", stream}});
    CHECK(ack["since"] == last_read);
    Reader again(second);
    storm.join();
    REQUIRE(took >= 0);
    // The end of the comparison: a process after the storm, seen by both.
    const std::string end_token = token + "-end";
    run({"/bin/true", end_token});
    uint64_t end_seq = all.wait_text(end_token);
    REQUIRE(end_seq != 0);
    REQUIRE(again.wait_seq(end_seq));
    all.stop();
    again.stop();

    auto stayed = numbered(all.lines(), first_seq, end_seq);
    auto resumed = numbered(again.lines(), 0, end_seq);
    // The witness itself saw every seq once: the reference has no gap.
    REQUIRE(stayed.size() == end_seq - first_seq + 1);
    for (size_t i = 0; i < stayed.size(); ++i)
        REQUIRE(stayed[i].first == first_seq + i);
    REQUIRE_FALSE(resumed.empty());
    CHECK(resumed.front().first == last_read + 1); // nothing repeated, nothing skipped at the seam
    std::vector<std::string> together = first_lines;
    for (const auto& [s, l] : resumed)
        together.push_back(l);
    REQUIRE(together.size() == stayed.size());
    size_t differ = 0;
    for (size_t i = 0; i < stayed.size(); ++i)
        differ += together[i] != stayed[i].second;
    CHECK(differ == 0);
    // Much of it came from the replay buffer, not live.
    size_t replayed = head_at_reconnect - last_read;
    CHECK(replayed >= 5000);
    WARN("resumed " << replayed << " lines behind the head (storm of 8,000 execs in " << took
                    << " s); the two connections matched the witness on all " << stayed.size() << " lines");

    // Replay speed: the whole buffer to a fresh reader.
    Client third(d.socket());
    REQUIRE(third.next());
    auto t0 = std::chrono::steady_clock::now();
    subscribe(third, {{"since", first_seq - 1}, {"stream_id", stream}});
    uint64_t n = 0;
    while (true) {
        auto line = third.next_line(5s);
        REQUIRE(line);
        uint64_t s = seq_of(*line);
        n += s != 0;
        if (s >= end_seq)
            break;
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    WARN("replay: " << n << " lines in " << secs << " s to one reading client ("
                    << static_cast<uint64_t>(n / secs) << " lines/s, the test's reader included)");
    (void)resume_start;
}

TEST_CASE(
    "since older than a tiny replay buffer: replay_expired with the exact range, then the rest and live",
    "[resume]") {
    require_root();
    Daemon d({"--replay-buffer", "32K"});
    Client witness(d.socket());
    auto hello = witness.next();
    REQUIRE(hello);
    const std::string stream = (*hello)["stream_id"];
    const uint64_t since = (*hello)["last_seq"];
    Reader all(witness);
    const std::string token = "expire-" + std::to_string(getpid());
    REQUIRE(run_storm(token, 300) >= 0); // ~900 lines of ~600 bytes: far more than 32K
    run({"/bin/true", token + "-mark"});
    REQUIRE(all.wait_text(token + "-mark") != 0);

    Client late(d.socket());
    REQUIRE(late.next());
    // A cursor ahead of the stream is refused; the connection stays usable.
    late.send(json{{"type", "subscribe"}, {"since", all.last_seq() + 1000000}, {"stream_id", stream}}.dump());
    auto refused = late.until([](const json& l) { return is(l, "subscribed") || is(l, "error"); });
    REQUIRE(refused);
    CHECK(is(*refused, "error"));
    CHECK((*refused)["message"].get<std::string>().find("is ahead of stream") != std::string::npos);

    subscribe(late, {{"since", since}, {"stream_id", stream}});
    auto expired = late.next();
    REQUIRE(expired);
    INFO(expired->dump());
    REQUIRE(is(*expired, "lost"));
    CHECK((*expired)["reason"] == "replay_expired");
    uint64_t first = (*expired)["first_seq"], last = (*expired)["last_seq"];
    CHECK(first == since + 1);
    CHECK(last > first + 500); // most of the storm is gone from 32K
    CHECK((*expired)["count"] == last - first + 1);
    // Then every kept line, exactly those after the expired range, as the witness got them.
    Reader rest(late);
    const std::string live_token = token + "-live";
    run({"/bin/true", live_token});
    uint64_t live_seq = all.wait_text(live_token);
    REQUIRE(live_seq != 0);
    REQUIRE(rest.wait_seq(live_seq));
    all.stop();
    rest.stop();
    auto want = numbered(all.lines(), last + 1, live_seq);
    auto got = numbered(rest.lines(), 0, live_seq);
    REQUIRE(want.size() == live_seq - last); // the witness: no gap
    CHECK(got == want);

    late.send(R"({"type":"stats"})");
    auto stats = late.until([](const json& l) { return is(l, "stats"); });
    REQUIRE(stats);
    CHECK((*stats)["replay"]["limit_bytes"] == 32 * 1024);
    CHECK((*stats)["replay"]["bytes"].get<uint64_t>() <= 32 * 1024);
    CHECK((*stats)["replay"]["lines"].get<uint64_t>() > 0);
}

TEST_CASE("kill -9 in a storm, processes started while it is down: the gap line lists exactly those alive, "
          "with their parents, and the known ones that exited",
          "[resume][gap]") {
    require_root();
    std::string state = temp_dir();
    Children kids;
    // Known to the first run: alive when it starts, so in its state file.
    pid_t known_dies = kids.start({"/bin/sleep", "3001"});
    pid_t known_lives = kids.start({"/bin/sleep", "3002"});
    std::string dies_key = proc_key(known_dies), lives_key = proc_key(known_lives);
    std::string stream;
    uint64_t seen = 0;
    {
        Daemon d({"--state-dir", state});
        REQUIRE(state_lists(state, {dies_key, lives_key}));
        Client c(d.socket());
        auto hello = c.next();
        REQUIRE(hello);
        stream = (*hello)["stream_id"];
        const std::string token = "crash-" + std::to_string(getpid());
        std::thread storm([&] { run_storm(token, 4000); });
        int storm_lines = 0;
        while (storm_lines < 500) {
            auto line = c.next_line(10s);
            REQUIRE(line);
            seen = std::max(seen, seq_of(*line));
            storm_lines += line->find(token) != std::string::npos;
        }
        d.kill_hard(); // mid-storm
        storm.join();
    }
    // While it is down: one known process exits, new ones start (one a child
    // of another), and one starts and exits (nobody can report that one).
    kill(known_dies, SIGKILL);
    waitpid(known_dies, nullptr, 0);
    pid_t lone = kids.start({"/bin/sleep", "3003"});
    pid_t parent = kids.start({"/bin/sh", "-c", "/bin/sleep 3004 & exec /bin/sleep 3005"});
    pid_t child = 0;
    for (int i = 0; i < 500 && child == 0; ++i) {
        std::istringstream in(
            read_file("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children"));
        in >> child;
        // The child must be the sleep already, and the parent exec'd too.
        if (child != 0 &&
            (read_file("/proc/" + std::to_string(child) + "/cmdline").find("3004") == std::string::npos ||
             read_file("/proc/" + std::to_string(parent) + "/cmdline").find("3005") == std::string::npos))
            child = 0;
        if (child == 0)
            std::this_thread::sleep_for(10ms);
    }
    REQUIRE(child != 0);
    kids.grandchildren.push_back(child);
    run({"/bin/true", "gone-before-restart"});
    auto down_at = std::chrono::steady_clock::now();

    Daemon d({"--state-dir", state});
    auto down_for = std::chrono::steady_clock::now() - down_at;
    Client c(d.socket());
    json gap = gap_after_restart(c, stream, seen);
    CHECK(gap["state"] == "ok");
    CHECK(gap["previous"]["stream_id"] == stream);
    CHECK(gap["previous"]["clean"] == false);
    CHECK(gap["previous"]["last_seq"].get<uint64_t>() <= seen); // its last write came before the crash
    CHECK(gap["rebooted"] == false);
    // Down at most since its last write (10 s before the crash at worst) until now.
    CHECK(gap["previous"]["down_ns"].get<int64_t>() > 0);
    CHECK(gap["previous"]["down_ns"].get<int64_t>() <
          std::chrono::duration_cast<std::chrono::nanoseconds>(down_for + 15s).count());

    std::map<pid_t, json> ours; // the started entries of our sleeps
    for (const auto& p : gap["started"]) {
        const auto& argv = p["argv"];
        if (argv.size() == 2 && argv[0] == "/bin/sleep" && argv[1].get<std::string>().starts_with("300"))
            ours[p["pid"].get<pid_t>()] = p;
        CHECK(p["argv"].dump().find("gone-before-restart") == std::string::npos);
        CHECK(p["argv"].dump().find("crash-") == std::string::npos); // the storm's processes all exited
    }
    INFO(gap.dump());
    REQUIRE(ours.size() == 3);
    REQUIRE(ours.count(lone));
    REQUIRE(ours.count(parent));
    REQUIRE(ours.count(child));
    CHECK(ours[lone]["ppid"] == getpid());
    CHECK(ours[lone]["key"] == proc_key(lone));
    CHECK(ours[lone]["argv"] == json::array({"/bin/sleep", "3003"}));
    CHECK(ours[parent]["ppid"] == getpid());
    CHECK(ours[parent]["key"] == proc_key(parent));
    CHECK(ours[parent]["argv"] == json::array({"/bin/sleep", "3005"}));
    CHECK(ours[child]["ppid"] == parent);
    CHECK(ours[child]["key"] == proc_key(child));
    CHECK(ours[child]["parent_key"] == proc_key(parent));
    CHECK(ours[child]["argv"] == json::array({"/bin/sleep", "3004"}));

    std::set<std::string> exited(gap["exited"].begin(), gap["exited"].end());
    CHECK(exited.count(dies_key) == 1);
    CHECK(exited.count(lives_key) == 0);
    for (const auto& p : gap["started"])
        CHECK(p["key"] != lives_key);
    std::filesystem::remove_all(state);
}

TEST_CASE("a clean stop: the next gap line says so, with the exact last seq the clients got",
          "[resume][gap]") {
    require_root();
    std::string state = temp_dir();
    std::string stream;
    uint64_t last = 0;
    {
        Daemon d({"--state-dir", state});
        Client c(d.socket());
        auto hello = c.next();
        REQUIRE(hello);
        stream = (*hello)["stream_id"];
        const std::string token = "clean-" + std::to_string(getpid());
        std::thread busy([&] { run_storm(token, 1000); });
        Reader r(c); // reads while the daemon stops: it flushes to readers
        REQUIRE(r.wait_text(token) != 0);
        int status = d.stop();
        busy.join();
        REQUIRE(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
        REQUIRE(r.wait_eof()); // everything up to the close
        last = r.last_seq();
    }
    REQUIRE(last > 0);
    Daemon d({"--state-dir", state});
    Client c(d.socket());
    json gap = gap_after_restart(c, stream, last);
    CHECK(gap["state"] == "ok");
    CHECK(gap["previous"]["clean"] == true);
    CHECK(gap["previous"]["last_seq"] == last);
    std::filesystem::remove_all(state);
}

TEST_CASE("a corrupt or truncated state file is logged and ignored; the daemon starts", "[resume][gap]") {
    require_root();
    std::string state = temp_dir();
    std::string good;
    { Daemon d({"--state-dir", state}); }
    good = read_file(state + "/state");
    REQUIRE(good.find("\"clean\":true") != std::string::npos);
    for (const std::string& bad : {good.substr(0, good.size() / 2), std::string("\x00\xff garbage", 10)}) {
        std::ofstream(state + "/state", std::ios::binary | std::ios::trunc) << bad;
        Daemon d({"--state-dir", state});
        Client c(d.socket());
        json gap = gap_after_restart(c, "none:0", 0);
        CHECK(gap["state"] == "unreadable");
        CHECK_FALSE(gap.contains("previous"));
        CHECK(gap["started"].empty());
        CHECK(d.log().find("state file ignored: " + state + "/state: not JSON") != std::string::npos);
        // And it writes a good one again.
        CHECK(d.stop() == 0);
        CHECK(json::parse(read_file(state + "/state"), nullptr, false).is_object());
    }
    std::filesystem::remove_all(state);
}

TEST_CASE("the replay buffer's memory stays within its bound, storm after storm", "[resume][memory]") {
    require_root();
    const uint64_t limit = 4u << 20;
    Daemon d({"--replay-buffer", "4M"});
    Client c(d.socket());
    REQUIRE(c.next());
    auto stats = [&] {
        c.send(R"({"type":"stats"})");
        auto s = c.until([](const json& l) { return is(l, "stats"); });
        REQUIRE(s);
        return *s;
    };
    auto replay = [&] {
        return stats()["replay"];
    };
    // The table keeps an exited process for exit_grace_ns (2 s): measure
    // once a storm's processes have left it, so that rounds compare alike.
    auto settled = [&](uint64_t table_size) {
        auto deadline = std::chrono::steady_clock::now() + 15s;
        while (stats()["process_table"].get<uint64_t>() > table_size + 100 &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(200ms);
    };
    c.send(R"({"type":"subscribe","events":[]})"); // this client reads stats only
    REQUIRE(c.until([](const json& l) { return is(l, "subscribed"); }));
    uint64_t rss0 = vm_rss_kib(d.pid());
    const uint64_t table0 = stats()["process_table"].get<uint64_t>();
    std::vector<uint64_t> rss;
    for (int round = 0; round < 4; ++round) {
        // ~9,000 lines of ~750 bytes kept: more than the limit every round.
        REQUIRE(run_storm("memory-" + std::to_string(round), 3000) >= 0);
        settled(table0);
        json r = replay();
        CHECK(r["bytes"].get<uint64_t>() <= limit);
        CHECK(r["bytes"].get<uint64_t>() > limit * 3 / 4); // full
        rss.push_back(vm_rss_kib(d.pid()));
    }
    WARN("VmRSS with a 4M replay buffer: " << rss0 << " KiB at start, then " << rss[0] << ", " << rss[1]
                                           << ", " << rss[2] << ", " << rss[3] << " KiB after each storm");
    if (maps_library(d.pid(), "libasan")) {
        WARN("RSS not checked: the daemon runs under AddressSanitizer");
        return;
    }
    // What the buffer holds, with malloc's own overhead (measured here: a 4M
    // buffer settles about 5 MiB above a daemon without one, by the second
    // storm). Lines never freed would add ~7 MiB a round.
    CHECK(rss[3] <= rss0 + 3 * limit / 1024);
    CHECK(rss[3] <= rss[1] + 2048);
}
