// --exec-failures: exec_failed lines against what the failing process itself
// saw (the errno execve() returned to it, which it exits with).
#include "harness.hpp"

#include <catch2/catch_test_macros.hpp>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace execmond::itest;

namespace {

// fork + execve(path, argv); the child exits with execve's errno (0 if the
// exec succeeded and the new program exited 0).
struct Attempt {
    pid_t pid = -1;
    int child_errno = -1;
};

Attempt try_exec(const std::string& path, const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    char* envp[] = {nullptr};
    Attempt a;
    a.pid = fork();
    REQUIRE(a.pid >= 0);
    if (a.pid == 0) {
        execve(path.c_str(), argv.data(), envp);
        _exit(errno);
    }
    int status = 0;
    REQUIRE(waitpid(a.pid, &status, 0) == a.pid);
    REQUIRE(WIFEXITED(status));
    a.child_errno = WEXITSTATUS(status);
    return a;
}

void subscribe_to_this_test(Client& c) {
    c.send(json{{"type", "subscribe"}, {"descendants_of", getpid()}}.dump());
    auto ack = c.until([](const json& l) { return l["type"] == "subscribed" || l["type"] == "error"; });
    REQUIRE(ack);
    REQUIRE((*ack)["type"] == "subscribed");
}

// Lines of `pid` up to and including its exit line.
std::vector<json> lines_until_exit(Client& c, pid_t pid) {
    std::vector<json> out;
    c.until([&](const json& l) {
        if (l.contains("pid") && l["pid"] == pid)
            out.push_back(l);
        return l["type"] == "exit" && l["pid"] == pid;
    });
    return out;
}

const json* of_type(const std::vector<json>& lines, const char* type) {
    for (const auto& l : lines)
        if (l["type"] == type)
            return &l;
    return nullptr;
}

} // namespace

TEST_CASE("--exec-failures: a missing path, a non-executable file and a directory give exec_failed lines",
          "[pipeline][exec_failed]") {
    if (!is_root())
        SKIP("needs root to load BPF programs");
    std::string dir = temp_dir();
    std::string plain = dir + "/not-executable";
    {
        int fd = open(plain.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
        REQUIRE(fd >= 0);
        REQUIRE(write(fd, "#!/bin/sh\n", 10) == 10);
        close(fd);
    }
    Daemon d({"--exec-failures"});
    Client c(d.socket());
    REQUIRE(c.next()); // hello
    subscribe_to_this_test(c);

    struct Case {
        std::string path;
        const char* expected;
    };
    for (const Case& k :
         {Case{dir + "/no/such/file", "ENOENT"}, Case{plain, "EACCES"}, Case{dir, "EACCES"}}) {
        INFO("path " << k.path);
        std::vector<std::string> argv{"attempt", "two words", "", "last"};
        Attempt a = try_exec(k.path, argv);
        REQUIRE(a.child_errno != 0);
        auto lines = lines_until_exit(c, a.pid);
        const json* f = of_type(lines, "exec_failed");
        REQUIRE(f);
        INFO("line " << f->dump());
        CHECK((*f)["errno"] == strerrorname_np(a.child_errno));
        CHECK((*f)["errno"] == k.expected);
        CHECK((*f)["filename"] == k.path);
        CHECK((*f)["argv"] == json(argv));
        CHECK((*f)["argv_truncated"] == false);
        CHECK((*f)["pid"] == a.pid);
        CHECK((*f)["tid"] == a.pid);
        CHECK((*f)["ppid"] == getpid());
        CHECK((*f)["uid"] == getuid());
        CHECK(f->contains("key"));
        CHECK(of_type(lines, "exec") == nullptr);
    }

    // Strings the child never touched: literals of this binary, whose pages a
    // fork does not map until they are read, so the entry copy cannot see
    // them (BPF does not fault pages in); the exit copies them again.
    pid_t literal = fork();
    REQUIRE(literal >= 0);
    if (literal == 0) {
        char* const lit_argv[] = {const_cast<char*>("literal-arg0"), const_cast<char*>("literal-arg1"),
                                  nullptr};
        char* const lit_envp[] = {nullptr};
        execve("/nonexistent-literal/path", lit_argv, lit_envp);
        _exit(errno);
    }
    int literal_status = 0;
    REQUIRE(waitpid(literal, &literal_status, 0) == literal);
    auto literal_lines = lines_until_exit(c, literal);
    const json* lf = of_type(literal_lines, "exec_failed");
    REQUIRE(lf);
    CHECK((*lf)["filename"] == "/nonexistent-literal/path");
    CHECK((*lf)["argv"] == json::array({"literal-arg0", "literal-arg1"}));
    CHECK((*lf)["errno"] == "ENOENT");

    // A successful exec: an exec line, no exec_failed line.
    Attempt ok = try_exec("/bin/true", {"true"});
    REQUIRE(ok.child_errno == 0);
    auto lines = lines_until_exit(c, ok.pid);
    CHECK(of_type(lines, "exec"));
    CHECK(of_type(lines, "exec_failed") == nullptr);

    // A subscription without exec_failed in its events gets none.
    Client only_exec(d.socket());
    REQUIRE(only_exec.next());
    only_exec.send(
        json{{"type", "subscribe"}, {"descendants_of", getpid()}, {"events", {"exec", "exit"}}}.dump());
    REQUIRE(only_exec.until([](const json& l) { return l["type"] == "subscribed"; }));
    Attempt missing = try_exec(dir + "/missing", {"missing"});
    auto exec_only = lines_until_exit(only_exec, missing.pid);
    CHECK(of_type(exec_only, "exec_failed") == nullptr);

    // stats counts them: at least the five execve calls above that returned an
    // error (anything else on the machine may fail an exec too).
    c.send(R"({"type":"stats"})");
    auto stats = c.until([](const json& l) { return l["type"] == "stats"; });
    REQUIRE(stats);
    INFO((*stats)["events"].dump());
    CHECK((*stats)["events"].value("exec_failed", uint64_t{0}) >= 5);
    CHECK(d.stop() == 0);
}

TEST_CASE("without --exec-failures no exec_failed line is sent and no syscall probe is loaded",
          "[pipeline][exec_failed]") {
    if (!is_root())
        SKIP("needs root to load BPF programs");
    Daemon d;
    Client c(d.socket());
    REQUIRE(c.next());
    subscribe_to_this_test(c);
    Attempt a = try_exec(temp_dir() + "/no/such/file", {"x"});
    REQUIRE(a.child_errno == ENOENT);
    auto lines = lines_until_exit(c, a.pid);
    REQUIRE(of_type(lines, "exit"));
    CHECK(of_type(lines, "exec_failed") == nullptr);
    CHECK(d.log().find("sys_enter_execve") == std::string::npos);
    CHECK(d.stop() == 0);
}
