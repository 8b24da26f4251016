// Who and where on exec lines (cwd, exe, exe_file, interpreter, fileless,
// secure_exec, auid, session_id, tty), each against what the kernel says
// through another door: /proc of the live process (cwd, exe, loginuid,
// sessionid, auxv), stat(2), ptsname(3), and the directory the test itself
// chdir'd the child into.
#include "harness.hpp"

#include <catch2/catch_test_macros.hpp>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

using namespace execmond::itest;
namespace fs = std::filesystem;

namespace {

void require_root() {
    if (!is_root())
        SKIP("needs root to load BPF programs");
}

std::string slurp(const std::string& path) {
    std::ifstream f(path);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string readlink_str(const std::string& path) {
    char buf[4096];
    ssize_t n = readlink(path.c_str(), buf, sizeof(buf));
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// A child that ran `setup` and then exec'd a program that blocks reading its
// stdin (a pipe from us), so /proc can be read while it lives. Closing the
// pipe ends it.
struct Waiting {
    pid_t pid = -1;
    int in = -1;
    ~Waiting() { finish(); }
    int finish() {
        if (in >= 0)
            close(in);
        in = -1;
        int status = 0;
        if (pid > 0)
            waitpid(pid, &status, 0);
        pid = -1;
        return status;
    }
    std::string proc(const char* what) const { return "/proc/" + std::to_string(pid) + "/" + what; }
};

// setup runs in the child and returns false to give up (exit 126). exec
// defaults to execv(argv[0], argv).
Waiting start(const std::vector<std::string>& argv, const std::function<bool()>& setup = {},
              const std::function<void(char**)>& exec = {}) {
    int p[2];
    REQUIRE(pipe2(p, O_CLOEXEC) == 0);
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(p[0], 0);
        if (setup && !setup())
            _exit(126);
        if (exec)
            exec(args.data());
        else
            execv(args[0], args.data());
        _exit(127);
    }
    close(p[0]);
    Waiting w;
    w.pid = pid;
    w.in = p[1];
    return w;
}

struct Watch {
    Daemon daemon;
    Client client;
    explicit Watch(std::vector<std::string> args = {}) : daemon(std::move(args)), client(daemon.socket()) {
        client.send(json{{"type", "subscribe"}, {"events", {"exec"}}, {"descendants_of", getpid()}}.dump());
        auto ack =
            client.until([](const json& l) { return l["type"] == "subscribed" || l["type"] == "error"; });
        REQUIRE(ack);
        REQUIRE((*ack)["type"] == "subscribed");
    }
    json exec_of(pid_t pid) {
        auto line = client.until([&](const json& l) { return l["type"] == "exec" && l["pid"] == pid; });
        REQUIRE(line);
        return *line;
    }
};

// One directory for the whole run, open to nobody (the secure_exec case).
const std::string& base_dir() {
    static const std::string dir = [] {
        std::string d = temp_dir();
        fs::permissions(d, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
        return d;
    }();
    return dir;
}

std::string temp_subdir(const std::string& name) {
    std::string d = base_dir() + "/" + name;
    fs::create_directories(d);
    return fs::canonical(d).string();
}

const char* cat = "/usr/bin/cat";

} // namespace

TEST_CASE("cwd is the directory the process ran in: plain, bind-mounted, deleted, chroot", "[identity]") {
    require_root();
    Watch w;

    SECTION("plain, and exe and exe_file are what /proc/PID/exe and stat(2) say") {
        std::string dir = temp_subdir("plain dir");
        Waiting c = start({cat}, [&] { return chdir(dir.c_str()) == 0; });
        json e = w.exec_of(c.pid);
        CHECK(e["cwd"] == dir);
        CHECK(e["cwd"] == readlink_str(c.proc("cwd")));
        CHECK_FALSE(e.contains("cwd_truncated"));
        CHECK(e["exe"] == readlink_str(c.proc("exe")));
        struct stat st {};
        REQUIRE(stat(c.proc("exe").c_str(), &st) == 0);
        const json& f = e["exe_file"];
        CHECK(f["dev"] == std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)));
        CHECK(f["ino"] == st.st_ino);
        char mode[8];
        snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
        CHECK(f["mode"] == mode);
        CHECK(f["uid"] == st.st_uid);
        CHECK(f["gid"] == st.st_gid);
        CHECK(f["size"] == st.st_size);
        CHECK(f["nlink"] == st.st_nlink);
        char mtime[64];
        struct tm tm {};
        gmtime_r(&st.st_mtim.tv_sec, &tm);
        size_t n = strftime(mtime, sizeof(mtime), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(mtime + n, sizeof(mtime) - n, ".%09ldZ", st.st_mtim.tv_nsec);
        CHECK(f["mtime"] == mtime);
        CHECK_FALSE(e.contains("interpreter"));
        CHECK_FALSE(e.contains("fileless"));
        CHECK_FALSE(e.contains("secure_exec"));
    }
    SECTION("a bind mount: the path through the mount, as /proc shows it") {
        std::string src = temp_subdir("bind-src/inner");
        std::string dst = temp_subdir("bind-dst");
        REQUIRE(mount(fs::path(src).parent_path().c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) == 0);
        std::string in = dst + "/inner";
        Waiting c = start({cat}, [&] { return chdir(in.c_str()) == 0; });
        json e = w.exec_of(c.pid);
        std::string proc_cwd = readlink_str(c.proc("cwd"));
        c.finish();
        umount2(dst.c_str(), MNT_DETACH);
        CHECK(proc_cwd == in);
        CHECK(e["cwd"] == in);
    }
    SECTION("a deleted directory ends in \" (deleted)\"") {
        std::string dir = temp_subdir("doomed");
        Waiting c = start({cat}, [&] { return chdir(dir.c_str()) == 0 && rmdir(dir.c_str()) == 0; });
        json e = w.exec_of(c.pid);
        CHECK(readlink_str(c.proc("cwd")) == dir + " (deleted)");
        CHECK(e["cwd"] == dir + " (deleted)");
    }
    SECTION("inside a chroot: the path below its root") {
        std::string root = temp_subdir("chroot");
        fs::create_directories(root + "/bin");
        fs::create_directories(root + "/work/here");
        fs::copy_file(noop_path(), root + "/bin/noop", fs::copy_options::overwrite_existing);
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            if (chroot(root.c_str()) != 0 || chdir("/work/here") != 0)
                _exit(126);
            execl("/bin/noop", "noop", nullptr);
            _exit(127);
        }
        json e = w.exec_of(pid);
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WEXITSTATUS(status) == 0);
        CHECK(e["cwd"] == "/work/here");
        CHECK(e["filename"] == "/bin/noop");
        CHECK(e["exe"] == root + "/bin/noop");
    }
}

