// The encoder writes lines with JsonWriter (nlohmann's serializer per key and
// value, cached ancestor entries); these tests pin its bytes to what building
// an ordered_json and dumping it gives, for every field and edge case.
#include "encoder.hpp"
#include "record_builder.hpp"
#include "record_decoder.hpp"
#include "text.hpp"

#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <regex>

using namespace execmond;
using namespace std::string_view_literals;

namespace {

using ojson = nlohmann::ordered_json;

const BootClock clock_2026(1767225600ll * 1'000'000'000ll);

ojson text(std::string_view bytes, bool& escaped) {
    std::string out;
    escaped |= append_json_text(out, bytes);
    return ojson(std::move(out));
}

ojson text(std::string_view bytes) {
    bool ignored = false;
    return text(bytes, ignored);
}

// The encoder as first written: the whole line as one ordered_json, dumped.
std::string reference_encode(const BootClock& clock, const std::vector<std::string>& redact_patterns,
                             const Event& e, const Lineage& lineage) {
    std::vector<std::regex> redact;
    for (const auto& p : redact_patterns)
        redact.emplace_back(p, std::regex::ECMAScript);
    ojson j;
    j["type"] = to_string(e.kind);
    j["time"] = clock.rfc3339(e.ktime_ns);
    j["ktime_ns"] = e.ktime_ns;
    j["pid"] = e.pid;
    j["tid"] = e.kind == EventKind::exec ? e.old_tid : e.tid;
    j["ppid"] = e.ppid;
    j["uid"] = e.uid;
    j["gid"] = e.gid;
    bool comm_escaped = false;
    j["comm"] = text(e.comm, comm_escaped);
    if (comm_escaped)
        j["comm_escaped"] = true;
    if (e.kind == EventKind::exec) {
        j["euid"] = e.euid;
        j["egid"] = e.egid;
        bool filename_escaped = false;
        j["filename"] = text(e.filename, filename_escaped);
        if (filename_escaped)
            j["filename_escaped"] = true;
        ojson argv = ojson::array();
        ojson escaped_at = ojson::array();
        bool any_redacted = false;
        auto args = Encoder::split_args(e.args);
        for (size_t i = 0; i < args.size(); ++i) {
            bool hit = false;
            for (const auto& re : redact)
                hit = hit || std::regex_search(args[i].begin(), args[i].end(), re);
            if (hit) {
                argv.push_back("[REDACTED]");
                any_redacted = true;
                continue;
            }
            bool escaped = false;
            argv.push_back(text(args[i], escaped));
            if (escaped)
                escaped_at.push_back(i);
        }
        bool truncated = e.args_truncated || (!e.args.empty() && e.args.back() != '\0');
        j["argv"] = std::move(argv);
        j["argv_truncated"] = truncated;
        if (e.argc != 0)
            j["argc"] = e.argc;
        if (!escaped_at.empty())
            j["argv_escaped"] = std::move(escaped_at);
        if (any_redacted)
            j["argv_redacted"] = true;
    }
    if (e.kind == EventKind::exit) {
        uint32_t sig = e.exit_status & 0x7f;
        j["exit_code"] = (e.exit_status >> 8) & 0xff;
        j["signal"] = sig != 0 ? ojson(sig) : ojson(nullptr);
        if (e.exit_status & 0x80)
            j["core_dumped"] = true;
    }
    if (lineage.self)
        j["key"] = lineage.self->key();
    if (lineage.parent)
        j["parent_key"] = lineage.parent->key();
    if (e.kind == EventKind::fork)
        j["parent_comm"] = text(e.parent_comm);
    else if (lineage.self && lineage.self->fork_ppid != 0)
        j["fork_ppid"] = lineage.self->fork_ppid;
    if (e.ns_pid != 0 && e.ns_pid != e.pid)
        j["ns_pid"] = e.ns_pid;
    if (e.pidns_id != 0)
        j["pidns"] = e.pidns_id;
    j["cgroup_id"] = e.cgroup_id;
    if (!lineage.cgroup_path.empty())
        j["cgroup"] = text(lineage.cgroup_path);
    j["parent_source"] = to_string(e.parent_source);
    if (lineage.ancestors) {
        ojson list = ojson::array();
        for (const ProcessInfo* a : *lineage.ancestors) {
            ojson item;
            item["pid"] = a->pid;
            item["key"] = a->key();
            item["comm"] = text(a->comm);
            item["filename"] = text(a->filename);
            item["start_ktime_ns"] = a->start_ns;
            list.push_back(std::move(item));
        }
        j["ancestors"] = std::move(list);
    }
    return j.dump(-1, ' ', false, ojson::error_handler_t::replace) + "\n";
}

Event decoded(const std::vector<char>& bytes) {
    auto r = decode_record(bytes.data(), bytes.size());
    REQUIRE(std::holds_alternative<Event>(r));
    return std::get<Event>(r);
}

void same_bytes(const Encoder& enc, const std::vector<std::string>& redact, const Event& e,
                const Lineage& lineage = {}, const BootClock& clock = clock_2026) {
    std::string want = reference_encode(clock, redact, e, lineage);
    CHECK(enc.encode(e, lineage) == want);
    CHECK(enc.encode(e, lineage) == want); // again: nothing carried over wrongly
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

TEST_CASE("encoder bytes equal a dumped ordered_json: exec argv cases", "[encoder][bytes]") {
    Encoder enc(clock_2026, {});
    for (std::string_view args :
         {""sv, "a\0"sv, "x\0\0y\0"sv, "x\0abc"sv, "ok\0bad\xff\0"sv, "\"q\"\0back\\slash\0tab\tnl\n\0"sv,
          "ctl\x01\x1f\x7f\0"sv, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\0"sv, "\xc3\0\xed\xa0\x80\0"sv,
          "\0\0\0"sv}) {
        CAPTURE(args);
        same_bytes(enc, {}, decoded(test::exec_record(42, 7, "echo", "/bin/echo", args)));
        same_bytes(enc, {}, decoded(test::exec_record(42, 7, "echo", "/bin/echo", args, 9000)));
    }
}

TEST_CASE("encoder bytes equal a dumped ordered_json: escaped names, exits, forks", "[encoder][bytes]") {
    Encoder enc(clock_2026, {});
    same_bytes(enc, {}, decoded(test::exec_record(1, 0, "c\xfe", "/tmp/\xff", "a\0"sv)));
    same_bytes(enc, {}, decoded(test::exec_record(1, 0, "a\"b\\c", "/tmp/\"x\"\\y\x01", "a\0"sv)));
    same_bytes(enc, {}, decoded(test::exec_record(1, 0, "0123456789abcdef", "/x", "a\0"sv)));
    for (uint32_t status : {0u, 3u << 8, 255u << 8, 9u, 11u | 0x80, 0x7fu})
        same_bytes(enc, {}, decoded(test::exit_record(5, 1, "sh", status)));
    same_bytes(enc, {}, decoded(test::fork_record(10, 9, "bash")));
    same_bytes(enc, {}, decoded(test::fork_record(10, 9, "b\xff")));
}

TEST_CASE("encoder bytes equal a dumped ordered_json: header fields", "[encoder][bytes]") {
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
    same_bytes(enc, {}, e);
    for (KtimeNs t : {0ull, 1ull, 999'999'999ull, 1'000'000'000ull, 86'399'999'999'999ull, 18'446'744'073ull,
                      // Nonsense far-future stamps saturate like BootClock::rfc3339 (found by record_fuzz).
                      7'885'630'330'861'122'048ull, 1ull << 63, ~0ull}) {
        e.ktime_ns = t;
        same_bytes(enc, {}, e);
    }
    // A clock far in the past (negative wall time) and one whose offset is odd.
    BootClock odd(-5'000'000'123ll);
    Encoder enc_odd(odd, {});
    same_bytes(enc_odd, {}, e, {}, odd);
}

TEST_CASE("encoder bytes equal a dumped ordered_json: redaction", "[encoder][bytes]") {
    std::vector<std::string> redact{"^--token=", "secret"};
    Encoder enc(clock_2026, redact);
    same_bytes(enc, redact,
               decoded(test::exec_record(1, 0, "x", "/x", "curl\0--token=abc\0-v\0my-secret\0bad\xff\0"sv)));
}

TEST_CASE("encoder bytes equal a dumped ordered_json: lineage, cached ancestors", "[encoder][bytes]") {
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
    same_bytes(enc, {}, e, l);
    CHECK(enc.cached_ancestors() == 3);

    SECTION("a changed ancestor is written anew") {
        parent.comm = "python3";
        same_bytes(enc, {}, e, l);
        parent.filename = "/usr/bin/python3";
        same_bytes(enc, {}, e, l);
        parent.start_ticks = 101;
        same_bytes(enc, {}, e, l);
        parent.start_ns = 1;
        same_bytes(enc, {}, e, l);
    }
    SECTION("a reused pid is a different ancestor") {
        ProcessInfo reused = process(7, 900, "sh", "/bin/sh");
        std::vector<const ProcessInfo*> other{&reused, &init};
        Lineage l2{&self, &reused, &other, {}};
        same_bytes(enc, {}, e, l2);
        same_bytes(enc, {}, e, l);
    }
    SECTION("an empty ancestor list, and ancestors on a fork line") {
        std::vector<const ProcessInfo*> none;
        same_bytes(enc, {}, e, Lineage{&self, &parent, &none, {}});
        same_bytes(enc, {}, decoded(test::fork_record(10, 9, "bash")), l);
    }
}
