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

json encode(const std::vector<char>& bytes, const Lineage& lineage = {}, std::vector<std::string> redact = {},
            const std::vector<std::string>& env = {}) {
    auto r = decode_record(bytes.data(), bytes.size(), env);
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

TEST_CASE("who and where on an exec line: each member, absent when unknown", "[encoder]") {
    test::Identity id;
    id.interp = "/bin/sh";
    id.flags = EXECMOND_EXEC_FILELESS | EXECMOND_EXEC_SECURE;
    auto j = encode(test::with_identity(test::exec_record(42, 7, "x", "/x", "x\0"sv), id));
    CHECK(j["cwd"] == "/home/u/src");
    CHECK(j["exe"] == "/usr/bin/echo");
    CHECK(j["interpreter"] == "/bin/sh");
    CHECK(j["fileless"] == true);
    CHECK(j["secure_exec"] == true);
    CHECK(j["auid"] == 1000);
    CHECK(j["session_id"] == 3);
    CHECK(j["tty"] == "pts/3");
    CHECK(j["exe_file"] == json{{"dev", "254:1"},
                                {"ino", 1835041},
                                {"mode", "0755"},
                                {"uid", 0},
                                {"gid", 0},
                                {"size", 125560},
                                {"mtime", "2023-01-05T22:11:57.000000005Z"},
                                {"nlink", 1}});
    CHECK_FALSE(j.contains("cwd_truncated"));

    id.auid = id.session_id = 4294967295u;
    id.tty_dev = 0;
    id.interp.clear();
    id.flags = 0;
    auto unset = encode(test::with_identity(test::exec_record(42, 7, "x", "/x", "x\0"sv), id));
    for (const char* m : {"auid", "session_id", "tty", "interpreter", "fileless", "secure_exec"})
        CHECK_FALSE(unset.contains(m));

    auto unknown = encode(test::exec_record(42, 7, "x", "/x", "x\0"sv));
    for (const char* m : {"cwd", "exe", "exe_file", "auid", "session_id", "tty"})
        CHECK_FALSE(unknown.contains(m));
}

TEST_CASE("tty names follow the kernel's numbering", "[encoder]") {
    CHECK(TtyNames::fixed_name(136, 3) == "pts/3");
    CHECK(TtyNames::fixed_name(137, 1) == "pts/257");
    CHECK(TtyNames::fixed_name(4, 1) == "tty1");
    CHECK(TtyNames::fixed_name(4, 64) == "ttyS0");
    CHECK(TtyNames::fixed_name(5, 1) == "console");
    CHECK(TtyNames::fixed_name(188, 0).empty());
    TtyNames names("/nonexistent");
    CHECK(names.name(0).empty());
    CHECK(names.name((188u << 8) | 0) == "188:0");
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

TEST_CASE("exit record -> resource usage, absent when unknown", "[encoder]") {
    auto j = encode(test::exit_usage_record(5, 1, "burn"));
    CHECK(j["duration_ns"] == 712'000'000);
    CHECK(j["cpu_user_ns"] == 300'500'000);
    CHECK(j["cpu_system_ns"] == 300'500'000);
    CHECK(j["max_rss_kib"] == 12608 * (sysconf(_SC_PAGESIZE) / 1024));
    CHECK(j["voluntary_ctxt_switches"] == 3);
    CHECK(j["nonvoluntary_ctxt_switches"] == 17);
    auto rec = test::exit_usage_record(5, 1, "burn");
    test::set_unknown(rec, EXECMOND_UNKNOWN_USAGE);
    auto unknown = encode(rec);
    for (const char* k : {"duration_ns", "cpu_user_ns", "cpu_system_ns", "max_rss_kib",
                          "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"})
        CHECK_FALSE(unknown.contains(k));
}

TEST_CASE("--env: only the allowlisted variables present, absent without --env", "[encoder]") {
    auto rec =
        test::exec_env_record(9, "env\0"sv, "PATH=/bin\0LD_PRELOAD=/x.so\0LD_PRELOAD_X=1\0E=\0S=pw\0"sv);
    auto j = encode(rec, {}, {}, {"LD_PRELOAD", "E", "MISSING", "LD"});
    CHECK(j["env"] == json({{"LD_PRELOAD", "/x.so"}, {"E", ""}}));
    CHECK_FALSE(j.contains("env_truncated"));
    CHECK(j.dump().find("pw") == std::string::npos);
    CHECK(j.dump().find("/bin\"") == std::string::npos);
    CHECK_FALSE(encode(rec).contains("env"));
    auto cut = encode(test::exec_env_record(9, "env\0"sv, "E=1\0"sv, 9000), {}, {}, {"E"});
    CHECK(cut["env"] == json({{"E", "1"}}));
    CHECK(cut["env_truncated"] == true);
    auto forkmap = test::exec_env_record(9, "env\0"sv, ""sv);
    test::set_unknown(forkmap, EXECMOND_UNKNOWN_ENV);
    CHECK_FALSE(encode(forkmap, {}, {}, {"E"}).contains("env"));
}

TEST_CASE("exec_failed record -> filename, argv and the errno's name", "[encoder]") {
    auto j = encode(test::exec_failed_record(42, "sh", "/nope", "/nope\0-x\0"sv, -2));
    CHECK(j["type"] == "exec_failed");
    CHECK(j["filename"] == "/nope");
    CHECK(j["argv"] == json::array({"/nope", "-x"}));
    CHECK(j["argv_truncated"] == false);
    CHECK_FALSE(j.contains("argc"));
    CHECK(j["errno"] == "ENOENT");
    CHECK(j["parent_source"] == "unknown");
    CHECK(encode(test::exec_failed_record(42, "sh", "/x", "a\0"sv, -13))["errno"] == "EACCES");
    CHECK(encode(test::exec_failed_record(42, "sh", "/x", "a\0"sv, -4000))["errno"] == "4000");
    auto cut = encode(test::exec_failed_record(42, "sh", "/x", "a\0"sv, -2, EXECMOND_FAILED_ARGS_TRUNCATED));
    CHECK(cut["argv_truncated"] == true);
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

TEST_CASE("exec lines carry the parent's argv, bounded, redacted and escaped like argv", "[encoder]") {
    ProcessInfo self, parent;
    self.pid = 42;
    parent.pid = 7;
    parent.comm = "bash";
    parent.args = std::string("bash\0-c\0--password=x\0b\xff\0", 24);
    SECTION("whole") {
        Lineage l{&self, &parent, nullptr, {}};
        auto j = encode(test::exec_record(42, 7, "echo", "/bin/echo", "e\0"sv), l, {"^--password="});
        CHECK(j["parent_argv"] == json::array({"bash", "-c", "[REDACTED]", "b\\xff"}));
        CHECK(j["parent_argv_truncated"] == false);
        CHECK(j["parent_argv_redacted"] == true);
        CHECK(j["parent_argv_escaped"] == json::array({3}));
        CHECK_FALSE(j["ancestors"].is_array()); // no ancestors given: none written
    }
    SECTION("cut at 1 KiB: the head, flagged") {
        parent.args = "sh" + std::string(1, '\0') + std::string(2000, 'a') + std::string(1, '\0');
        Lineage l{&self, &parent, nullptr, {}};
        auto j = encode(test::exec_record(42, 7, "echo", "/bin/echo", "e\0"sv), l);
        REQUIRE(j["parent_argv"].size() == 2);
        CHECK(j["parent_argv"][1] == std::string(Encoder::max_lineage_argv - 3, 'a'));
        CHECK(j["parent_argv_truncated"] == true);
    }
    SECTION("already cut in the table: flagged") {
        parent.args_truncated = true;
        Lineage l{&self, &parent, nullptr, {}};
        auto j = encode(test::exec_record(42, 7, "echo", "/bin/echo", "e\0"sv), l);
        CHECK(j["parent_argv_truncated"] == true);
    }
    SECTION("unknown (a kernel thread, fork-map mode): absent; never on fork and exit lines") {
        ProcessInfo kthread;
        kthread.pid = 2;
        Lineage none{&self, &kthread, nullptr, {}};
        CHECK_FALSE(
            encode(test::exec_record(42, 2, "echo", "/bin/echo", "e\0"sv), none).contains("parent_argv"));
        Lineage l{&self, &parent, nullptr, {}};
        CHECK_FALSE(encode(test::fork_record(42, 7, "bash"), l).contains("parent_argv"));
        CHECK_FALSE(encode(test::exit_record(42, 7, "echo", 0), l).contains("parent_argv"));
    }
}

TEST_CASE("--ancestor-argv puts argv on each ancestor entry, and a changed argv is not served from cache",
          "[encoder]") {
    ProcessInfo self, parent, grandparent;
    self.pid = 42;
    parent.pid = 7;
    parent.comm = "bash";
    parent.args = std::string("bash\0-i\0", 8);
    grandparent.pid = 1;
    grandparent.comm = "init";
    std::vector<const ProcessInfo*> ancestors{&parent, &grandparent};
    Lineage l{&self, &parent, &ancestors, {}};
    auto bytes = test::exec_record(42, 7, "echo", "/bin/echo", "e\0"sv);
    Event e = std::get<Event>(decode_record(bytes.data(), bytes.size()));
    {
        Encoder off(clock_2026, {});
        json j = json::parse(off.encode(e, l));
        CHECK_FALSE(j["ancestors"][0].contains("argv"));
    }
    Encoder on(clock_2026, {}, true);
    json j = json::parse(on.encode(e, l));
    CHECK(j["ancestors"][0]["argv"] == json::array({"bash", "-i"}));
    CHECK(j["ancestors"][0]["argv_truncated"] == false);
    CHECK_FALSE(j["ancestors"][1].contains("argv")); // none known
    parent.args = std::string("bash\0-l\0", 8);
    j = json::parse(on.encode(e, l));
    CHECK(j["ancestors"][0]["argv"] == json::array({"bash", "-l"}));
}

// The identity and parent_argv members of the last line are reused while
// what they show is equal: every change of one fact must reach the next line.
TEST_CASE("identity and parent_argv members are reused only while every fact they show is equal",
          "[encoder]") {
    Encoder reused(clock_2026, {"^--password="});
    ProcessInfo self, parent;
    self.pid = 42;
    parent.pid = 7;
    parent.args = std::string("bash\0-c\0", 8);
    Lineage l{&self, &parent, nullptr, {}};
    // Each line must be the one an encoder that never saw a line before writes.
    auto same_as_fresh = [&](const std::vector<char>& rec) {
        Event e = std::get<Event>(decode_record(rec.data(), rec.size()));
        std::string line = reused.encode(e, l);
        CHECK(line == Encoder(clock_2026, {"^--password="}).encode(e, l));
        return json::parse(line);
    };
    using Patch = void (*)(execmond_exec&);
    auto exec_with = [](const test::Identity& id, Patch patch) {
        auto rec = test::with_identity(test::exec_record(42, 7, "x", "/x", "x\0"sv), id);
        execmond_exec x;
        std::memcpy(&x, rec.data(), sizeof(x));
        patch(x);
        std::memcpy(rec.data(), &x, sizeof(x));
        return rec;
    };
    Patch none = [](execmond_exec&) {
    };

    SECTION("exec lines") {
        test::Identity id;
        same_as_fresh(exec_with(id, none));
        CHECK(same_as_fresh(exec_with(id, none))["cwd"] == "/home/u/src"); // served again
        id.cwd = "/home/u/src2";
        CHECK(same_as_fresh(exec_with(id, none))["cwd"] == "/home/u/src2");
        id.exe = "/usr/bin/echo2";
        CHECK(same_as_fresh(exec_with(id, none))["exe"] == "/usr/bin/echo2");
        id.interp = "/bin/sh";
        CHECK(same_as_fresh(exec_with(id, none))["interpreter"] == "/bin/sh");
        id.auid = 1001;
        CHECK(same_as_fresh(exec_with(id, none))["auid"] == 1001);
        id.session_id = 4;
        CHECK(same_as_fresh(exec_with(id, none))["session_id"] == 4);
        id.tty_dev = (136 << 8) | 4;
        CHECK(same_as_fresh(exec_with(id, none))["tty"] == "pts/4");
        for (__u16 flag : {EXECMOND_EXEC_CWD_TRUNCATED, EXECMOND_EXEC_EXE_TRUNCATED, EXECMOND_EXEC_FILELESS,
                           EXECMOND_EXEC_SECURE}) {
            id.flags = flag;
            same_as_fresh(exec_with(id, none));
        }
        CHECK(same_as_fresh(exec_with(id, [](execmond_exec& x) { x.exe_ino = 9; }))["exe_file"]["ino"] == 9);
        for (Patch p : std::initializer_list<Patch>{
                 [](execmond_exec& x) { x.exe_dev = (8 << 8) | 2; }, [](execmond_exec& x) { x.exe_size = 1; },
                 [](execmond_exec& x) { x.exe_mtime_sec = 1; },
                 [](execmond_exec& x) { x.exe_mtime_nsec = 6; },
                 [](execmond_exec& x) { x.exe_mode = 0104755; }, [](execmond_exec& x) { x.exe_uid = 5; },
                 [](execmond_exec& x) { x.exe_gid = 5; }, [](execmond_exec& x) { x.exe_nlink = 2; },
                 [](execmond_exec& x) { x.hdr.unknown |= EXECMOND_UNKNOWN_AUDIT; },
                 [](execmond_exec& x) { x.hdr.unknown |= EXECMOND_UNKNOWN_IDENT; }, none})
            same_as_fresh(exec_with(id, p));
    }
    SECTION("exit lines: the identity the table keeps") {
        auto kept = std::make_shared<ProcessIdentity>();
        kept->known = kept->audit_known = true;
        kept->cwd = "/srv/a";
        kept->exe = "/usr/bin/a";
        kept->auid = 1000;
        kept->session_id = 3;
        self.shared_identity = kept;
        auto exit = test::exit_record(42, 7, "a", 0);
        same_as_fresh(exit);
        CHECK(same_as_fresh(exit)["cwd"] == "/srv/a");
        kept->cwd = "/srv/b";
        CHECK(same_as_fresh(exit)["cwd"] == "/srv/b");
        kept->exe = "/usr/bin/b";
        CHECK(same_as_fresh(exit)["exe"] == "/usr/bin/b");
        kept->auid = 1001;
        CHECK(same_as_fresh(exit)["auid"] == 1001);
        kept->session_id = 4;
        CHECK(same_as_fresh(exit)["session_id"] == 4);
        kept->tty_dev = (136 << 8) | 4;
        CHECK(same_as_fresh(exit)["tty"] == "pts/4");
        kept->audit_known = false;
        CHECK_FALSE(same_as_fresh(exit).contains("auid"));
        kept->known = false;
        CHECK_FALSE(same_as_fresh(exit).contains("cwd"));
    }
    SECTION("parent_argv") {
        auto exec = exec_with(test::Identity{}, none);
        same_as_fresh(exec);
        CHECK(same_as_fresh(exec)["parent_argv"] == json::array({"bash", "-c"}));
        parent.args = std::string("bash\0-l\0", 8);
        CHECK(same_as_fresh(exec)["parent_argv"] == json::array({"bash", "-l"}));
        parent.args_truncated = true;
        CHECK(same_as_fresh(exec)["parent_argv_truncated"] == true);
        parent.args = std::string("bash\0--password=x\0", 18);
        CHECK(same_as_fresh(exec)["parent_argv_redacted"] == true);
        parent.args.clear();
        CHECK_FALSE(same_as_fresh(exec).contains("parent_argv"));
    }
}

TEST_CASE("container members come from the parsed cgroup path, on every line type", "[encoder]") {
    const std::string id = "4f797c539e6c745de61a93ca3ff892358ecbcaccd8414d5db545c38428142970";
    const std::string path =
        "/kubepods.slice/kubepods-besteffort.slice/"
        "kubepods-besteffort-pod2e0e4d6b_1b5f_4d63_9a5e_7e3b7fd2e0a1.slice/cri-containerd-" +
        id + ".scope";
    Container k8s = parse_container(path);
    Lineage l{nullptr, nullptr, nullptr, path, &k8s};
    for (const auto& bytes : {test::exec_record(42, 7, "echo", "/bin/echo", "e\0"sv),
                              test::fork_record(42, 7, "bash"), test::exit_record(42, 7, "echo", 0)}) {
        auto j = encode(bytes, l);
        CHECK(j["container_runtime"] == "containerd");
        CHECK(j["container_id"] == id);
        CHECK(j["pod_uid"] == "2e0e4d6b-1b5f-4d63-9a5e-7e3b7fd2e0a1");
        CHECK_FALSE(j.contains("container_name"));
    }
    Container box = parse_container("/machine.slice/systemd-nspawn@box.service/payload");
    Lineage named{nullptr, nullptr, nullptr, "/machine.slice/systemd-nspawn@box.service/payload", &box};
    auto j = encode(test::exec_record(42, 7, "echo", "/bin/echo", "e\0"sv), named);
    CHECK(j["container_runtime"] == "nspawn");
    CHECK(j["container_name"] == "box");
    CHECK_FALSE(j.contains("container_id"));
    CHECK_FALSE(j.contains("pod_uid"));
    auto host = encode(test::exec_record(42, 7, "echo", "/bin/echo", "e\0"sv),
                       Lineage{nullptr, nullptr, nullptr, "/"});
    CHECK_FALSE(host.contains("container_runtime"));
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
    parent.args = std::string("bash\0--password=y\0\xfe\0", 20);
    std::vector<const ProcessInfo*> ancestors{&parent};
    std::vector<const ProcessInfo*> none;
    const std::string k8s_path = "/kubepods/burstable/pod2e0e4d6b-1b5f-4d63-9a5e-7e3b7fd2e0a1/"
                                 "4f797c539e6c745de61a93ca3ff892358ecbcaccd8414d5db545c38428142970";
    Container k8s = parse_container(k8s_path);
    Container box = parse_container("/machine.slice/machine-b\\xffx.scope");
    Lineage full{&self, &parent, &ancestors, k8s_path, &k8s};
    Lineage named{&self, &parent, &ancestors, "/machine.slice/machine-b\\xffx.scope", &box};
    Lineage bare{nullptr, nullptr, &none, {}};
    Lineage known{&self, &parent, nullptr, "/"}; // fork and exit lines carry no ancestors
    Encoder enc(clock_2026, {"^--password="}, true);
    std::vector<std::string> lines;
    auto add = [&](const std::vector<char>& bytes, const Lineage& l) {
        auto r = decode_record(bytes.data(), bytes.size());
        REQUIRE(std::holds_alternative<Event>(r));
        lines.push_back(enc.encode(std::get<Event>(r), l, lines.size() + 1)); // the daemon numbers every line
    };
    add(test::exec_record(42, 7, "echo", "/bin/echo", "/bin/echo\0--password=x\0\xff\0"sv), full);
    add(test::exec_record(42, 7, "e\xfe", "/bin/\xff", "/bin/echo\0cut"sv, 9000), bare);
    add(test::exec_record(1, 0, "x", "/x", ""), bare);
    add(test::exec_record(42, 7, "echo", "/bin/echo", "e\0"sv), named);
    add(test::fork_record(10, 9, "bash"), Lineage{&self, &parent, nullptr, k8s_path, &k8s});
    add(test::fork_record(10, 9, "bash"), known);
    add(test::fork_record(10, 0, ""), {});
    add(test::exit_record(5, 1, "sh", 3 << 8), known);
    add(test::exit_record(5, 1, "sh", 11 | 0x80), {});
    add(test::exit_usage_record(5, 1, "burn"), known);
    {
        auto bytes = test::exec_env_record(9, "env\0"sv, "E=\xff\0F=1\0"sv, 9000);
        auto r = decode_record(bytes.data(), bytes.size(), {"E", "F"});
        REQUIRE(std::holds_alternative<Event>(r));
        lines.push_back(enc.encode(std::get<Event>(r), full, lines.size() + 1));
    }
    {
        auto no_usage = test::exit_usage_record(5, 1, "burn");
        test::set_unknown(no_usage, EXECMOND_UNKNOWN_USAGE | EXECMOND_UNKNOWN_EXIT_CODE);
        add(no_usage, known);
    }
    add(test::exec_failed_record(42, "sh", "/nope", "/nope\0--password=x\0"sv, -2), known);
    add(test::exec_failed_record(42, "sh", "/\xff", "a\0cut"sv, -4000, EXECMOND_FAILED_ARGS_TRUNCATED), {});

    std::string report = test::schema_report(lines);
    INFO(report);
    CHECK(report.empty());
}
