// The output file (--output-file) against the real daemon: the file must hold
// exactly the lines a socket client with the same (default) filter receives
// between two marker execs — across rotations and compression, across a
// SIGHUP reopen, on a disk that fills up (a tiny tmpfs) and on one that stops
// (a frozen ext4) — except where a `lost` line stands, whose count must be the
// size of the gap. The client is the second, independent reader; the storm's
// own argv tokens say which execs the kernel ran.
#include "harness.hpp"

#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <mutex>
#include <sstream>
#include <sys/mount.h>
#include <sys/stat.h>
#include <thread>

using namespace execmond::itest;
namespace fs = std::filesystem;

namespace {

void require_root() {
    if (!is_root())
        SKIP("needs root to load BPF programs");
}

// `count` execs from two spawners (bench/storm, the harness's run_storm).
void storm(const std::string& token, int count) {
    REQUIRE(run_storm(token, count) >= 0);
}

// Runs the no-op binary with one marker argument; its exec line is findable.
void mark(const std::string& marker) {
    auto r = run({noop_path(), marker});
    REQUIRE(WIFEXITED(r.status));
}

bool is_exec_with(const std::string& line, const std::string& arg) {
    return line.starts_with(R"({"type":"exec")") && line.find("\"" + arg + "\"") != std::string::npos;
}

bool is_type(const std::string& line, const char* type) {
    return line.starts_with(std::string(R"({"type":")") + type + "\"");
}

// Reads a client on a thread of its own, so a storm run by the test cannot
// make it a slow client.
class Collector {
public:
    explicit Collector(const std::string& socket) : client_(socket) {
        REQUIRE(client_.next()); // hello
        thread_ = std::thread([this] {
            while (!stop_) {
                auto l = client_.next_line(100ms);
                if (!l)
                    continue;
                std::lock_guard lock(mutex_);
                lines_.push_back(std::move(*l));
            }
        });
    }
    ~Collector() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable())
            thread_.join();
    }
    bool wait_for(const std::string& marker, std::chrono::milliseconds timeout = 10s) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            {
                std::lock_guard lock(mutex_);
                if (std::any_of(lines_.begin(), lines_.end(),
                                [&](const std::string& l) { return is_exec_with(l, marker); }))
                    return true;
            }
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }
    std::vector<std::string> lines() {
        std::lock_guard lock(mutex_);
        return lines_;
    }
    // A stats request, answered in order with the lines: after stop() only.
    json stats() {
        client_.send(R"({"type":"stats"})");
        auto s = client_.until([](const json& l) { return l.value("type", "") == "stats"; });
        REQUIRE(s);
        return *s;
    }

private:
    Client client_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::vector<std::string> lines_;
};

// The lines from the exec carrying `from` to the exec carrying `to`, both included.
std::vector<std::string> window(const std::vector<std::string>& lines, const std::string& from,
                                const std::string& to) {
    auto a =
        std::find_if(lines.begin(), lines.end(), [&](const std::string& l) { return is_exec_with(l, from); });
    auto b = std::find_if(a, lines.end(), [&](const std::string& l) { return is_exec_with(l, to); });
    REQUIRE(a != lines.end());
    REQUIRE(b != lines.end());
    return {a, b + 1};
}

std::string read_text(const fs::path& p) {
    if (p.extension() == ".gz")
        return capture("gzip -dc '" + p.string() + "'");
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string l;
    while (std::getline(in, l))
        out.push_back(l);
    return out;
}

// Rotated generations of `live` (oldest first), then `live` itself.
std::vector<fs::path> generations(const fs::path& live) {
    std::vector<fs::path> out;
    std::string prefix = live.filename().string() + ".";
    for (const auto& e : fs::directory_iterator(live.parent_path())) {
        std::string n = e.path().filename().string();
        if (n.starts_with(prefix) && n.find('T') != std::string::npos && !n.ends_with(".tmp"))
            out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    if (fs::exists(live))
        out.push_back(live);
    return out;
}

std::vector<std::string> file_lines(const std::vector<fs::path>& files) {
    std::vector<std::string> out;
    for (const auto& f : files)
        for (auto& l : split_lines(read_text(f)))
            out.push_back(std::move(l));
    return out;
}

std::vector<std::string> without_hello(std::vector<std::string> lines) {
    std::erase_if(lines, [](const std::string& l) { return is_type(l, "hello"); });
    return lines;
}

size_t count_of(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1))
        ++n;
    return n;
}

