// The exact-loss contract of the whole pipeline, against the real kernel (as
// root): a record the kernel ring cannot take is counted and reported in a
// `lost` line, so that execs delivered + execs the lost lines count == execs
// spawned, exactly; with room in the ring nothing is lost at all. The truth is
// the storm's own count of the execs it ran, each with a unique argv token.
#include "harness.hpp"
#include "trees.hpp"

#include <catch2/catch_test_macros.hpp>

#include <cctype>
#include <csignal>
#include <fstream>
#include <map>
#include <thread>
#include <unistd.h>

using namespace execmond::itest;

namespace {

void require_root() {
    if (!is_root())
        SKIP("needs root to load BPF programs");
}

// What a client saw of one storm's execs, from the lines it read.
struct StormTally {
    explicit StormTally(std::string t) : token(std::move(t)) {}

    std::string token;
    std::set<int> seen; // storm seqs whose exec line arrived
    int duplicates = 0;
    int fork_ok = 0; // storm execs whose fork line came first
    int exit_ok = 0; // ... and whose exit line came after
    uint64_t lost_lines = 0, lost_total = 0, lost_exec = 0;
    uint64_t lost_without_by_type = 0; // lost lines that cannot say how many were execs
    std::map<pid_t, char> state;       // 'f' forked, 'e' a storm exec seen

    void add(const json& l) {
        const std::string type = l.value("type", "");
        if (type == "lost") {
            ++lost_lines;
            lost_total += l["count"].get<uint64_t>();
            if (l.contains("by_type"))
                lost_exec += l["by_type"].value("exec", uint64_t{0});
            else
                ++lost_without_by_type;
            return;
        }
        if (type != "fork" && type != "exec" && type != "exit")
            return;
        auto pid = l["pid"].get<pid_t>();
        if (type == "fork") {
            state[pid] = 'f';
        } else if (type == "exec") {
            int seq = seq_of(l);
            if (seq < 0) {
                state.erase(pid);
                return;
            }
            if (!seen.insert(seq).second)
                ++duplicates;
            fork_ok += state[pid] == 'f';
            state[pid] = 'e';
        } else {
            exit_ok += state[pid] == 'e';
            state.erase(pid);
        }
    }
    uint64_t accounted() const { return seen.size() + lost_exec; }

    // The <seq> of a storm exec line (argv[1] "<token>-<seq>"), or -1.
    int seq_of(const json& exec) const {
        const auto& argv = exec["argv"];
        if (argv.size() < 2)
            return -1;
        const std::string& arg = argv[1].get_ref<const std::string&>();
        if (arg.size() <= token.size() + 1 || arg.compare(0, token.size(), token) != 0 ||
            arg[token.size()] != '-' || !std::isdigit(static_cast<unsigned char>(arg[token.size() + 1])))
            return -1;
        return std::atoi(arg.c_str() + token.size() + 1);
    }
};

// Reads and tallies lines until done() or the timeout; returns done().
bool read_until(Client& c, StormTally& t, const std::function<bool()>& done,
                std::chrono::milliseconds timeout, const std::function<void(const json&)>& also = {}) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        auto l = c.next(100ms);
        if (!l)
            continue;
        t.add(*l);
        if (also)
            also(*l);
    }
    return done();
}

// Waits until a marker exec of ours ("<token>-<what>") comes out of the
// client: the whole path (probe -> ring -> daemon -> client) is live and has
// passed everything the kernel queued before it.
bool marker_seen(Client& c, StormTally& t, const std::string& what) {
    const std::string arg = t.token + "-" + what;
    bool seen = false;
    auto is_marker = [&](const json& l) {
        if (l.value("type", "") == "exec" && l["argv"].size() > 1 && l["argv"][1] == arg)
            seen = true;
    };
    auto marker_arrived = [&] {
        return seen;
    };
    for (int i = 0; i < 50 && !seen; ++i) {
        run({noop_path(), arg});
        read_until(c, t, marker_arrived, 200ms, is_marker);
    }
    return seen;
}

char proc_state(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = stat.rfind(')');
    return close == std::string::npos || close + 2 >= stat.size() ? '?' : stat[close + 2];
}

// The daemon SIGSTOPped for this object's life (or until resume()): a failed
// check cannot leave it stopped, where SIGTERM would not end it.
class Stopped {
public:
    explicit Stopped(pid_t pid) : pid_(pid) {
        kill(pid_, SIGSTOP);
        auto deadline = std::chrono::steady_clock::now() + 2s;
        while (proc_state(pid_) != 'T' && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(1ms);
    }
    ~Stopped() { resume(); }
    Stopped(const Stopped&) = delete;
    bool stopped() const { return proc_state(pid_) == 'T'; }
    void resume() {
        if (pid_ > 0)
            kill(pid_, SIGCONT);
        pid_ = -1;
    }

private:
    pid_t pid_;
};

} // namespace

