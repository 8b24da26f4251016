#include "file_sink.hpp"
#include "output_file.hpp"
#include "schema_check.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <catch2/catch_test_macros.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/resource.h>
#include <sys/stat.h>
#include <zlib.h>

using namespace execmond;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/execmond-sink-XXXXXX";
        REQUIRE(mkdtemp(tmpl));
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

const std::string hello_text =
    R"({"type":"hello","protocol":1,"version":"0.1.0","hostname":"h","boot_id":)"
    R"("5b6c0a39-4e47-4d5e-9d1c-1f0f3b6b2a11","boot_time":"2026-01-01T00:00:00.000000000Z",)"
    R"("probe_mode":"tp_btf","parent_path":"btf"})"
    "\n";

// An exec-sized line that says its number.
Line numbered(int n) {
    std::string pad(180, 'x');
    return share(R"({"type":"exec","n":)" + std::to_string(n) + R"(,"pad":")" + pad + "\"}\n");
}

std::string read_file(const fs::path& p) {
    if (p.extension() == ".gz") {
        gzFile z = gzopen(p.c_str(), "rb");
        REQUIRE(z != nullptr);
        std::string out;
        char buf[65536];
        int n;
        while ((n = gzread(z, buf, sizeof(buf))) > 0)
            out.append(buf, static_cast<size_t>(n));
        REQUIRE(n == 0);
        gzclose(z);
        return out;
    }
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string l;
    while (std::getline(in, l))
        out.push_back(l + "\n");
    return out;
}

// Rotated files oldest first, then the live one.
std::vector<fs::path> generations(const fs::path& dir, const std::string& live) {
    std::vector<fs::path> rotated;
    for (const auto& e : fs::directory_iterator(dir))
        if (RotatedFiles::is_rotated_name(live, e.path().filename().string()))
            rotated.push_back(e.path());
    std::sort(rotated.begin(), rotated.end());
    if (fs::exists(dir / live))
        rotated.push_back(dir / live);
    return rotated;
}

FileSinkConfig config(const fs::path& file) {
    FileSinkConfig c;
    c.path = file.string();
    c.group = "";
    return c;
}

} // namespace

