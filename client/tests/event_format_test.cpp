#include "event_format.hpp"
#include "kernel_text.hpp"

#include <catch2/catch_test_macros.hpp>

using namespace execmon;

namespace {

UserNames fake_users() {
    return UserNames([](uint32_t uid) -> std::optional<std::string> {
        if (uid == 0)
            return "root";
        if (uid == 1000)
            return "alice";
        return std::nullopt;
    });
}

json exec_line() {
    return json::parse(
        R"({"type":"exec","seq":7,"time":"2026-01-01T10:20:30.123456789Z","ktime_ns":5000000000,"pid":4242,"tid":4242,"ppid":4200,"uid":1000,"gid":1000,"comm":"echo","euid":1000,"egid":1000,"filename":"/bin/echo","argv":["/bin/echo","a b","it's"],"argv_truncated":false,"argc":3,"key":"4242:500","parent_key":"4200:490","cgroup_id":1,"parent_source":"btf","ancestors":[]})");
}

} // namespace

TEST_CASE("an exec is one line: time, user, pid, ppid, the quoted command", "[format]") {
    auto users = fake_users();
    EventFormatter f(users, true, 100);
    CHECK(render(f.exec(exec_line()), 0, false) ==
          "10:20:30.123 alice       4242    4200 /bin/echo 'a b' 'it'\\''s'");
}

TEST_CASE("escaped kernel bytes are restored before quoting", "[format]") {
    auto line = exec_line();
    // The daemon escapes invalid UTF-8 as \xNN and doubles backslashes.
    line["argv"] = {"/bin/echo", "\\xff", "a\\\\b\nc"};
    line["argv_escaped"] = {1, 2};
    auto argv = argv_bytes(line);
    REQUIRE(argv.size() == 3);
    CHECK(argv[1] == "\xff");
    CHECK(argv[2] == "a\\b\nc");
    auto users = fake_users();
    EventFormatter f(users, true, 100);
    std::string out = render(f.exec(line), 0, false);
    CHECK(out.find("/bin/echo $'\\xff' $'a\\\\b\\nc'") != std::string::npos);
    CHECK(out.find('\n') == std::string::npos); // one line, whatever the argv
}

TEST_CASE("unescaping leaves text that was not escaped alone", "[format]") {
    CHECK(unescape_kernel_text("a\\\\b\\xffc\\xzz\\") == "a\\b\xff"
                                                         "c\\xzz\\");
}

TEST_CASE("a uid without a name shows its number; root stands out", "[format]") {
    auto users = fake_users();
    EventFormatter f(users, true, 100);
    auto line = exec_line();
    line["uid"] = 4321;
    CHECK(render(f.exec(line), 0, false).find(" 4321 ") != std::string::npos);
    line["uid"] = 0;
    CHECK(render(f.exec(line), 0, true).find("\x1b[31mroot") != std::string::npos);
}

TEST_CASE("cwd, container and login user follow the command when present", "[format]") {
    auto users = fake_users();
    EventFormatter f(users, true, 100);
    auto line = exec_line();
    line["uid"] = 0;
    line["cwd"] = "/home/alice/my dir";
    line["container_id"] = "3f2a1b9c8d7e" + std::string(52, '0');
    line["container_runtime"] = "docker";
    line["auid"] = 1000;
    CHECK(render(f.exec(line), 0, false) ==
          "10:20:30.123 root        4242    4200 /bin/echo 'a b' 'it'\\''s'  cwd='/home/alice/my dir'"
          "  container=docker:3f2a1b9c8d7e  login=alice");
    line.erase("container_id");
    line["container_runtime"] = "nspawn";
    line["container_name"] = "web1";
    CHECK(render(f.exec(line), 0, false).find("  container=nspawn:web1  login=alice") != std::string::npos);
}

TEST_CASE("a privileged, fileless or modified program is flagged after the notes", "[format]") {
    auto users = fake_users();
    EventFormatter f(users, true, 100);
    auto line = exec_line();
    line["cwd"] = "/";
    line["secure_exec"] = false;
    line["fileless"] = false;
    CHECK(render(f.exec(line), 0, false).find("[") == std::string::npos);
    line["secure_exec"] = true;
    line["fileless"] = true;
    line["exe_package_modified"] = true;
    CHECK(render(f.exec(line), 0, false).ends_with("  cwd=/  [privileged]  [fileless]  [modified]"));
}

TEST_CASE("an argv[0] that names another program shows the real path", "[format]") {
    auto users = fake_users();
    EventFormatter f(users, true, 100);
    auto line = exec_line();
    line["argv"] = {"sshd", "-D"};
    line["filename"] = "/tmp/.x";
    CHECK(render(f.exec(line), 0, false).find("sshd -D  exe=/tmp/.x") != std::string::npos);
    line["argv"] = {"-bash"};
    line["filename"] = "/bin/bash";
    CHECK(render(f.exec(line), 0, false).find("exe=") == std::string::npos);
    line["argv"] = {"/bin/sh", "./run.sh"}; // a #! script
    line["filename"] = "./run.sh";
    CHECK(render(f.exec(line), 0, false).find("exe=") == std::string::npos);
}

TEST_CASE("a truncated argv says so", "[format]") {
    auto users = fake_users();
    EventFormatter f(users, true, 100);
    auto line = exec_line();
    line["argv_truncated"] = true;
    line["argc"] = 5000;
    CHECK(render(f.exec(line), 0, false).find("(truncated, 3 of 5000 arguments)") != std::string::npos);
}

TEST_CASE("an exit names the command of its exec, its status and run time", "[format]") {
    auto users = fake_users();
    EventFormatter f(users, true, 100);
    f.exec(exec_line());
    auto exit = json::parse(
        R"({"type":"exit","seq":9,"time":"2026-01-01T10:20:31.000000000Z","ktime_ns":6250000000,"pid":4242,"tid":4242,"ppid":4200,"uid":1000,"gid":1000,"comm":"echo","exit_code":3,"signal":null,"key":"4242:500","cgroup_id":1,"parent_source":"btf"})");
    // Started at tick 500 of 100 Hz = 5 s; exited at 6.25 s.
    CHECK(render(f.exit(exit), 0, false) ==
          "10:20:31.000 alice       4242    4200 exit 3 after ~1.25 s  /bin/echo 'a b' 'it'\\''s'");
    exit["signal"] = 9;
    exit["exit_code"] = 0;
    exit["core_dumped"] = true;
    exit["duration_ns"] = 2500000;
    // The command was forgotten with the first exit: the comm names it now.
    CHECK(render(f.exit(exit), 0, false) ==
          "10:20:31.000 alice       4242    4200 killed by SIGKILL (core dumped) after 2 ms  echo");
}

TEST_CASE("lost lines are loud and say where the loss was", "[format]") {
    auto users = fake_users();
    EventFormatter f(users, true, 100);
    auto lost = json::parse(
        R"({"type":"lost","seq":10,"time":"2026-01-01T10:20:31.000000000Z","count":12,"reason":"kernel_ring_full","by_type":{"fork":4,"exec":4,"exit":4}})");
    std::string out = render(f.lost(lost), 0, true);
    CHECK(out.find("\x1b[1;31m!! 12 events lost in the kernel") != std::string::npos);
    CHECK(out.find("fork 4 exec 4 exit 4") != std::string::npos);
}

TEST_CASE("local time follows TZ; --utc does not", "[format]") {
    auto users = fake_users();
    setenv("TZ", "Asia/Kolkata", 1); // +05:30, no summer time
    tzset();
    EventFormatter local(users, false, 100), utc(users, true, 100);
    CHECK(local.time_text(exec_line()) == "15:50:30.123");
    CHECK(utc.time_text(exec_line()) == "10:20:30.123");
    unsetenv("TZ");
    tzset();
}
