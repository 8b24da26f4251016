#include "proc_reader.hpp"

#include <catch2/catch_test_macros.hpp>
#include <unistd.h>

using namespace execmond;

TEST_CASE("stat lines with spaces and parentheses in comm parse", "[proc]") {
    auto s =
        ProcReader::parse_stat("123 (a (weird) name) S 45 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9876 0 0\n");
    REQUIRE(s);
    CHECK(s->pid == 123);
    CHECK(s->comm == "a (weird) name");
    CHECK(s->ppid == 45);
    CHECK(s->start_ticks == 9876);
}

TEST_CASE("stat's tty_nr is the controlling tty", "[proc]") {
    auto s = ProcReader::parse_stat("123 (x) S 45 1 1 34819 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9876 0 0\n");
    REQUIRE(s);
    CHECK(s->identity.tty_dev == 34819); // pts/3
}

TEST_CASE("this process's cwd, exe, loginuid and sessionid from the real /proc", "[proc]") {
    ProcReader r;
    auto me = r.read(static_cast<Pid>(getpid()));
    REQUIRE(me);
    char cwd[4096];
    REQUIRE(getcwd(cwd, sizeof(cwd)));
    CHECK(me->identity.known);
    CHECK(me->identity.cwd == cwd);
    CHECK(me->identity.exe == me->exe);
}

TEST_CASE("truncated stat lines are rejected", "[proc]") {
    CHECK_FALSE(ProcReader::parse_stat("123 (x) S 45 1"));
    CHECK_FALSE(ProcReader::parse_stat("garbage"));
}

TEST_CASE("reading this process from the real /proc", "[proc]") {
    ProcReader r;
    auto me = r.read(static_cast<Pid>(getpid()));
    REQUIRE(me);
    CHECK(me->ppid == static_cast<Pid>(getppid()));
    CHECK(me->uid == getuid());
    CHECK_FALSE(me->exe.empty());
    CHECK(me->start_ticks > 0);
}
