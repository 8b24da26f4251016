// --env NAME: exec lines carry the allowlisted variables of the environment
// the new program was given (the truth: the envp this test passed execve()).
#include "harness.hpp"

#include <catch2/catch_test_macros.hpp>
#include <sys/wait.h>
#include <unistd.h>

using namespace execmond::itest;

TEST_CASE("--env: exec lines show the allowlisted variables of the new environment, nothing else",
          "[pipeline][env]") {
    if (!is_root())
        SKIP("needs root to load BPF programs");
    Daemon d(
        {"--env", "LD_PRELOAD", "--env", "SUDO_USER", "--env", "MISSING", "--env", "LD", "--env", "EMPTY"});
    Client c(d.socket());
    REQUIRE(c.next()); // hello
    c.send(json{{"type", "subscribe"}, {"descendants_of", getpid()}, {"events", {"exec"}}}.dump());
    REQUIRE(c.until([](const json& l) { return l["type"] == "subscribed"; }));

    // A name that is a prefix of another (LD, LD_PRELOAD, LD_PRELOAD_X), an
    // empty value, a name not present, and variables not asked for.
    const char* envp[] = {"LD_PRELOAD_X=no", "OTHER=secret-value", "LD_PRELOAD=", "SUDO_USER=alice",
                          "EMPTY=",          "PATH=/usr/bin:/bin", nullptr};
    char* argv[] = {const_cast<char*>("true"), nullptr};
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        execve("/bin/true", argv, const_cast<char* const*>(envp));
        _exit(127);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    auto exec = c.until([&](const json& l) { return l["type"] == "exec" && l["pid"] == pid; });
    REQUIRE(exec);
    INFO("line " << exec->dump());
    CHECK((*exec)["env"] == json({{"LD_PRELOAD", ""}, {"SUDO_USER", "alice"}, {"EMPTY", ""}}));
    CHECK_FALSE(exec->contains("env_truncated"));
    CHECK(exec->dump().find("secret-value") == std::string::npos);
    CHECK(d.stop() == 0);
}
