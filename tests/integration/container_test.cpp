// Who runs where: container members from cgroups made with each runtime's
// real naming (and a real systemd-nspawn container), and the parent's argv
// as the parent itself read it from /proc/self/cmdline.
#include "harness.hpp"
#include "trees.hpp"

#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace execmond::itest;
namespace fs = std::filesystem;

namespace {

void require_root() {
    if (!is_root())
        SKIP("needs root to load BPF programs");
}

std::vector<std::string> daemon_args(std::vector<std::string> args = {}) {
    args.insert(args.end(), {"--client-queue", "1G"});
    return args;
}

std::string unique(const char* what) {
    static int n = 0;
    return std::string(what) + "-" + std::to_string(getpid()) + "-" + std::to_string(++n);
}

std::string cgroup2_root() {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.find(" - cgroup2 ") == std::string::npos)
            continue;
        std::istringstream f(line);
        std::string id, parent, dev, r, mp;
        f >> id >> parent >> dev >> r >> mp;
        return mp;
    }
    return {};
}

std::string random_hex(size_t n) {
    static std::mt19937_64 rng(std::random_device{}());
    std::string s;
    for (size_t i = 0; i < n; ++i)
        s.push_back("0123456789abcdef"[rng() % 16]);
    return s;
}

std::string random_uuid() {
    std::string h = random_hex(32);
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" +
           h.substr(20);
}

std::string underscored(std::string s) {
    for (char& c : s)
        if (c == '-')
            c = '_';
    return s;
}

// A tree of cgroups below a directory of the test's own, removed deepest first.
struct CgroupTree {
    fs::path top;
    std::vector<fs::path> made;
    explicit CgroupTree(const std::string& root) : top(fs::path(root) / unique("execmond-ct")) {
        REQUIRE(fs::create_directory(top));
        made.push_back(top);
    }
    ~CgroupTree() {
        // Also what others made below ours (nspawn's payload/, supervisor/):
        // every directory, deepest first.
        std::vector<fs::path> dirs;
        std::error_code ec;
        for (auto it = fs::recursive_directory_iterator(top, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
            if (it->is_directory(ec))
                dirs.push_back(it->path());
        std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) {
            return std::distance(a.begin(), a.end()) > std::distance(b.begin(), b.end());
        });
        for (const auto& d : dirs)
            rmdir(d.c_str());
        rmdir(top.c_str());
    }
    // `rel` below top, every component created; returns its cgroup path as
    // the daemon shows it (below the cgroup2 root).
    fs::path make(const std::string& rel) {
        fs::path at = top;
        std::istringstream parts(rel);
        std::string part;
        while (std::getline(parts, part, '/')) {
            if (part.empty())
                continue;
            at /= part;
            if (!fs::exists(at)) {
                REQUIRE(fs::create_directory(at));
                made.push_back(at);
            }
        }
        return at;
    }
};

// The argument area a process read from its own /proc/self/cmdline.
std::vector<std::string> split_nul(const std::string& area) {
    std::vector<std::string> out;
    size_t at = 0;
    while (at < area.size()) {
        size_t nul = area.find('\0', at);
        if (nul == std::string::npos) {
            out.push_back(area.substr(at));
            break;
        }
        out.push_back(area.substr(at, nul - at));
        at = nul + 1;
    }
    return out;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Python: writes its own /proc/self/cmdline to argv[1] (atomically), waits
// for SIGUSR1 if argv[2] is "wait", then forks a child that execs
// /bin/true argv[3].
const char* parent_py = R"(import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
with open(sys.argv[1] + '.tmp', 'wb') as f:
    f.write(open('/proc/self/cmdline', 'rb').read())
os.rename(sys.argv[1] + '.tmp', sys.argv[1])
if sys.argv[2] == 'wait':
    signal.sigwait([signal.SIGUSR1])
pid = os.fork()
if pid == 0:
    os.execv('/bin/true', ['/bin/true', sys.argv[3]])
os.waitpid(pid, 0)
)";

bool wait_for_file(const std::string& path, std::chrono::milliseconds timeout = 10s) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!fs::exists(path)) {
        if (std::chrono::steady_clock::now() > until)
            return false;
        std::this_thread::sleep_for(10ms); // polling a condition, not a fixed wait
    }
    return true;
}