TEST_CASE("exe is the file the kernel runs: through a symlink, and a script's interpreter", "[identity]") {
    require_root();
    Watch w;
    std::string dir = temp_subdir("exe");

    SECTION("a symlink: filename is the link, exe its target") {
        std::string link = dir + "/cat-link";
        fs::remove(link);
        fs::create_symlink(cat, link);
        Waiting c = start({link});
        json e = w.exec_of(c.pid);
        CHECK(e["filename"] == link);
        CHECK(e["exe"] == readlink_str(c.proc("exe")));
        CHECK(e["exe"] == fs::canonical(cat).string());
    }
    SECTION("a #! script: interpreter from its first line, exe the interpreter's binary") {
        std::string script = dir + "/wait.sh";
        {
            std::ofstream f(script);
            f << "#!/bin/sh\nread line\n";
        }
        fs::permissions(script, fs::perms::owner_all);
        Waiting c = start({script});
        json e = w.exec_of(c.pid);
        CHECK(e["filename"] == script);
        CHECK(e["interpreter"] == "/bin/sh");
        CHECK(e["exe"] == readlink_str(c.proc("exe")));
        CHECK(e["exe"] == fs::canonical("/bin/sh").string());
    }
    SECTION("fileless: memfd_create + fexecve") {
        Waiting c = start({"memcat"}, {}, [](char** argv) {
            int src = open(cat, O_RDONLY | O_CLOEXEC);
            int mem = memfd_create("identity-test", MFD_CLOEXEC);
            if (src < 0 || mem < 0)
                _exit(126);
            char buf[65536];
            ssize_t n;
            while ((n = read(src, buf, sizeof(buf))) > 0)
                if (write(mem, buf, static_cast<size_t>(n)) != n)
                    _exit(126);
            fexecve(mem, argv, environ);
        });
        json e = w.exec_of(c.pid);
        std::string proc_exe = readlink_str(c.proc("exe"));
        CHECK(proc_exe.starts_with("/memfd:identity-test"));
        CHECK(e["exe"] == proc_exe);
        CHECK(e["fileless"] == true);
        CHECK(e["exe_file"]["nlink"] == 0);
    }
}

