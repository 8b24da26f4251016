#include "tracefs.hpp"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sched.h>
#include <stdexcept>
#include <string>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace execmond;
using Catch::Matchers::ContainsSubstring;
namespace fs = std::filesystem;

namespace {

// Recorded on Linux 6.18 (x86_64) from /sys/kernel/tracing/events/.../format.
constexpr const char* exec_format =
    "name: sched_process_exec\n"
    "ID: 365\n"
    "format:\n"
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
    "\n"
    "\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n"
    "\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;\n"
    "\tfield:pid_t old_pid;\toffset:16;\tsize:4;\tsigned:1;\n"
    "\n"
    "print fmt: \"filename=%s pid=%d old_pid=%d\", __get_str(filename), REC->pid, "
    "REC->old_pid\n";

constexpr const char* newtask_format =
    "name: task_newtask\n"
    "ID: 205\n"
    "format:\n"
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
    "\n"
    "\tfield:pid_t pid;\toffset:8;\tsize:4;\tsigned:1;\n"
    "\tfield:char comm[16];\toffset:12;\tsize:16;\tsigned:0;\n"
    "\tfield:u64 clone_flags;\toffset:32;\tsize:8;\tsigned:0;\n"
    "\tfield:short oom_score_adj;\toffset:40;\tsize:2;\tsigned:1;\n"
    "\n"
    "print fmt: \"pid=%d comm=%s clone_flags=%llx oom_score_adj=%hd\", REC->pid, REC->comm, "
    "REC->clone_flags, "
    "REC->oom_score_adj\n";

constexpr const char* fork_format =
    "name: sched_process_fork\n"
    "ID: 366\n"
    "format:\n"
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
    "\n"
    "\tfield:__data_loc char[] parent_comm;\toffset:8;\tsize:4;\tsigned:0;\n"
    "\tfield:pid_t parent_pid;\toffset:12;\tsize:4;\tsigned:1;\n"
    "\tfield:__data_loc char[] child_comm;\toffset:16;\tsize:4;\tsigned:0;\n"
    "\tfield:pid_t child_pid;\toffset:20;\tsize:4;\tsigned:1;\n"
    "\n"
    "print fmt: \"comm=%s pid=%d child_comm=%s child_pid=%d\", __get_str(parent_comm), REC->parent_pid, "
    "__get_str(child_comm), REC->child_pid\n";

// A fake tracefs tree under /tmp, removed at scope exit.
class FakeTracefs {
public:
    FakeTracefs() {
        char name[] = "/tmp/execmond-tracefs-XXXXXX";
        REQUIRE(mkdtemp(name));
        root_ = name;
    }
    ~FakeTracefs() {
        std::error_code ec;
        fs::remove_all(root_, ec);
    }
    FakeTracefs(const FakeTracefs&) = delete;
    FakeTracefs& operator=(const FakeTracefs&) = delete;

    const std::string& root() const { return root_; }
    void add(const std::string& category, const std::string& event, const char* format) const {
        fs::path dir = fs::path(root_) / "events" / category / event;
        fs::create_directories(dir);
        std::ofstream(dir / "format") << format;
    }

private:
    std::string root_;
};

} // namespace

TEST_CASE("field offsets come from recorded sched_process_exec format text", "[tracefs]") {
    CHECK(parse_field_offset(exec_format, "filename") == 8u);
    CHECK(parse_field_offset(exec_format, "pid") == 12u);
    CHECK(parse_field_offset(exec_format, "old_pid") == 16u);
    CHECK(parse_field_offset(exec_format, "common_pid") == 4u);
}

TEST_CASE("array fields are found by name without their [N]", "[tracefs]") {
    CHECK(parse_field_offset(newtask_format, "pid") == 8u);
    CHECK(parse_field_offset(newtask_format, "comm") == 12u);
    CHECK(parse_field_offset(newtask_format, "clone_flags") == 32u);
    CHECK(parse_field_offset(newtask_format, "oom_score_adj") == 40u);
}

TEST_CASE("__data_loc fields are found by their name, not their type", "[tracefs]") {
    CHECK(parse_field_offset(fork_format, "parent_comm") == 8u);
    CHECK(parse_field_offset(fork_format, "child_comm") == 16u);
    CHECK(parse_field_offset(fork_format, "child_pid") == 20u);
    CHECK(parse_field_offset(fork_format, "char") == std::nullopt);
}