const json* exec_with_arg(const Stream& s, const std::string& marker) {
    return s.find([&](const json& l) {
        return l.value("type", "") == "exec" && l.contains("argv") && l["argv"].size() > 1 &&
               l["argv"][1] == marker;
    });
}

} // namespace

TEST_CASE("container members from each runtime's cgroup naming, on exec and exit lines",
          "[lineage][container]") {
    require_root();
    std::string root = cgroup2_root();
    if (root.empty())
        SKIP("no cgroup v2 hierarchy mounted");
    CgroupTree tree(root);
    const std::string top = "/" + tree.top.filename().string();

    struct Shape {
        std::string rel, runtime, id, name, pod;
    };
    std::string id = random_hex(64), pod = random_uuid();
    std::vector<Shape> shapes = {
        {"system.slice/docker-" + id + ".scope", "docker", id, "", ""},
        {"docker/" + (id = random_hex(64)), "docker", id, "", ""},
        {"machine.slice/libpod-" + (id = random_hex(64)) + ".scope", "podman", id, "", ""},
        {"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + underscored(pod) +
             ".slice/cri-containerd-" + (id = random_hex(64)) + ".scope",
         "containerd", id, "", pod},
        {"kubepods/burstable/pod" + (pod = random_uuid()) + "/" + (id = random_hex(64)), "cri", id, "", pod},
        {"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + underscored(pod = random_uuid()) +
             ".slice/crio-" + (id = random_hex(64)) + ".scope",
         "cri-o", id, "", pod},
        {"machine.slice/systemd-nspawn@box\\x2d" + std::to_string(getpid()) + ".service/payload", "nspawn",
         "", "box-" + std::to_string(getpid()), ""},
        {"lxc.payload.c" + std::to_string(getpid()), "lxc", "", "c" + std::to_string(getpid()), ""},
        // A runtime's monitor is not in its container.
        {"machine.slice/libpod-conmon-" + random_hex(64) + ".scope", "", "", "", ""},
    };
    Daemon d(daemon_args());
    std::string token = unique("ctr");
    // Exit lines have no argv: they are kept by their cgroup path.
    Stream s(d.socket(), {token, tree.top.filename().string()});
    std::vector<std::pair<Shape, pid_t>> ran;
    for (size_t i = 0; i < shapes.size(); ++i) {
        fs::path dir = tree.make(shapes[i].rel);
        std::string marker = token + "-" + std::to_string(i);
        auto r = run(
            {"/bin/sh", "-c", "echo $$ > '" + dir.string() + "/cgroup.procs' && exec /bin/true " + marker});
        REQUIRE(WIFEXITED(r.status));
        REQUIRE(WEXITSTATUS(r.status) == 0);
        ran.emplace_back(shapes[i], r.pid);
    }
    for (size_t i = 0; i < ran.size(); ++i) {
        const auto& [shape, pid] = ran[i];
        INFO(shape.rel);
        const std::string marker = token + "-" + std::to_string(i);
        s.wait([&] { return exec_with_arg(s, marker) && s.line("exit", pid); });
        const json* exec = exec_with_arg(s, marker);
        const json* exit = s.line("exit", pid);
        REQUIRE(exec);
        REQUIRE(exit);
        for (const json* l : {exec, exit}) {
            INFO(l->dump());
            CHECK((*l)["cgroup"] == top + "/" + shape.rel);
            CHECK(l->value("container_runtime", "") == shape.runtime);
            CHECK(l->value("container_id", "") == shape.id);
            CHECK(l->value("container_name", "") == shape.name);
            CHECK(l->value("pod_uid", "") == shape.pod);
        }
    }
}

