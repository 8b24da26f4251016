// The provenance stage's parts against what the system's own tools say:
// sha256sum/md5sum for digests, dpkg -S and dpkg-query for packages.
#include "digest.hpp"
#include "dpkg_index.hpp"
#include "exe_provenance.hpp"
#include "lru_cache.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch_test_macros.hpp>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <memory>
#include <unistd.h>

using namespace execmond;
namespace fs = std::filesystem;

namespace {

std::string run(const std::string& cmd) {
    std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), &pclose);
    std::string out;
    char buf[4096];
    size_t n;
    while (p && (n = fread(buf, 1, sizeof(buf), p.get())) > 0)
        out.append(buf, n);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
        out.pop_back();
    return out;
}

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/execmond-prov-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
};

void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

} // namespace

TEST_CASE("lru cache: the least recently used entry goes first", "[provenance]") {
    LruCache<int, std::string> c(2);
    c.put(1, "a");
    c.put(2, "b");
    REQUIRE(c.get(1));
    c.put(3, "c"); // 2 is the least recently used now
    CHECK(c.get(2) == nullptr);
    CHECK(*c.get(1) == "a");
    CHECK(*c.get(3) == "c");
    CHECK(c.size() == 2);
    CHECK(c.evictions() == 1);
    CHECK(c.hits() == 3);
    CHECK(c.misses() == 1);
}

TEST_CASE("digest_file: sha256sum's and md5sum's digests, whatever the fd's offset", "[provenance]") {
    TempDir d;
    std::string f = d.path + "/data";
    std::string text(3 << 20, 'x'); // several reads of the worker's buffer
    text += "the end";
    write(f, text);
    int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(lseek(fd, 100, SEEK_SET) == 100);
    Digests out;
    std::string error;
    REQUIRE(digest_file(fd, true, true, out, error));
    ::close(fd);
    CHECK(out.sha256 == run("sha256sum " + f).substr(0, 64));
    CHECK(out.md5 == run("md5sum " + f).substr(0, 32));
}

TEST_CASE("dpkg index: installed packages own their listed files; Multi-Arch names, config-files-only and "
          "merged /usr",
          "[provenance]") {
    TempDir d;
    fs::create_directories(d.path + "/info");
    write(d.path + "/status",
          "Package: tool\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.2-3\n"
          "Description: a tool\n with a continuation line: not a field\n\n"
          "Package: libx\nStatus: install ok installed\nMulti-Arch: same\nArchitecture: amd64\n"
          "Version: 2.0\n\n"
          "Package: gone\nStatus: deinstall ok config-files\nArchitecture: all\nVersion: 0.1\n");
    write(d.path + "/info/tool.list", "/.\n/bin\n/bin/tool\n/usr/share/doc/tool\n");
    write(d.path + "/info/tool.md5sums", "0123456789abcdef0123456789abcdef  bin/tool\n");
    write(d.path + "/info/libx:amd64.list", "/usr/lib/x86_64-linux-gnu/libx.so.2\n");
    write(d.path + "/info/gone.list", "/usr/bin/gone\n");
    DpkgIndex idx = DpkgIndex::load(d.path);
    CHECK(idx.error().empty());
    CHECK(idx.packages() == 2);
    const PackageRef* tool = idx.owner("/bin/tool");
    REQUIRE(tool);
    CHECK(tool->name == "tool");
    CHECK(tool->version == "1.2-3");
    CHECK(tool->arch == "amd64");
    CHECK(idx.owner("/usr/bin/tool") == tool); // the merged-/usr spelling
    const PackageRef* libx = idx.owner("/lib/x86_64-linux-gnu/libx.so.2");
    REQUIRE(libx);
    CHECK(libx->name == "libx");
    CHECK(idx.owner("/usr/bin/gone") == nullptr); // only its config files are left
    CHECK(idx.owner("/usr/bin/other") == nullptr);
    CHECK(idx.recorded_md5(*tool, "/usr/bin/tool") == "0123456789abcdef0123456789abcdef");
    CHECK(idx.recorded_md5(*tool, "/bin/nothing").empty());
    CHECK(DpkgIndex::load(d.path + "/missing").error().find("cannot open") != std::string::npos);
}

TEST_CASE("dpkg index of this machine: the owner dpkg -S names, the version dpkg-query shows",
          "[provenance]") {
    if (!fs::exists("/var/lib/dpkg/status"))
        SKIP("no dpkg database here");
    DpkgIndex idx = DpkgIndex::load();
    for (std::string path : {"/usr/bin/sleep", "/usr/bin/dpkg", "/usr/bin/sha256sum"}) {
        INFO(path);
        std::string owner = run("dpkg -S " + path + " " + usr_merge_alias(path).value_or("") +
                                " 2>/dev/null | head -n1 | cut -d: -f1");
        const PackageRef* p = idx.owner(path);
        REQUIRE(p);
        CHECK(p->name == owner);
        CHECK(p->version == run("dpkg-query -W -f='${Version}' " + owner));
        CHECK(idx.recorded_md5(*p, path) == run("md5sum " + path).substr(0, 32));
    }
    CHECK(idx.owner("/usr/bin/no-such-file-in-any-package") == nullptr);
}