// Walks the client's lines and the file's together: equal line for line,
// except that a lost line of `reason` in the file stands for exactly `count`
// of the client's lines. Returns the lines the file's lost lines counted.
uint64_t check_same_but_counted_gaps(const std::vector<std::string>& client,
                                     const std::vector<std::string>& file, const char* reason) {
    size_t i = 0;
    uint64_t lost = 0;
    for (size_t j = 0; j < file.size(); ++j) {
        INFO("file line " << j << ": " << file[j].substr(0, 200));
        if (is_type(file[j], "lost") &&
            file[j].find(std::string("\"reason\":\"") + reason + "\"") != std::string::npos) {
            auto lost_line = json::parse(file[j]);
            auto n = lost_line["count"].get<uint64_t>();
            REQUIRE(i + n <= client.size());
            // The seqs of exactly the client's lines it stands for (the
            // stream's lines, all numbered).
            CHECK(lost_line["first_seq"] == json::parse(client[i])["seq"]);
            CHECK(lost_line["last_seq"] == json::parse(client[i + n - 1])["seq"]);
            lost += n;
            i += n;
            continue;
        }
        REQUIRE(i < client.size());
        REQUIRE(file[j] == client[i]);
        ++i;
    }
    CHECK(i == client.size());
    return lost;
}

// Unmounts at scope exit (lazily: nothing may keep the test from finishing).
struct Mount {
    std::string dir;
    ~Mount() { release(); }
    void release() {
        if (!dir.empty())
            umount2(dir.c_str(), MNT_DETACH);
        dir.clear();
    }
};

} // namespace

TEST_CASE("the output file holds every line a client gets, across rotations, gzip, mode and group",
          "[file]") {
    require_root();
    std::string dir = temp_dir();
    fs::path live = fs::path(dir) / "log" / "events.jsonl";
    const group* nogroup = getgrnam("nogroup");
    REQUIRE(nogroup);
    gid_t gid = nogroup->gr_gid;
    const std::string tag = std::to_string(getpid());
    {
        Daemon d({"--output-file", live.string(), "--output-max-size", "256K", "--output-keep", "1000",
                  "--output-compress", "gzip", "--output-group", "nogroup", "--client-queue", "256M"});
        Collector client(d.socket());
        mark("file-a-" + tag);
        storm("file-storm-" + tag, 3000);
        mark("file-b-" + tag);
        REQUIRE(client.wait_for("file-b-" + tag));
        client.stop();
        json stats = client.stats();
        auto theirs = window(client.lines(), "file-a-" + tag, "file-b-" + tag);
        CHECK(d.stop() == 0); // flushes the file

        auto files = generations(live);
        INFO(files.size() << " files");
        REQUIRE(files.size() > 5); // 3,000 execs are about 2 MB of lines
        CHECK(stats["file"]["rotations"].get<size_t>() + 1 == files.size());
        CHECK(stats["file"]["lost"]["file_slow"] == 0);
        CHECK(stats["file"]["lost"]["file_error"] == 0);
        for (size_t f = 0; f < files.size(); ++f) {
            INFO(files[f]);
            struct stat st {};
            REQUIRE(stat(files[f].c_str(), &st) == 0);
            CHECK((st.st_mode & 0777) == 0640);
            CHECK(st.st_gid == gid);
            CHECK((files[f].extension() == ".gz") == (f + 2 < files.size())); // all but the newest rotated
            std::string text = read_text(files[f]);
            CHECK(text.size() <= 256u * 1024);
            auto lines = split_lines(text);
            REQUIRE(!lines.empty());
            CHECK(is_type(lines[0], "hello")); // each file says which host and stream it holds
        }
        auto ours = window(without_hello(file_lines(files)), "file-a-" + tag, "file-b-" + tag);
        CHECK(ours.size() == theirs.size());
        CHECK(check_same_but_counted_gaps(theirs, ours, "file_slow") == 0);
        // And the kernel's side: every exec of the storm is in the file.
        std::set<int> seqs;
        const std::string token = "\"file-storm-" + tag + "-";
        for (const auto& l : ours)
            if (auto p = l.find(token); p != std::string::npos && is_type(l, "exec"))
                seqs.insert(std::atoi(l.c_str() + p + token.size()));
        CHECK(seqs.size() == 3000);
    }
    fs::remove_all(dir);
}