TEST_CASE("output file: rotated by size, every file starts with hello, gzip keeps every line",
          "[file_sink]") {
    TempDir dir;
    boost::asio::io_context io;
    auto c = config(dir.path / "events.jsonl");
    c.max_size = 4096;
    c.keep = 100;
    c.compress = true;
    const int total = 500;
    {
        FileSink sink(io, c, share(hello_text));
        for (int i = 0; i < total; ++i) {
            sink.send(numbered(i));
            if (i % 7 == 0)
                io.poll(); // a drain's worth of lines at a time, as on the loop
        }
        io.poll();
        sink.wait_idle();
        CHECK(sink.counters().written == total);
        CHECK(sink.counters().rotations > 10);
        CHECK(sink.counters().lost_slow + sink.counters().lost_error == 0);
    }
    auto files = generations(dir.path, "events.jsonl");
    REQUIRE(files.size() > 10);
    int next = 0;
    for (size_t f = 0; f < files.size(); ++f) {
        INFO(files[f]);
        // Every rotated one compressed but the newest (a shipper may still read it).
        CHECK((files[f].extension() == ".gz") == (f + 2 < files.size()));
        std::string text = read_file(files[f]);
        CHECK(text.size() <= c.max_size);
        auto lines = lines_of(text);
        REQUIRE(lines.size() >= 2);
        CHECK(lines[0] == hello_text);
        for (size_t i = 1; i < lines.size(); ++i)
            CHECK(nlohmann::json::parse(lines[i])["n"] == next++);
        struct stat st {};
        REQUIRE(stat(files[f].c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0640);
    }
    CHECK(next == total);
}

TEST_CASE("output file: only the newest --output-keep rotated files stay", "[file_sink]") {
    TempDir dir;
    boost::asio::io_context io;
    auto c = config(dir.path / "events.jsonl");
    c.max_size = 4096;
    c.keep = 2;
    const int total = 400;
    {
        FileSink sink(io, c, share(hello_text));
        for (int i = 0; i < total; ++i) {
            sink.send(numbered(i));
            io.poll();
        }
        sink.wait_idle();
        CHECK(sink.counters().rotations > 5);
    }
    auto files = generations(dir.path, "events.jsonl");
    REQUIRE(files.size() == 3); // two rotated, the live one
    // The newest lines, contiguous up to the last one written.
    std::vector<int> seen;
    for (const auto& f : files)
        for (const auto& l : lines_of(read_file(f)))
            if (auto j = nlohmann::json::parse(l); j["type"] == "exec")
                seen.push_back(j["n"]);
    REQUIRE(!seen.empty());
    CHECK(seen.back() == total - 1);
    for (size_t i = 1; i < seen.size(); ++i)
        CHECK(seen[i] == seen[i - 1] + 1);
}

TEST_CASE("output file: a full queue drops the oldest lines and says where, with the count and seqs",
          "[file_sink]") {
    TempDir dir;
    boost::asio::io_context io;
    auto c = config(dir.path / "events.jsonl");
    c.queue_bytes = 65536;
    c.max_size = 0;
    const int total = 3000; // 600 KB queued without the writer being woken
    uint64_t lost_counted = 0;
    {
        FileSink sink(io, c, share(hello_text));
        for (int i = 0; i < total; ++i)
            sink.deliver(numbered(i), static_cast<uint64_t>(i) + 1); // line n has seq n + 1
        lost_counted = sink.counters().lost_slow;
        CHECK(lost_counted > 0);
        CHECK(sink.counters().queued_bytes <= c.queue_bytes);
        io.poll();
        sink.wait_idle();
    }
    auto lines = lines_of(read_file(dir.path / "events.jsonl"));
    REQUIRE(lines.size() > 2);
    CHECK(lines[0] == hello_text);
    int expected = 0;
    uint64_t lost_reported = 0;
    std::vector<std::string> lost_lines;
    for (size_t i = 1; i < lines.size(); ++i) {
        auto j = nlohmann::json::parse(lines[i]);
        if (j["type"] == "lost") {
            CHECK(j["reason"] == "file_slow");
            lost_reported += j["count"].get<uint64_t>();
            // The seqs of exactly the lines missing here.
            CHECK(j["first_seq"] == expected + 1);
            CHECK(j["last_seq"] == expected + j["count"].get<int>());
            expected += j["count"].get<int>();
            lost_lines.push_back(lines[i]);
            continue;
        }
        REQUIRE(j["n"] == expected); // a gap only where a lost line stands
        ++expected;
    }
    CHECK(expected == total);
    CHECK(lost_reported == lost_counted);
    if (test::schema_validator())
        CHECK(test::schema_report(lost_lines).empty());
}

TEST_CASE("output file: reopen after a rename continues in a new file at the path", "[file_sink]") {
    TempDir dir;
    boost::asio::io_context io;
    auto c = config(dir.path / "events.jsonl");
    mode_t old_umask = umask(077); // as under the unit: the mode is set, not left to the umask
    {
        FileSink sink(io, c, share(hello_text));
        for (int i = 0; i < 10; ++i)
            sink.send(numbered(i));
        io.poll();
        sink.wait_idle();
        fs::rename(dir.path / "events.jsonl", dir.path / "events.jsonl.1"); // logrotate's move
        sink.send(numbered(10)); // before the reopen: still into the renamed file
        io.poll();
        sink.wait_idle();
        sink.reopen();
        sink.wait_idle();
        for (int i = 11; i < 20; ++i)
            sink.send(numbered(i));
        io.poll();
        sink.wait_idle();
    }
    umask(old_umask);
    auto before = lines_of(read_file(dir.path / "events.jsonl.1"));
    auto after = lines_of(read_file(dir.path / "events.jsonl"));
    REQUIRE(before.size() == 12);
    REQUIRE(after.size() == 10);
    CHECK(after[0] == hello_text);
    CHECK(nlohmann::json::parse(before.back())["n"] == 10);
    CHECK(nlohmann::json::parse(after[1])["n"] == 11);
    struct stat st {};
    REQUIRE(stat((dir.path / "events.jsonl").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
}

TEST_CASE("output file: a start appends a hello to what an earlier run wrote", "[file_sink]") {
    TempDir dir;
    boost::asio::io_context io;
    auto c = config(dir.path / "events.jsonl");
    for (int run = 0; run < 2; ++run) {
        FileSink sink(io, c, share(hello_text));
        sink.send(numbered(run));
        io.poll();
        sink.wait_idle();
    }
    auto lines = lines_of(read_file(dir.path / "events.jsonl"));
    REQUIRE(lines.size() == 4);
    CHECK(lines[0] == hello_text);
    CHECK(lines[2] == hello_text);
}

TEST_CASE("output file: a write that fails part-way leaves whole lines only", "[file_sink]") {
    TempDir dir;
    // RLIMIT_FSIZE stands in for a full disk: writes past it fail (EFBIG) after
    // a short write, as ENOSPC does.
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit old{};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    OutputFile f;
    REQUIRE(f.open((dir.path / "out").string(), 0640, std::nullopt).error.empty());
    std::vector<std::string> text;
    for (int i = 0; i < 100; ++i)
        text.push_back("line " + std::to_string(i) + " " + std::string(40, 'y') + "\n");
    std::vector<std::string_view> pieces(text.begin(), text.end());
    rlimit small = old;
    small.rlim_cur = 1000;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
    auto r = f.append(pieces);
    auto again = f.append(std::span(pieces).subspan(r.complete));
    REQUIRE(setrlimit(RLIMIT_FSIZE, &old) == 0);
    CHECK(r.error == EFBIG);
    CHECK(again.error == EFBIG);
    CHECK(again.complete == 0);
    REQUIRE(r.complete < pieces.size());
    std::string content = read_file(dir.path / "out");
    CHECK(content.size() == f.size());
    CHECK(content.size() <= 1000);
    // Exactly the complete pieces, nothing of the one that failed.
    std::string expected;
    for (size_t i = 0; i < r.complete; ++i)
        expected += text[i];
    CHECK(content == expected);
    // With room again, writing continues after the last whole line.
    auto rest = f.append(std::span(pieces).subspan(r.complete));
    CHECK(rest.error == 0);
    std::string all;
    for (const auto& t : text)
        all += t;
    CHECK(read_file(dir.path / "out") == all);
}