TEST_CASE("subscribe by container_id and container_runtime: only that container's lines",
          "[protocol][subscribe][container]") {
    require_root();
    std::string root = cgroup2_root();
    if (root.empty())
        SKIP("no cgroup v2 hierarchy mounted");
    CgroupTree tree(root);
    std::string mine = random_hex(64), other = random_hex(64);
    fs::path in = tree.make("system.slice/docker-" + mine + ".scope");
    fs::path out = tree.make("system.slice/docker-" + other + ".scope");
    fs::path pod = tree.make("machine.slice/libpod-" + random_hex(64) + ".scope");
    Daemon d(daemon_args());
    std::string token = unique("ctr-sub");
    Stream by_id(d.socket()), by_runtime(d.socket()), witness(d.socket(), {token});
    for (auto* s : {&by_id, &by_runtime}) {
        json req = {{"type", "subscribe"}};
        if (s == &by_id)
            req["container_id"] = mine;
        else
            req["container_runtime"] = "podman";
        s->client.send(req.dump());
        REQUIRE(s->wait([&] {
            return s->find([](const json& l) { return l.value("type", "") == "subscribed"; }) != nullptr;
        }));
    }
    auto in_run = run(
        {"/bin/sh", "-c", "echo $$ > '" + in.string() + "/cgroup.procs' && exec /bin/true " + token + "-in"});
    auto out_run = run({"/bin/sh", "-c",
                        "echo $$ > '" + out.string() + "/cgroup.procs' && exec /bin/true " + token + "-out"});
    auto pod_run = run({"/bin/sh", "-c",
                        "echo $$ > '" + pod.string() + "/cgroup.procs' && exec /bin/true " + token + "-pod"});
    auto host_run = run({"/bin/true", token + "-host"});
    for (const auto& r : {in_run, out_run, pod_run, host_run})
        REQUIRE(r.status == 0);
    // The last exec, seen by an unfiltered client: every line of the others
    // (run one after the other) was fanned out before it.
    REQUIRE(witness.wait([&] { return exec_with_arg(witness, token + "-host") != nullptr; }));
    // A barrier: a stats reply comes after every line already queued.
    REQUIRE(by_id.stats());
    REQUIRE(by_runtime.stats());
    // Every event line a filtered client got is of its container (whatever
    // else ran there), and the others' processes never show.
    auto check = [](const Stream& s, const char* member, const std::string& value, std::set<pid_t> never) {
        for (const auto& l : s.lines) {
            std::string t = l.value("type", "");
            if (t != "exec" && t != "exit" && t != "fork")
                continue;
            INFO(l.dump().substr(0, 600));
            CHECK(l.value(member, "") == value);
            CHECK(never.count(l["pid"].get<pid_t>()) == 0);
        }
    };
    check(by_id, "container_id", mine, {out_run.pid, pod_run.pid, host_run.pid});
    check(by_runtime, "container_runtime", "podman", {in_run.pid, out_run.pid, host_run.pid});
    CHECK(exec_with_arg(by_id, token + "-in"));
    CHECK(by_id.line("exit", in_run.pid));
    CHECK(exec_with_arg(by_runtime, token + "-pod"));
}

TEST_CASE("parent_argv is the argv the parent read from its own /proc/self/cmdline",
          "[lineage][parent-argv]") {
    require_root();
    std::string dir = temp_dir();
    std::string token = unique("pargv");
    // Started before execmond: the table knows it from /proc.
    std::string seeded_file = dir + "/seeded";
    pid_t seeded = spawn({"/usr/bin/python3", "-c", parent_py, seeded_file, "wait", token + "-seeded"});
    REQUIRE(wait_for_file(seeded_file));

    Daemon d(daemon_args({"--ancestor-argv"}));
    Stream s(d.socket(), {token});
    REQUIRE(kill(seeded, SIGUSR1) == 0);
    // Started after: the table knows it from its exec line. One with a short
    // argv, one longer than the 1 KiB bound.
    std::string short_file = dir + "/short", long_file = dir + "/long";
    auto short_run =
        run({"/usr/bin/python3", "-c", parent_py, short_file, "go", token + "-short", "a b", "c"});
    auto long_run =
        run({"/usr/bin/python3", "-c", parent_py, long_file, "go", token + "-long", std::string(3000, 'x')});
    REQUIRE(WEXITSTATUS(short_run.status) == 0);
    REQUIRE(WEXITSTATUS(long_run.status) == 0);
    REQUIRE(WIFEXITED(wait_exit(seeded, 20s)));

    struct Case {
        std::string name, file;
        pid_t parent;
    };
    for (const Case& c : {Case{"seeded", seeded_file, seeded}, Case{"short", short_file, short_run.pid},
                          Case{"long", long_file, long_run.pid}}) {
        INFO(c.name);
        const std::string marker = token + "-" + c.name;
        REQUIRE(s.wait([&] { return exec_with_arg(s, marker) != nullptr; }));
        const json& l = *exec_with_arg(s, marker);
        INFO(l.dump().substr(0, 3000));
        CHECK(l["ppid"] == c.parent);
        std::string area = slurp(c.file);
        REQUIRE(!area.empty());
        bool cut = area.size() > 1024;
        std::vector<std::string> expect = split_nul(cut ? area.substr(0, 1024) : area);
        CHECK(l["parent_argv"] == json(expect));
        CHECK(l["parent_argv_truncated"] == cut);
        // --ancestor-argv: the same on the parent's ancestor entry.
        REQUIRE(!l["ancestors"].empty());
        CHECK(l["ancestors"][0]["pid"] == c.parent);
        CHECK(l["ancestors"][0]["argv"] == json(expect));
        CHECK(l["ancestors"][0]["argv_truncated"] == cut);
    }
    fs::remove_all(dir);
}