TEST_CASE("a full kernel ring: execs delivered + execs the lost lines count == execs spawned, exactly",
          "[loss]") {
    require_root();
    const int total = 5000;
    // A 64 KiB ring holds a few hundred records; following only this test's
    // tree makes the kernel's drop counts ours alone, so the sum can be exact.
    Daemon d({"--ring-size", "65536", "--follow", std::to_string(getpid())});
    Client c(d.socket());
    REQUIRE(c.next()); // hello
    StormTally t("loss-" + std::to_string(getpid()));
    REQUIRE(marker_seen(c, t, "ready"));

    double took = 0;
    {
        // Stopped from before the storm until 0.3 s into it: however fast the
        // storm, the ring fills while nobody reads it.
        Stopped stopped(d.pid());
        REQUIRE(stopped.stopped());
        std::atomic<bool> storming{true};
        std::jthread storm([&] {
            took = run_storm(t.token, total);
            storming = false;
        });
        std::this_thread::sleep_for(300ms);
        stopped.resume();
        auto storm_ended = [&] {
            return !storming;
        };
        read_until(c, t, storm_ended, 120s);
    }
    // Then until every exec is accounted for (or it is clear some are not).
    auto all_accounted = [&] {
        return t.accounted() >= total;
    };
    read_until(c, t, all_accounted, 10s);
    REQUIRE(took >= 0);
    // What the kernel counted as dropped, against what the lost lines said.
    c.send(R"({"type":"stats"})");
    std::optional<json> stats;
    auto keep_stats = [&](const json& l) {
        if (l.value("type", "") == "stats")
            stats = l;
    };
    auto have_stats = [&] {
        return stats.has_value();
    };
    read_until(c, t, have_stats, 10s, keep_stats);
    REQUIRE(stats);

    INFO(t.seen.size() << " execs delivered + " << t.lost_exec << " in " << t.lost_lines
                       << " lost line(s) (all types " << t.lost_total << ") of " << total
                       << " spawned; the kernel counted " << (*stats)["kernel_lost"].dump());
    CHECK(t.lost_exec > 0); // else the accounting was not exercised
    CHECK(t.lost_without_by_type == 0);
    CHECK(t.duplicates == 0);
    CHECK(t.accounted() == static_cast<uint64_t>(total));
    CHECK((*stats)["kernel_lost"]["exec"].get<uint64_t>() == t.lost_exec);
    CHECK((*stats)["kernel_lost"]["total"].get<uint64_t>() == t.lost_total);
    WARN(t.seen.size() << " + " << t.lost_exec << " lost = " << t.accounted() << " of " << total
                       << " execs; storm " << took << " s");
    CHECK(d.stop() == 0);
}

TEST_CASE("5,000 execs through the default ring: every exec with its fork and exit, none lost", "[loss]") {
    require_root();
    const int total = 5000;
    Daemon d({"--follow", std::to_string(getpid())});
    Client c(d.socket());
    REQUIRE(c.next()); // hello
    StormTally t("noloss-" + std::to_string(getpid()));
    REQUIRE(marker_seen(c, t, "ready"));

    // A sanitized daemon is a few times slower: a full-speed storm overruns the
    // ring, which says nothing of loss in the product. It gets a rate it sustains.
    const int rate = maps_library(d.pid(), "libasan") ? 4000 : 0;
    std::atomic<bool> storming{true};
    double took = 0;
    {
        std::jthread storm([&] {
            took = run_storm(t.token, total, 2, rate);
            storming = false;
        });
        auto storm_ended = [&] {
            return !storming;
        };
        read_until(c, t, storm_ended, 120s);
    }
    REQUIRE(took >= 0);
    // The exit of the last exec comes after its exec line: wait for the stream
    // to pass a marker spawned after the storm.
    REQUIRE(marker_seen(c, t, "end"));

    INFO(t.seen.size() << " of " << total << " execs, fork first " << t.fork_ok << ", exit after "
                       << t.exit_ok << ", lost " << t.lost_total << " in " << t.lost_lines << " line(s)");
    CHECK(t.seen.size() == static_cast<size_t>(total));
    CHECK(t.fork_ok == total);
    CHECK(t.exit_ok == total);
    CHECK(t.duplicates == 0);
    CHECK(t.lost_lines == 0);
    WARN(total << " execs in " << took << " s, none lost");
    CHECK(d.stop() == 0);
}
