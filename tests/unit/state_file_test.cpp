// The state file kept across restarts (parse, atomic write) and the gap a
// restart leaves, computed from it and a process table.
#include "restart_gap.hpp"
#include "state_file.hpp"

#include <catch2/catch_test_macros.hpp>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace execmond;
namespace fs = std::filesystem;

namespace {

SavedState sample() {
    SavedState s;
    s.stream_id = "0f0e0d0c-0b0a-0908-0706-050403020100:1234";
    s.boot_id = "0f0e0d0c-0b0a-0908-0706-050403020100";
    s.last_seq = 98765;
    s.written_realtime_ns = 1767225600ll * 1'000'000'000ll;
    s.written_boottime_ns = 50'000'000'000;
    s.clean = true;
    s.processes = {{1, 2}, {4200, 4900}, {4242, 5000}};
    return s;
}

std::string temp_dir() {
    char tmpl[] = "/tmp/execmond-state-XXXXXX";
    REQUIRE(mkdtemp(tmpl));
    return tmpl;
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

ProcSnapshot snap(Pid pid, Pid ppid, uint64_t ticks, std::string comm) {
    ProcSnapshot s;
    s.pid = pid;
    s.ppid = ppid;
    s.start_ticks = ticks;
    s.comm = comm;
    s.exe = "/usr/bin/" + comm;
    return s;
}

} // namespace

TEST_CASE("the state file reads back what was written", "[state]") {
    auto parsed = parse_state(serialize_state(sample()));
    REQUIRE(std::holds_alternative<SavedState>(parsed));
    const SavedState& s = std::get<SavedState>(parsed);
    CHECK(s.stream_id == sample().stream_id);
    CHECK(s.boot_id == sample().boot_id);
    CHECK(s.last_seq == 98765);
    CHECK(s.written_realtime_ns == sample().written_realtime_ns);
    CHECK(s.written_boottime_ns == 50'000'000'000);
    CHECK(s.clean);
    CHECK(s.processes == sample().processes);
}

TEST_CASE("a truncated state file is refused at every length, never misread", "[state]") {
    std::string text = serialize_state(sample());
    // Up to the closing brace: every shorter prefix is an error, not a state.
    size_t whole = text.rfind('}');
    for (size_t n = 0; n < whole; ++n) {
        INFO("first " << n << " bytes");
        CHECK(std::holds_alternative<std::string>(parse_state(text.substr(0, n))));
    }
}

TEST_CASE("a corrupt state file says what is wrong with it", "[state]") {
    auto why = [](const std::string& text) {
        auto r = parse_state(text);
        REQUIRE(std::holds_alternative<std::string>(r));
        return std::get<std::string>(r);
    };
    CHECK(why("\x7f"
              "ELF\x01\x02") == "not JSON (truncated or corrupt)");
    CHECK(why("[1,2]") == "not a JSON object");
    CHECK(why(R"({"format":2})") == "format 2, not 1");
    std::string good = serialize_state(sample());
    std::string bad_seq = good;
    bad_seq.replace(bad_seq.find("98765"), 5, "\"9\"");
    CHECK(why(bad_seq).find("missing or of the wrong type") != std::string::npos);
    std::string bad_key = good;
    bad_key.replace(bad_key.find("\"4242:5000\""), 11, "\"4242-5000\"");
    CHECK(why(bad_key) == "processes: \"4242-5000\" is not a key (\"pid:start_ticks\")");
}

TEST_CASE("the state file is written atomically, private, and loaded back", "[state]") {
    std::string dir = temp_dir() + "/sub"; // created on the first write
    CHECK(load_state(dir).status == "none");
    REQUIRE(write_state_file(dir, serialize_state(sample())) == "");
    CHECK_FALSE(fs::exists(dir + "/state.tmp"));
    struct stat st {};
    REQUIRE(stat((dir + "/state").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto loaded = load_state(dir);
    CHECK(loaded.status == "ok");
    REQUIRE(loaded.state);
    CHECK(loaded.state->last_seq == 98765);

    write_file(dir + "/state", serialize_state(sample()).substr(0, 40)); // a crash mid-write (no rename)
    loaded = load_state(dir);
    CHECK(loaded.status == "unreadable");
    CHECK_FALSE(loaded.state);
    CHECK(loaded.problem.find(dir + "/state: not JSON") == 0);

    CHECK(load_state("").status == "disabled");
    CHECK(write_state_file("/proc/execmond-no", "x").find("create /proc/execmond-no") == 0);
    fs::remove_all(fs::path(dir).parent_path());
}

TEST_CASE("the writer thread writes the newest state, and the last one at stop", "[state]") {
    std::string dir = temp_dir();
    {
        StateWriter w(dir);
        SavedState s = sample();
        for (uint64_t i = 1; i <= 50; ++i) {
            s.last_seq = i;
            w.write_async(serialize_state(s));
        }
        s.last_seq = 1000;
        w.write_now(serialize_state(s));
        CHECK(w.failures() == 0);
    }
    auto loaded = load_state(dir);
    REQUIRE(loaded.state);
    CHECK(loaded.state->last_seq == 1000);
    fs::remove_all(dir);
}

TEST_CASE("the gap: alive and not known is started, known and not alive has exited", "[state]") {
    ProcessTable table{ProcReader("/nonexistent")};
    table.seed_one(snap(1, 0, 2, "systemd"));
    table.seed_one(snap(4200, 1, 4900, "bash"));     // known, alive
    table.seed_one(snap(4242, 1, 5001, "cron"));     // known one tick off (fork-map start): the same
    table.seed_one(snap(5000, 4200, 7000, "sleep")); // new
    table.seed_one(snap(5001, 5000, 7001, "sh"));    // new, child of new
    table.seed_one(snap(4300, 1, 9000, "reused"));   // a pid known with another start: a new process
    LoadedState loaded{sample(), "ok", ""};
    loaded.state->processes.push_back({4300, 4950}); // ... whose old one exited
    loaded.state->processes.push_back({4400, 4960}); // exited, pid free
    auto gap = compute_gap(loaded, "0f0e0d0c-0b0a-0908-0706-050403020100", table, [](Pid pid, bool& cut) {
        cut = pid == 5001;
        return std::optional<std::string>("argv-of-" + std::to_string(pid) + std::string(1, '\0'));
    });
    CHECK(gap.state == "ok");
    REQUIRE(gap.previous);
    CHECK(gap.previous->last_seq == 98765);
    CHECK_FALSE(gap.rebooted);
    REQUIRE(gap.started.size() == 3);
    // Oldest first.
    CHECK(gap.started[0].pid == 5000);
    CHECK(gap.started[0].ppid == 4200);
    CHECK(gap.started[0].parent_start_ticks == 4900);
    CHECK(gap.started[0].args == std::string("argv-of-5000\0", 13));
    CHECK(gap.started[1].pid == 5001);
    CHECK(gap.started[1].ppid == 5000);
    CHECK(gap.started[1].parent_start_ticks == 7000);
    CHECK(gap.started[1].args_truncated);
    CHECK(gap.started[2].pid == 4300);
    CHECK(gap.exited == std::vector<std::string>{"4300:4950", "4400:4960"});
}

TEST_CASE("the gap after a reboot, without a state file, and a process gone before its argv was read",
          "[state]") {
    ProcessTable table{ProcReader("/nonexistent")};
    table.seed_one(snap(1, 0, 2, "systemd"));
    table.seed_one(snap(5000, 1, 7000, "sleep"));
    auto none = [](Pid, bool&) {
        return std::optional<std::string>();
    };
    LoadedState loaded{sample(), "ok", ""};
    auto rebooted = compute_gap(loaded, "11111111-2222-3333-4444-555555555555", table, none);
    CHECK(rebooted.rebooted);
    CHECK(rebooted.started.empty());
    CHECK(rebooted.exited.empty());
    auto fresh = compute_gap(LoadedState{std::nullopt, "none", ""}, sample().boot_id, table, none);
    CHECK(fresh.state == "none");
    CHECK_FALSE(fresh.previous);
    CHECK(fresh.started.empty());
    auto gone = compute_gap(loaded, sample().boot_id, table, none);
    CHECK(gone.started.empty()); // 5000 vanished before its cmdline could be read
}

TEST_CASE("live keys for the state file leave out exited processes", "[state]") {
    ProcessTable table{ProcReader("/nonexistent")};
    table.seed_one(snap(1, 0, 2, "systemd"));
    table.seed_one(snap(7, 1, 100, "bash"));
    Event e;
    e.kind = EventKind::exit;
    e.pid = 7;
    e.ppid = 1;
    e.start_boottime_ns = 100 * ns_per_tick();
    e.ktime_ns = 200 * ns_per_tick();
    table.on_exit(e);
    CHECK(live_keys(table) == std::vector<ProcessKey>{{1, 2}});
}