TEST_CASE("a real systemd-nspawn container: its execs carry runtime nspawn and the machine's name",
          "[lineage][container][nspawn]") {
    require_root();
    if (!fs::exists("/usr/bin/systemd-nspawn"))
        SKIP("systemd-nspawn not installed (systemd-container)");
    std::string root = cgroup2_root();
    if (root.empty())
        SKIP("no cgroup v2 hierarchy mounted");
    // Where machinectl's systemd-nspawn@.service would run it: no systemd
    // manages units here, so the test makes that unit's cgroup and starts
    // nspawn in it (--keep-unit: nspawn stays there, adding payload/ and
    // supervisor/ on a pure cgroup v2 host).
    CgroupTree tree(root);
    const std::string machine = "execmond-ct" + std::to_string(getpid());
    fs::path unit = tree.make("machine.slice/systemd-nspawn@" + machine + ".service");
    // The container's root: an overlay on this machine's own.
    std::string dir = temp_dir();
    for (const char* sub : {"/upper", "/work", "/root"})
        fs::create_directories(dir + sub);
    REQUIRE(mount("overlay", (dir + "/root").c_str(), "overlay", 0,
                  ("lowerdir=/,upperdir=" + dir + "/upper,workdir=" + dir + "/work").c_str()) == 0);
    struct Unmount {
        std::string at;
        ~Unmount() { umount2(at.c_str(), MNT_DETACH); }
    } unmount{dir + "/root"};

    Daemon d(daemon_args());
    std::string token = unique("nspawn");
    Stream s(d.socket(), {token});
    auto r = run({"/bin/sh", "-c",
                  "echo $$ > '" + unit.string() + "/cgroup.procs' && exec /usr/bin/systemd-nspawn --quiet " +
                      "--register=no --keep-unit -M " + machine + " -D '" + dir +
                      "/root' -- /bin/sh -c 'exec /bin/true " + token + "'"});
    INFO("nspawn exit status " << r.status);
    REQUIRE(WIFEXITED(r.status));
    REQUIRE(WEXITSTATUS(r.status) == 0);
    REQUIRE(s.wait([&] { return exec_with_arg(s, token) != nullptr; }));
    const json& l = *exec_with_arg(s, token);
    INFO(l.dump());
    CHECK(l["filename"] == "/bin/true");
    // Inside a pid namespace of its own, as nspawn's payload is.
    CHECK(l["ns_pid"] == 1);
    CHECK(l["cgroup"].get<std::string>().rfind("/" + tree.top.filename().string() +
                                                   "/machine.slice/systemd-nspawn@" + machine + ".service",
                                               0) == 0);
    CHECK(l["container_runtime"] == "nspawn");
    CHECK(l["container_name"] == machine);
    CHECK_FALSE(l.contains("container_id"));
    umount2((dir + "/root").c_str(), MNT_DETACH);
    unmount.at.clear();
    fs::remove_all(dir);
}
