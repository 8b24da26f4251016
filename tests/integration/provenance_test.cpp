// --hash sha256 and --packages against what the system itself says of the
// file: sha256sum(1) for the digest, dpkg-query(1) for the package, and a
// file changed behind dpkg's back for "modified".
#include "harness.hpp"
#include "trees.hpp"

#include <catch2/catch_test_macros.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace execmond::itest;
namespace fs = std::filesystem;

namespace {

void require_root() {
    if (!is_root())
        SKIP("needs root to load BPF programs");
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    return s;
}

std::string sha256sum(const std::string& path) {
    return trim(capture("sha256sum " + path)).substr(0, 64);
}

// A process running `argv` until the test ends it (the daemon reads its file
// through /proc/PID/exe while it lives).
struct Running {
    pid_t pid;
    explicit Running(const std::vector<std::string>& argv) : pid(spawn(argv)) {}
    ~Running() {
        kill(pid, SIGKILL);
        wait_exit(pid, 5s);
    }
};

// What the stream said of the file of `pid`'s exec: the exec line's members,
// completed by its exe_hash line when the digest was not cached.
struct Said {
    json exec;
    json facts; // exe_* members, from whichever line has them
};

std::optional<Said> said(Stream& s, const json* exec, const std::string& member) {
    if (!exec)
        return std::nullopt;
    Said out{*exec, json::object()};
    auto has_it = [&](const json& l) {
        return l.contains(member) || l.contains("exe_sha256_skipped");
    };
    const json* with = has_it(*exec) ? exec : nullptr;
    if (!with) {
        // key names the process; a process that execs three times has three
        // exe_hash lines, told apart by the exec's ktime_ns.
        std::string key = (*exec)["key"];
        uint64_t ktime = (*exec)["ktime_ns"];
        auto hash_line = [&] {
            return s.find([&](const json& l) {
                return l.value("type", "") == "exe_hash" && l.value("key", "") == key &&
                       l.value("exec_ktime_ns", uint64_t{0}) == ktime;
            });
        };
        s.wait([&] { return hash_line() != nullptr; }, 20s);
        with = hash_line();
        if (!with)
            return std::nullopt;
    }
    for (auto& [k, v] : with->items())
        if (k.starts_with("exe_"))
            out.facts[k] = v;
    return out;
}

std::optional<Said> said(Stream& s, pid_t pid, const std::string& member) {
    return said(s, s.await("exec", pid), member);
}

std::string unique(const char* what) {
    static int n = 0;
    return std::string(what) + "-" + std::to_string(getpid()) + "-" + std::to_string(++n);
}

std::string copy_of(const std::string& from, const std::string& dir, const std::string& name) {
    std::string to = dir + "/" + name;
    fs::copy_file(from, to, fs::copy_options::overwrite_existing);
    fs::permissions(to, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    return to;
}

void append(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::app | std::ios::binary) << bytes;
}

ino_t inode(const std::string& path) {
    struct stat st {};
    stat(path.c_str(), &st);
    return st.st_ino;
}

std::string dpkg_query(const std::string& package, const std::string& field) {
    return trim(capture("dpkg-query -W -f='${" + field + "}' " + package));
}

} // namespace

TEST_CASE("--hash sha256: the exec's file has sha256sum's digest, read once for many execs", "[provenance]") {
    require_root();
    std::string dir = temp_dir();
    std::string bin = copy_of("/usr/bin/sleep", dir, unique("hsleep"));
    Daemon d({"--hash", "sha256", "--client-queue", "1G"});
    Stream s(d.socket(), {bin});
    {
        Running first({bin, "60"});
        auto got = said(s, first.pid, "exe_sha256");
        REQUIRE(got);
        INFO(got->exec.dump() << "\n" << got->facts.dump());
        CHECK(got->facts.value("exe_sha256", "") == sha256sum(bin));
    }
    // The same file again: from the cache, on the exec line itself.
    auto before = s.stats();
    REQUIRE(before);
    for (int i = 0; i < 3; ++i) {
        Running again({bin, "60"});
        const json* exec = s.await("exec", again.pid);
        REQUIRE(exec);
        INFO(exec->dump());
        CHECK(exec->value("exe_sha256", "") == sha256sum(bin));
    }
    auto after = s.stats();
    REQUIRE(after);
    CHECK((*after)["provenance"]["cache"]["hits"].get<uint64_t>() >=
          (*before)["provenance"]["cache"]["hits"].get<uint64_t>() + 3);
    fs::remove_all(dir);
}