TEST_CASE("auid and session_id are /proc/PID/loginuid and sessionid; tty the pty's name", "[identity]") {
    require_root();
    Watch w;

    SECTION("unset: absent, as /proc says 4294967295, or present and equal") {
        Waiting c = start({cat});
        json e = w.exec_of(c.pid);
        std::string auid = slurp(c.proc("loginuid"));
        if (auid == "4294967295")
            CHECK_FALSE(e.contains("auid"));
        else
            CHECK(std::to_string(e["auid"].get<uint32_t>()) == auid);
    }
    SECTION("a login uid set by writing /proc/self/loginuid") {
        Waiting c = start({cat}, [] {
            int fd = open("/proc/self/loginuid", O_WRONLY);
            bool ok = fd >= 0 && write(fd, "4242", 4) == 4;
            close(fd);
            return ok;
        });
        json e = w.exec_of(c.pid);
        REQUIRE(slurp(c.proc("loginuid")) == "4242");
        CHECK(e["auid"] == 4242);
        CHECK(std::to_string(e["session_id"].get<uint32_t>()) == slurp(c.proc("sessionid")));
    }
    SECTION("a controlling pty") {
        int master = -1, slave = -1;
        char name[256];
        REQUIRE(openpty(&master, &slave, name, nullptr, nullptr) == 0);
        Waiting c = start({cat}, [&] { return setsid() >= 0 && ioctl(slave, TIOCSCTTY, 0) == 0; });
        json e = w.exec_of(c.pid);
        close(slave);
        close(master);
        REQUIRE(std::string_view(name).starts_with("/dev/"));
        CHECK(e["tty"] == std::string(name + 5));
    }
    SECTION("no controlling terminal: no tty") {
        Waiting c = start({cat}, [] { return setsid() >= 0; });
        json e = w.exec_of(c.pid);
        CHECK_FALSE(e.contains("tty"));
    }
}

TEST_CASE("secure_exec: a setuid copy run as nobody is AT_SECURE, as its auxv says", "[identity]") {
    require_root();
    Watch w;
    std::string dir = temp_subdir("setuid");
    fs::permissions(dir, fs::perms::all);
    std::string copy = dir + "/suid-cat";
    fs::copy_file(cat, copy, fs::copy_options::overwrite_existing);
    REQUIRE(chown(copy.c_str(), 0, 0) == 0);
    REQUIRE(chmod(copy.c_str(), 04755) == 0);
    auto at_secure = [](const std::string& auxv) {
        const auto* v = reinterpret_cast<const unsigned long*>(auxv.data());
        for (size_t i = 0; i + 1 < auxv.size() / sizeof(unsigned long); i += 2)
            if (v[i] == 23) // AT_SECURE
                return v[i + 1];
        return 99ul;
    };

    Waiting c = start({copy}, [] { return setgid(65534) == 0 && setuid(65534) == 0; });
    json e = w.exec_of(c.pid);
    CHECK(at_secure(slurp(c.proc("auxv"))) == 1);
    CHECK(e["secure_exec"] == true);
    CHECK(e["exe_file"]["mode"] == "4755");

    Waiting plain = start({cat});
    json p = w.exec_of(plain.pid);
    CHECK(at_secure(slurp(plain.proc("auxv"))) == 0);
    CHECK_FALSE(p.contains("secure_exec"));
}

TEST_CASE("per mode: a BTF file reads the same members, fork-map none of them", "[identity]") {
    require_root();
    std::string dir = temp_subdir("modes");
    SECTION("btf-file") {
        Watch w({"--probe-mode", "classic", "--btf", "/sys/kernel/btf/vmlinux"});
        Waiting c = start({cat}, [&] { return chdir(dir.c_str()) == 0; });
        json e = w.exec_of(c.pid);
        CHECK(e["cwd"] == readlink_str(c.proc("cwd")));
        CHECK(e["exe"] == readlink_str(c.proc("exe")));
        CHECK(e.contains("exe_file"));
    }
    SECTION("fork-map") {
        Watch w({"--probe-mode", "classic"});
        Waiting c = start({cat}, [&] { return chdir(dir.c_str()) == 0; });
        json e = w.exec_of(c.pid);
        for (const char* m : {"cwd", "exe", "exe_file", "auid", "session_id", "tty", "interpreter"})
            CHECK_FALSE(e.contains(m));
    }
}