TEST_CASE("SIGHUP reopens the output file: nothing lost or doubled across a logrotate move", "[file]") {
    require_root();
    std::string dir = temp_dir();
    fs::path live = fs::path(dir) / "events.jsonl";
    fs::path moved = fs::path(dir) / "events.jsonl.1";
    const std::string tag = std::to_string(getpid());
    {
        Daemon d({"--output-file", live.string(), "--client-queue", "256M"});
        Collector client(d.socket());
        mark("hup-a-" + tag);
        storm("hup-1-" + tag, 500);
        fs::rename(live, moved);    // what logrotate does, before its postrotate SIGHUP
        storm("hup-2-" + tag, 500); // still into the moved file, until the signal
        kill(d.pid(), SIGHUP);
        auto deadline = std::chrono::steady_clock::now() + 5s;
        while (!fs::exists(live) && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(10ms);
        REQUIRE(fs::exists(live));
        storm("hup-3-" + tag, 500);
        mark("hup-b-" + tag);
        REQUIRE(client.wait_for("hup-b-" + tag));
        client.stop();
        auto theirs = window(client.lines(), "hup-a-" + tag, "hup-b-" + tag);
        CHECK(d.stop() == 0);

        auto before = split_lines(read_text(moved));
        auto after = split_lines(read_text(live));
        REQUIRE(!after.empty());
        CHECK(is_type(after[0], "hello"));
        CHECK(after.size() > 1000);
        CHECK(before.size() > 1000);
        std::vector<std::string> both = before;
        both.insert(both.end(), after.begin(), after.end());
        auto ours = window(without_hello(both), "hup-a-" + tag, "hup-b-" + tag);
        CHECK(check_same_but_counted_gaps(theirs, ours, "file_slow") == 0);
        CHECK(ours.size() == theirs.size());
        CHECK(d.log().find("reopened output file " + live.string()) != std::string::npos);
    }
    fs::remove_all(dir);
}

TEST_CASE("a full disk: lines are counted as lost where the gap is, one warning, recovery when space returns",
          "[file]") {
    require_root();
    std::string dir = temp_dir();
    std::string mnt = dir + "/small";
    fs::create_directories(mnt);
    Mount m;
    REQUIRE(mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=256k,mode=0755") == 0);
    m.dir = mnt;
    fs::path live = fs::path(mnt) / "events.jsonl";
    const std::string tag = std::to_string(getpid());
    {
        Daemon d({"--output-file", live.string(), "--output-max-size", "0", "--client-queue", "256M"});
        Collector client(d.socket());
        mark("full-a-" + tag);
        storm("full-storm-" + tag, 1500); // about 1 MB of lines into 256 KiB
        storm("full-more-" + tag, 200);   // still full: one warning, not one per write
        REQUIRE(mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT, "size=64m,mode=0755") == 0);
        mark("full-b-" + tag);
        REQUIRE(client.wait_for("full-b-" + tag));
        // The marker's lines reach the file behind the lost line that reports the gap.
        auto deadline = std::chrono::steady_clock::now() + 5s;
        while (read_text(live).find("full-b-" + tag) == std::string::npos &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(20ms);
        client.stop();
        json stats = client.stats();
        auto theirs = window(client.lines(), "full-a-" + tag, "full-b-" + tag);
        std::string log = d.log();
        CHECK(d.stop() == 0);

        auto ours = window(without_hello(split_lines(read_text(live))), "full-a-" + tag, "full-b-" + tag);
        uint64_t reported = check_same_but_counted_gaps(theirs, ours, "file_error");
        WARN("disk full: the client got " << theirs.size() << " lines, the file " << ours.size()
                                          << " with lost lines reporting " << reported);
        CHECK(reported > 0);
        CHECK(stats["file"]["lost"]["file_error"].get<uint64_t>() == reported);
        CHECK(stats["file"]["lost"]["file_slow"] == 0);
        CHECK(count_of(log, "write failed: No space left on device") == 1);
        CHECK(count_of(log, ": writing again;") == 1);
    }
    m.release();
    fs::remove_all(dir);
}

TEST_CASE("a disk that stops (a frozen file system): the loop goes on, the file's queue drops and says so",
          "[file]") {
    require_root();
    if (capture("command -v mkfs.ext4 fsfreeze losetup >/dev/null && losetup -f >/dev/null 2>&1 && echo ok")
            .find("ok") == std::string::npos)
        SKIP("needs mkfs.ext4, fsfreeze and a free loop device");
    std::string dir = temp_dir();
    std::string image = dir + "/disk.img";
    std::string mnt = dir + "/frozen";
    fs::create_directories(mnt);
    REQUIRE(capture("truncate -s 64M '" + image + "' && mkfs.ext4 -q -F '" + image + "' && mount -o loop '" +
                    image + "' '" + mnt + "' && echo ok")
                .find("ok") != std::string::npos);
    Mount m{mnt};
    fs::path live = fs::path(mnt) / "events.jsonl";
    const std::string tag = std::to_string(getpid());
    {
        Daemon d({"--output-file", live.string(), "--output-queue", "64K", "--output-max-size", "0",
                  "--client-queue", "256M"});
        Collector client(d.socket());
        mark("freeze-a-" + tag);
        REQUIRE(client.wait_for("freeze-a-" + tag));
        // Thaws before the daemon stops (declared after it: destroyed first),
        // even if a check below fails.
        struct Thaw {
            std::string dir;
            ~Thaw() { capture("fsfreeze -u '" + dir + "' 2>/dev/null"); }
        } thaw{mnt};
        REQUIRE(capture("sync -f '" + mnt + "' && fsfreeze -f '" + mnt + "' && echo ok").find("ok") !=
                std::string::npos);
        storm("freeze-storm-" + tag, 1500);
        mark("freeze-mid-" + tag);
        // The loop never waited for the disk: the client has the storm already.
        CHECK(client.wait_for("freeze-mid-" + tag, 5s));
        capture("fsfreeze -u '" + mnt + "'");
        mark("freeze-b-" + tag);
        REQUIRE(client.wait_for("freeze-b-" + tag));
        auto deadline = std::chrono::steady_clock::now() + 10s;
        while (read_text(live).find("freeze-b-" + tag) == std::string::npos &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(20ms);
        client.stop();
        json stats = client.stats();
        auto theirs = window(client.lines(), "freeze-a-" + tag, "freeze-b-" + tag);
        std::string log;
        CHECK(d.stop() == 0);
        log = d.log();

        auto ours = window(without_hello(split_lines(read_text(live))), "freeze-a-" + tag, "freeze-b-" + tag);
        uint64_t reported = check_same_but_counted_gaps(theirs, ours, "file_slow");
        WARN("frozen disk: the client got " << theirs.size() << " lines, the file " << ours.size()
                                            << " with lost lines reporting " << reported);
        CHECK(reported > 0);
        CHECK(stats["file"]["lost"]["file_slow"].get<uint64_t>() == reported);
        CHECK(stats["file"]["lost"]["file_error"] == 0);
        CHECK(stats["client_lost"] == 0);
        CHECK(log.find("the writer fell behind") != std::string::npos);
    }
    m.release();
    fs::remove_all(dir);
}