TEST_CASE("exe provenance: a miss goes to the worker and comes back as a late result; then a hit",
          "[provenance]") {
    boost::asio::io_context io;
    auto busy = boost::asio::make_work_guard(io); // the worker posts to it later
    std::optional<ExeFacts> late;
    std::string late_key;
    ProvenanceConfig cfg;
    cfg.sha256 = true;
    ExeProvenance prov(io, cfg, [&](const PendingExec& p, const ExeFacts& f) {
        late = f;
        late_key = p.key;
    });
    std::string self_sha = run("sha256sum /proc/" + std::to_string(getpid()) + "/exe").substr(0, 64);
    ExeFacts first = prov.on_exec(static_cast<uint32_t>(getpid()), {}, nullptr, [] {
        PendingExec p;
        p.key = "1:2";
        return p;
    });
    CHECK(first.pending);
    CHECK(first.sha256.empty());
    while (!late)
        io.run_one();
    CHECK(late_key == "1:2");
    CHECK(late->sha256 == self_sha);
    ExeFacts again = prov.on_exec(static_cast<uint32_t>(getpid()), {}, nullptr, [] { return PendingExec{}; });
    CHECK_FALSE(again.pending);
    CHECK(again.sha256 == self_sha);
    CHECK(prov.stats().cache_hits == 1);
    CHECK(prov.stats().hashed == 1);
}

TEST_CASE("exe provenance: too large, gone, and a recorded identity that is not the running file",
          "[provenance]") {
    boost::asio::io_context io;
    ProvenanceConfig cfg;
    cfg.sha256 = true;
    cfg.max_size = 1024;
    ExeProvenance prov(io, cfg, [](const PendingExec&, const ExeFacts&) {});
    auto pending = [] {
        return PendingExec{};
    };
    CHECK(prov.on_exec(static_cast<uint32_t>(getpid()), {}, nullptr, pending).skipped == "too_large");
    // No such process, and nothing to check a file at the path against.
    CHECK(prov.on_exec(0x3ffffff0, "/usr/bin/sleep", nullptr, pending).skipped == "gone");
    // The process runs another file than the record says (it exec'd again),
    // and the path's file is not the recorded one either.
    RecordedFile other{1, 2, 3};
    CHECK(prov.on_exec(static_cast<uint32_t>(getpid()), "/usr/bin/sleep", &other, pending).skipped == "gone");
    CHECK(prov.stats().skipped_gone == 2);
    CHECK(prov.stats().skipped_too_large == 1);
}

TEST_CASE("exe provenance: a package installed while the daemon runs is known once dpkg's status changes",
          "[provenance]") {
    TempDir d;
    fs::create_directories(d.path + "/info");
    write(d.path + "/status", "Package: base\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n");
    write(d.path + "/info/base.list", "/usr/bin/base\n");
    boost::asio::io_context io;
    auto busy = boost::asio::make_work_guard(io); // the loader thread posts its index
    ProvenanceConfig cfg;
    cfg.packages = true;
    cfg.dpkg_dir = d.path;
    ExeProvenance prov(io, cfg, [](const PendingExec&, const ExeFacts&) {});
    prov.start();
    auto loads_reach = [&](uint64_t n) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (prov.stats().index_loads < n && std::chrono::steady_clock::now() < deadline)
            io.run_one_for(std::chrono::milliseconds(100));
        return prov.stats().index_loads >= n;
    };
    auto pending = [] {
        return PendingExec{};
    };
    auto self = static_cast<uint32_t>(getpid());
    REQUIRE(loads_reach(1));
    ExeFacts before = prov.on_exec(self, "/usr/bin/tool", nullptr, pending);
    CHECK(before.package_known);
    CHECK_FALSE(before.package.has_value());
    // What dpkg does: the new .list first, then status rewritten and renamed over.
    write(d.path + "/info/tool.list", "/usr/bin/tool\n");
    write(d.path + "/status.new",
          "Package: base\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n\n"
          "Package: tool\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.5-1\n");
    fs::rename(d.path + "/status.new", d.path + "/status");
    REQUIRE(loads_reach(2));
    ExeFacts after = prov.on_exec(self, "/usr/bin/tool", nullptr, pending);
    REQUIRE(after.package.has_value());
    CHECK(after.package->name == "tool");
    CHECK(after.package->version == "2.5-1");
}
