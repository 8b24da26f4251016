// cgroup id -> path against the real cgroup2 mount, with cgroups the test
// creates (root only).
#include "cgroup_paths.hpp"

#include <catch2/catch_test_macros.hpp>

#include <csignal>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace execmond;

namespace {

// A cgroup of the test's own with one sleeping process in it.
struct TestCgroup {
    std::string dir, path;
    pid_t member = -1;
    uint64_t id = 0;

    TestCgroup(const std::string& root, const std::string& name) {
        path = name;
        dir = root + name;
        REQUIRE(mkdir(dir.c_str(), 0755) == 0);
        struct stat st {};
        REQUIRE(stat(dir.c_str(), &st) == 0);
        id = st.st_ino;
        member = fork();
        REQUIRE(member >= 0);
        if (member == 0) {
            pause();
            _exit(0);
        }
        std::ofstream(dir + "/cgroup.procs") << member << "\n";
    }
    ~TestCgroup() {
        kill(member, SIGKILL);
        waitpid(member, nullptr, 0);
        rmdir(dir.c_str());
    }
};

} // namespace

TEST_CASE("a cgroup created just now resolves at once, by file handle or by /proc", "[cgroup]") {
    if (geteuid() != 0)
        SKIP("needs root to create cgroups");
    CgroupPaths probe;
    if (probe.root().empty())
        SKIP("no cgroup2 mount");
    const std::string root = probe.root();
    const std::string base = "/execmond-unit-" + std::to_string(getpid());
    for (auto lookup : {CgroupPaths::Lookup::handle_then_proc, CgroupPaths::Lookup::proc_only}) {
        bool by_handle = lookup == CgroupPaths::Lookup::handle_then_proc;
        CAPTURE(by_handle);
        CgroupPaths paths(root, lookup);
        // An id nobody has: unknown (and it costs no walk of the hierarchy).
        CHECK(paths.path_of(~0ull - 7, getpid()).empty());
        TestCgroup outer(root, base);
        TestCgroup inner(root, base + "/inner");
        CHECK(paths.path_of(outer.id, outer.member) == base);
        CHECK(paths.path_of(inner.id, inner.member) == base + "/inner");
        CHECK(paths.path_of(outer.id, 0) == base); // cached
        CHECK((by_handle ? paths.by_handle() : paths.by_proc()) == 2);
        // The pid is only a hint: one in another cgroup finds nothing by /proc
        // (confirmed by the directory's inode), while the handle needs no pid.
        TestCgroup other(root, base + "-other");
        CHECK(paths.path_of(other.id, getpid()) == (by_handle ? base + "-other" : ""));
        // The root itself (by /proc: a process in the root cgroup, pid 2 kthreadd).
        struct stat st {};
        REQUIRE(stat(root.c_str(), &st) == 0);
        CHECK(paths.path_of(st.st_ino, 2) == "/");
    }
}
