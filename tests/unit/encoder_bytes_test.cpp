// The encoder's exact bytes for every field and edge case, pinned to
// checked-in golden lines (tests/unit/encoder_golden.txt: "name<TAB>line").
// The lines were checked by hand and against the schema when written; a
// change of the encoder's output fails here until the golden file is
// regenerated (EXECMOND_UPDATE_GOLDEN=1 build/tests/unit_tests "[bytes]")
// and the diff reviewed.
#include "encoder.hpp"
#include "record_builder.hpp"
#include "record_decoder.hpp"

#include <catch2/catch_test_macros.hpp>

#include <cstdlib>
#include <fstream>
#include <map>

using namespace execmond;
using namespace std::string_view_literals;

namespace {

const BootClock clock_2026(1767225600ll * 1'000'000'000ll);

std::string golden_path() {
    const char* p = std::getenv("EXECMOND_ENCODER_GOLDEN");
    return p ? p : "tests/unit/encoder_golden.txt";
}

std::map<std::string, std::string>& golden_lines() {
    static std::map<std::string, std::string> lines = [] {
        std::map<std::string, std::string> m;
        std::ifstream in(golden_path());
        std::string line;
        while (std::getline(in, line)) {
            auto tab = line.find('\t');
            if (tab != std::string::npos)
                m[line.substr(0, tab)] = line.substr(tab + 1) + "\n";
        }
        return m;
    }();
    return lines;
}

// The seq golden lines carry: the daemon numbers every event line.
constexpr uint64_t golden_seq = 4242;

// The line `name` must be, byte for byte; encoded twice (nothing carried over).
void golden(const std::string& name, const Encoder& enc, const Event& e, const Lineage& lineage = {}) {
    CAPTURE(name);
    std::string got = enc.encode(e, lineage, golden_seq);
    CHECK(enc.encode(e, lineage, golden_seq) == got);
    auto& lines = golden_lines();
    if (std::getenv("EXECMOND_UPDATE_GOLDEN")) {
        lines[name] = got;
        std::ofstream out(golden_path());
        for (const auto& [n, l] : lines)
            out << n << '\t' << l; // l ends in '\n'
        return;
    }
    auto it = lines.find(name);
    INFO("golden file " << golden_path());
    REQUIRE(it != lines.end());
    CHECK(got == it->second);
}

Event decoded(const std::vector<char>& bytes) {
    auto r = decode_record(bytes.data(), bytes.size());
    REQUIRE(std::holds_alternative<Event>(r));
    return std::get<Event>(r);
}

ProcessInfo process(Pid pid, uint64_t ticks, std::string comm, std::string filename) {
    ProcessInfo p;
    p.pid = pid;
    p.start_ticks = ticks;
    p.start_ns = ticks * 10'000'000;
    p.comm = std::move(comm);
    p.filename = std::move(filename);
    return p;
}

} // namespace

TEST_CASE("encoder bytes: exec argv cases", "[encoder][bytes]") {
    Encoder enc(clock_2026, {});
    int n = 0;
    for (std::string_view args :
         {""sv, "a\0"sv, "x\0\0y\0"sv, "x\0abc"sv, "ok\0bad\xff\0"sv, "\"q\"\0back\\slash\0tab\tnl\n\0"sv,
          "ctl\x01\x1f\x7f\0"sv, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\0"sv, "\xc3\0\xed\xa0\x80\0"sv,
          "\0\0\0"sv}) {
        CAPTURE(args);
        std::string name = "exec-args-" + std::to_string(n++);
        golden(name, enc, decoded(test::exec_record(42, 7, "echo", "/bin/echo", args)));
        golden(name + "-cut", enc, decoded(test::exec_record(42, 7, "echo", "/bin/echo", args, 9000)));
    }
}

TEST_CASE("encoder bytes: escaped names, exits, forks", "[encoder][bytes]") {
    Encoder enc(clock_2026, {});
    golden("exec-escaped-names", enc, decoded(test::exec_record(1, 0, "c\xfe", "/tmp/\xff", "a\0"sv)));
    golden("exec-quoted-names", enc,
           decoded(test::exec_record(1, 0, "a\"b\\c", "/tmp/\"x\"\\y\x01", "a\0"sv)));
    golden("exec-16-byte-comm", enc, decoded(test::exec_record(1, 0, "0123456789abcdef", "/x", "a\0"sv)));
    for (uint32_t status : {0u, 3u << 8, 255u << 8, 9u, 11u | 0x80, 0x7fu})
        golden("exit-status-" + std::to_string(status), enc, decoded(test::exit_record(5, 1, "sh", status)));
    golden("fork", enc, decoded(test::fork_record(10, 9, "bash")));
    golden("fork-escaped-comm", enc, decoded(test::fork_record(10, 9, "b\xff")));
}

TEST_CASE("encoder bytes: header fields", "[encoder][bytes]") {
    Encoder enc(clock_2026, {});
    // The Event views into the record's bytes: keep them alive.
    const auto record = test::exec_record(42, 7, "echo", "/bin/echo", "e\0"sv);
    Event e = decoded(record);
    e.argc = 1;
    e.ns_pid = 3;
    e.pidns_id = 0;
    e.cgroup_id = 0;
    e.uid = 4294967295u;
    e.parent_source = ParentSource::fork_map;
    golden("header", enc, e);
    for (KtimeNs t : {0ull, 1ull, 999'999'999ull, 1'000'000'000ull, 86'399'999'999'999ull, 18'446'744'073ull,
                      // Nonsense far-future stamps saturate like BootClock::rfc3339 (found by record_fuzz).
                      7'885'630'330'861'122'048ull, 1ull << 63, ~0ull}) {
        e.ktime_ns = t;
        golden("header-ktime-" + std::to_string(t), enc, e);
    }
    // A clock far in the past (negative wall time) and one whose offset is odd.
    BootClock odd(-5'000'000'123ll);
    Encoder enc_odd(odd, {});
    e.ktime_ns = 5'000'000'000; // 123 ns before the epoch
    golden("header-negative-wall-time", enc_odd, e);
}

TEST_CASE("encoder bytes: redaction", "[encoder][bytes]") {
    std::vector<std::string> redact{"^--token=", "secret"};
    Encoder enc(clock_2026, redact);
    golden("exec-redacted", enc,
           decoded(test::exec_record(1, 0, "x", "/x", "curl\0--token=abc\0-v\0my-secret\0bad\xff\0"sv)));
}

TEST_CASE("encoder bytes: lineage, cached ancestors", "[encoder][bytes]") {
    Encoder enc(clock_2026, {});
    ProcessInfo self = process(42, 499, "echo", "/bin/echo");
    self.fork_ppid = 7;
    ProcessInfo parent = process(7, 100, "bash", "/usr/bin/bash");
    ProcessInfo odd = process(5, 50, "we\"ird\xff", "/opt/\\x\xfe");
    ProcessInfo init = process(1, 1, "systemd", "");
    std::vector<const ProcessInfo*> ancestors{&parent, &odd, &init};
    Lineage l{&self, &parent, &ancestors, "/system.slice/x\".service"};
    // The Event views into the record's bytes: keep them alive.
    const auto record = test::exec_record(42, 7, "echo", "/bin/echo", "e\0"sv);
    Event e = decoded(record);
    golden("lineage", enc, e, l);
    CHECK(enc.cached_ancestors() == 3);

    SECTION("a changed ancestor is written anew") {
        parent.comm = "python3";
        golden("lineage-parent-comm", enc, e, l);
        parent.filename = "/usr/bin/python3";
        golden("lineage-parent-filename", enc, e, l);
        parent.start_ticks = 101;
        golden("lineage-parent-ticks", enc, e, l);
        parent.start_ns = 1;
        golden("lineage-parent-start", enc, e, l);
    }
    SECTION("a reused pid is a different ancestor") {
        ProcessInfo reused = process(7, 900, "sh", "/bin/sh");
        std::vector<const ProcessInfo*> other{&reused, &init};
        Lineage l2{&self, &reused, &other, {}};
        golden("lineage-reused-pid", enc, e, l2);
        golden("lineage", enc, e, l);
    }
    SECTION("an empty ancestor list, and ancestors on a fork line") {
        std::vector<const ProcessInfo*> none;
        golden("lineage-no-ancestors", enc, e, Lineage{&self, &parent, &none, {}});
        golden("lineage-fork", enc, decoded(test::fork_record(10, 9, "bash")), l);
    }
}