TEST_CASE("names match whole, never as part of a longer name", "[tracefs]") {
    // sched_process_fork has parent_pid, child_pid and common_pid but no pid.
    CHECK(parse_field_offset(fork_format, "pid") == std::nullopt);
    CHECK(parse_field_offset(newtask_format, "flags") == std::nullopt);
    CHECK(parse_field_offset(exec_format, "REC") == std::nullopt);
}

TEST_CASE("missing fields and malformed text give nullopt", "[tracefs]") {
    CHECK(parse_field_offset(exec_format, "nonexistent") == std::nullopt);
    CHECK(parse_field_offset("", "pid") == std::nullopt);
    CHECK(parse_field_offset("\tfield:pid_t pid;\tsize:4;\n", "pid") == std::nullopt);
    CHECK(parse_field_offset("\tfield:pid_t pid;\toffset:x12;\n", "pid") == std::nullopt);
    CHECK(parse_field_offset("\tfield:pid_t pid;\toffset:12", "pid") == 12u); // no trailing ';' or newline
}

TEST_CASE("read_tp_layout reads the four fields the probes use", "[tracefs]") {
    FakeTracefs tracefs;
    tracefs.add("sched", "sched_process_exec", exec_format);
    tracefs.add("task", "task_newtask", newtask_format);
    auto tp = read_tp_layout(tracefs.root());
    CHECK(tp.exec_filename_loc == 8);
    CHECK(tp.exec_old_pid == 16);
    CHECK(tp.newtask_pid == 8);
    CHECK(tp.newtask_clone_flags == 32);
    CHECK(tp.exit_group_dead == 0); // no sched_process_exit format: optional
}

TEST_CASE("field_offset errors name the format file and the field", "[tracefs]") {
    FakeTracefs tracefs;
    tracefs.add("sched", "sched_process_exec", exec_format);
    const std::string exec_path = tracefs.root() + "/events/sched/sched_process_exec/format";
    CHECK(field_offset(tracefs.root(), "sched", "sched_process_exec", "filename") == 8);
    CHECK_THROWS_WITH(field_offset(tracefs.root(), "sched", "sched_process_exec", "argv"),
                      exec_path + ": no field argv");
    CHECK_THROWS_WITH(field_offset(tracefs.root(), "task", "task_newtask", "pid"),
                      "read " + tracefs.root() +
                          "/events/task/task_newtask/format: No such file or directory");
    CHECK_THROWS_AS(read_tp_layout(tracefs.root()), std::runtime_error);
}

TEST_CASE("the live tracefs gives the probes' tracepoint layout", "[tracefs][live]") {
    if (geteuid() != 0)
        SKIP("needs root to mount or read tracefs");
    auto mount = TracefsMount::ensure();
    REQUIRE_FALSE(mount.path().empty());
    CHECK(find_tracefs() == mount.path());

    auto tp = read_tp_layout(mount.path());
    // Past the 8 bytes of common_* fields, 4-byte aligned, distinct.
    CHECK(tp.exec_filename_loc >= 8);
    CHECK(tp.exec_old_pid >= 8);
    CHECK(tp.exec_old_pid != tp.exec_filename_loc);
    CHECK(tp.newtask_pid >= 8);
    CHECK(tp.newtask_clone_flags % 8 == 0);
    CHECK(tp.newtask_clone_flags > tp.newtask_pid);
}

TEST_CASE("ensure mounts tracefs where there is none and unmounts only its own mount", "[tracefs][live]") {
    if (geteuid() != 0)
        SKIP("needs root to mount tracefs");
    // Done in a child with its own mount namespace, so the system's tracefs
    // is hidden there and never touched.
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
            _exit(77);
        for (const char* dir : {"/sys/kernel/tracing", "/sys/kernel/debug"})
            while (umount2(dir, MNT_DETACH) == 0) {
            }
        if (find_tracefs())
            _exit(10);
        {
            auto first = TracefsMount::ensure();
            if (!first.mounted_by_us() || first.path() != "/sys/kernel/tracing")
                _exit(11);
            if (find_tracefs() != "/sys/kernel/tracing")
                _exit(12);
            {
                // A second user finds the mount and must not take it down.
                auto second = TracefsMount::ensure();
                if (second.mounted_by_us())
                    _exit(13);
            }
            if (!find_tracefs())
                _exit(14);
            auto moved = std::move(first);
            if (!moved.mounted_by_us() || first.mounted_by_us())
                _exit(15);
        }
        _exit(find_tracefs() ? 16 : 0);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        SKIP("cannot create a private mount namespace here");
    CHECK(WEXITSTATUS(status) == 0);
}