TEST_CASE("--hash sha256: a file replaced (new inode) or rewritten in place (same inode) gets its new digest",
          "[provenance]") {
    require_root();
    std::string dir = temp_dir();
    std::string bin = copy_of("/usr/bin/sleep", dir, unique("hswap"));
    Daemon d({"--hash", "sha256", "--client-queue", "1G"});
    Stream s(d.socket(), {bin});
    std::string first_digest;
    {
        Running p({bin, "60"});
        auto got = said(s, p.pid, "exe_sha256");
        REQUIRE(got);
        first_digest = got->facts.value("exe_sha256", "");
        CHECK(first_digest == sha256sum(bin));
    }
    SECTION("replaced: a new file renamed over the path") {
        std::string next = copy_of("/usr/bin/sleep", dir, "next");
        append(next, "replaced"); // trailing bytes: still the same program, another digest
        ino_t old_ino = inode(bin);
        fs::rename(next, bin);
        REQUIRE(inode(bin) != old_ino);
        Running p({bin, "60"});
        auto got = said(s, p.pid, "exe_sha256");
        REQUIRE(got);
        CHECK(got->facts.value("exe_sha256", "") == sha256sum(bin));
        CHECK(got->facts.value("exe_sha256", "") != first_digest);
    }
    SECTION("rewritten: the same inode, one byte changed, the size unchanged") {
        append(bin, "A");
        {
            Running p({bin, "60"}); // digest with the trailing "A"
            REQUIRE(said(s, p.pid, "exe_sha256"));
        }
        ino_t ino = inode(bin);
        auto size = fs::file_size(bin);
        {
            std::fstream f(bin, std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(-1, std::ios::end);
            f.put('B');
        }
        REQUIRE(inode(bin) == ino);
        REQUIRE(fs::file_size(bin) == size);
        Running p({bin, "60"});
        auto got = said(s, p.pid, "exe_sha256");
        REQUIRE(got);
        INFO(got->exec.dump() << "\n" << got->facts.dump());
        CHECK(got->facts.value("exe_sha256", "") == sha256sum(bin));
    }
    fs::remove_all(dir);
}

TEST_CASE("--hash-max-size: a larger file is not read, and says so", "[provenance]") {
    require_root();
    std::string dir = temp_dir();
    std::string bin = copy_of("/usr/bin/sleep", dir, unique("hbig"));
    append(bin, std::string(1 << 20, '\0'));
    Daemon d({"--hash", "sha256", "--hash-max-size", "512K", "--client-queue", "1G"});
    Stream s(d.socket(), {bin});
    Running p({bin, "60"});
    auto got = said(s, p.pid, "exe_sha256");
    REQUIRE(got);
    CHECK_FALSE(got->facts.contains("exe_sha256"));
    CHECK(got->facts.value("exe_sha256_skipped", "") == "too_large");
    fs::remove_all(dir);
}

TEST_CASE("--packages: a package's file names dpkg's package and version; a file no package owns is null",
          "[provenance]") {
    require_root();
    std::string dir = temp_dir();
    std::string own = copy_of("/usr/bin/sleep", dir, unique("hown"));
    std::string token = unique("pkg");
    Daemon d({"--packages", "--hash", "sha256", "--client-queue", "1G"});
    Stream s(d.socket());
    // The index is built off the loop after start: wait for it in stats.
    REQUIRE(s.wait(
        [&] {
            auto st = s.stats();
            return st && (*st)["provenance"]["packages"]["loads"].get<uint64_t>() > 0;
        },
        60s));
    // bookworm's coreutils lists /bin/sleep; a merged /usr makes it /usr/bin/sleep.
    std::string owner =
        trim(capture("dpkg -S /usr/bin/sleep /bin/sleep 2>/dev/null | head -n1 | cut -d: -f1"));
    REQUIRE(owner == "coreutils");
    {
        Running p({"/usr/bin/sleep", "60"});
        auto got = said(s, p.pid, "exe_package_modified");
        REQUIRE(got);
        INFO(got->exec.dump() << "\n" << got->facts.dump());
        CHECK(got->facts["exe_package"]["name"] == owner);
        CHECK(got->facts["exe_package"]["version"] == dpkg_query(owner, "Version"));
        CHECK(got->facts["exe_package"]["arch"] == dpkg_query(owner, "Architecture"));
        CHECK(got->facts["exe_package_modified"] == false);
        CHECK(got->facts.value("exe_sha256", "") == sha256sum("/usr/bin/sleep"));
    }
    {
        Running p({own, "60"});
        const json* exec = s.await("exec", p.pid);
        REQUIRE(exec);
        INFO(exec->dump());
        REQUIRE(exec->contains("exe_package"));
        CHECK((*exec)["exe_package"].is_null());
        CHECK_FALSE(exec->contains("exe_package_modified"));
    }
    fs::remove_all(dir);
}

TEST_CASE("--packages: a package's file changed by one byte and bind-mounted over the original is modified",
          "[provenance]") {
    require_root();
    std::string dir = temp_dir();
    std::string copy = copy_of("/usr/bin/sleep", dir, "sleep");
    {
        // One byte of the usage text: the program still runs.
        std::fstream f(copy, std::ios::in | std::ios::out | std::ios::binary);
        std::string all((std::istreambuf_iterator<char>(f)), {});
        auto at = all.find("Usage:");
        REQUIRE(at != std::string::npos);
        f.seekp(static_cast<std::streamoff>(at));
        f.put('u');
    }
    REQUIRE(sha256sum(copy) != sha256sum("/usr/bin/sleep"));
    Daemon d({"--packages", "--client-queue", "1G"});
    Stream s(d.socket());
    REQUIRE(s.wait(
        [&] {
            auto st = s.stats();
            return st && (*st)["provenance"]["packages"]["loads"].get<uint64_t>() > 0;
        },
        60s));
    // In a mount namespace of its own, so nothing else on the machine runs it.
    Running p({"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
               "mount --bind " + copy + " /usr/bin/sleep && exec /usr/bin/sleep 60"});
    // unshare execs sh, which execs sleep: one pid, three exec lines.
    auto is_sleep = [&](const json& l) {
        return l.value("type", "") == "exec" && l.value("pid", 0) == p.pid &&
               l.value("filename", "") == "/usr/bin/sleep";
    };
    s.wait([&] { return s.find(is_sleep) != nullptr; }, 20s);
    const json* exec = s.find(is_sleep);
    REQUIRE(exec);
    auto got = said(s, exec, "exe_package_modified");
    REQUIRE(got);
    INFO(got->exec.dump() << "\n" << got->facts.dump());
    CHECK(got->facts["exe_package"]["name"] == "coreutils");
    CHECK(got->facts["exe_package_modified"] == true);
    fs::remove_all(dir);
}