TEST_CASE("processes seeded from /proc: process and exit lines carry cwd, exe, auid, session_id, tty",
          "[identity]") {
    require_root();
    std::string dir = temp_subdir("seeded");
    int master = -1, slave = -1;
    char name[256];
    REQUIRE(openpty(&master, &slave, name, nullptr, nullptr) == 0);
    // Running before the daemon starts: only /proc can tell.
    Waiting c = start({cat}, [&] {
        int fd = open("/proc/self/loginuid", O_WRONLY);
        bool ok = fd >= 0 && write(fd, "4343", 4) == 4;
        close(fd);
        return ok && chdir(dir.c_str()) == 0 && setsid() >= 0 && ioctl(slave, TIOCSCTTY, 0) == 0;
    });
    close(slave);
    for (int i = 0; i < 500 && readlink_str(c.proc("exe")) != fs::canonical(cat).string(); ++i)
        usleep(10000);
    REQUIRE(readlink_str(c.proc("exe")) == fs::canonical(cat).string());
    std::string session = slurp(c.proc("sessionid"));

    Daemon daemon;
    Client client(daemon.socket());
    client.send(R"({"type":"snapshot"})");
    auto p = client.until([&](const json& l) { return l["type"] == "process" && l["pid"] == c.pid; });
    REQUIRE(p);
    CHECK((*p)["known_from"] == "proc");
    CHECK((*p)["cwd"] == readlink_str(c.proc("cwd")));
    CHECK((*p)["cwd"] == dir);
    CHECK((*p)["exe"] == readlink_str(c.proc("exe")));
    CHECK((*p)["auid"] == 4343);
    CHECK(std::to_string((*p)["session_id"].get<uint32_t>()) == session);
    CHECK((*p)["tty"] == std::string(name + 5));

    client.send(json{{"type", "subscribe"}, {"events", {"exit"}}, {"auid", 4343}, {"tty", true}}.dump());
    REQUIRE(client.until([](const json& l) { return l["type"] == "subscribed"; }));
    pid_t pid = c.pid;
    c.finish();
    close(master);
    auto x = client.until([&](const json& l) { return l["type"] == "exit"; });
    REQUIRE(x);
    CHECK((*x)["pid"] == pid);
    CHECK((*x)["cwd"] == dir);
    CHECK((*x)["auid"] == 4343);
    CHECK((*x)["tty"] == std::string(name + 5));
}

TEST_CASE("subscribe by auid and tty", "[identity]") {
    require_root();
    Watch w;
    w.client.send(
        json{{"type", "subscribe"}, {"events", {"exec"}}, {"descendants_of", getpid()}, {"auid", 4444}}
            .dump());
    REQUIRE(w.client.until([](const json& l) { return l["type"] == "subscribed"; }));
    Waiting other = start({cat}); // no such auid: filtered out
    Waiting mine = start({cat}, [] {
        int fd = open("/proc/self/loginuid", O_WRONLY);
        bool ok = fd >= 0 && write(fd, "4444", 4) == 4;
        close(fd);
        return ok;
    });
    auto e = w.client.until([](const json& l) { return l["type"] == "exec"; });
    REQUIRE(e);
    CHECK((*e)["pid"] == mine.pid);
    CHECK(slurp(mine.proc("loginuid")) == "4444");

    w.client.send(
        json{{"type", "subscribe"}, {"events", {"exec"}}, {"descendants_of", getpid()}, {"tty", false}}
            .dump());
    REQUIRE(w.client.until([](const json& l) { return l["type"] == "subscribed"; }));
    int master = -1, slave = -1;
    char name[256];
    REQUIRE(openpty(&master, &slave, name, nullptr, nullptr) == 0);
    Waiting with_tty = start({cat}, [&] { return setsid() >= 0 && ioctl(slave, TIOCSCTTY, 0) == 0; });
    Waiting without = start({cat}, [] { return setsid() >= 0; });
    auto n = w.client.until([](const json& l) { return l["type"] == "exec"; });
    REQUIRE(n);
    CHECK((*n)["pid"] == without.pid);
    close(slave);
    close(master);
}
