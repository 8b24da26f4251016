#include "options.hpp"

#include <algorithm>
#include <catch2/catch_test_macros.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace execmond;

namespace {

ParseResult parse(std::vector<std::string> args) {
    args.insert(args.begin(), "execmond");
    // A config path that does not exist unless a test writes it.
    bool has_config = false;
    for (const auto& a : args)
        has_config |= a.rfind("--config", 0) == 0 || a == "-c";
    if (!has_config) {
        args.push_back("--config=/nonexistent/execmond.conf");
    }
    std::vector<const char*> argv;
    for (const auto& a : args)
        argv.push_back(a.c_str());
    return parse_options(static_cast<int>(argv.size()), argv.data());
}

struct TempConfig {
    std::string path;
    explicit TempConfig(const std::string& text) {
        char tmpl[] = "/tmp/execmond-conf-XXXXXX";
        int fd = mkstemp(tmpl);
        REQUIRE(fd >= 0);
        close(fd);
        path = tmpl;
        std::ofstream(path) << text;
    }
    ~TempConfig() { std::remove(path.c_str()); }
};

} // namespace

TEST_CASE("defaults", "[options]") {
    char tmpl[] = "/tmp/execmond-conf-XXXXXX";
    int fd = mkstemp(tmpl);
    close(fd);
    auto r = parse({std::string("--config=") + tmpl});
    std::remove(tmpl);
    REQUIRE(r.options);
    CHECK(r.options->socket_path == "/run/execmond/events.sock");
    CHECK(r.options->socket_mode == 0660);
    CHECK(r.options->ring_size == 8u << 20);
    CHECK(r.options->latency_us == 1000);
    CHECK(r.options->ancestors_depth == 64);
    CHECK_FALSE(r.options->ancestor_argv);
    CHECK_FALSE(r.options->exec_failures);
}

TEST_CASE("--ancestor-argv turns it on; the config file says true or false", "[options]") {
    TempConfig empty("");
    auto on = parse({"--config=" + empty.path, "--ancestor-argv"});
    REQUIRE(on.options);
    CHECK(on.options->ancestor_argv);
    TempConfig conf("ancestor-argv = true\n");
    auto from_file = parse({"--config=" + conf.path});
    REQUIRE(from_file.options);
    CHECK(from_file.options->ancestor_argv);
    TempConfig no("ancestor-argv = false\n");
    auto off = parse({"--config=" + no.path});
    REQUIRE(off.options);
    CHECK_FALSE(off.options->ancestor_argv);
    TempConfig bad("ancestor-argv = maybe\n");
    auto r = parse({"--config=" + bad.path});
    CHECK_FALSE(r.options);
    CHECK(r.text.find("ancestor-argv") != std::string::npos);
}

TEST_CASE("--env: repeatable names, duplicates once, at most 16, also from the config file", "[options]") {
    TempConfig conf("env = SUDO_USER\n");
    auto r = parse({"--config=" + conf.path, "--env", "LD_PRELOAD", "--env", "LD_PRELOAD"});
    REQUIRE(r.options);
    auto env = r.options->env;
    std::sort(env.begin(), env.end());
    CHECK(env == std::vector<std::string>{"LD_PRELOAD", "SUDO_USER"});
    std::vector<std::string> many{"--config=" + conf.path};
    for (int i = 0; i < 16; ++i) {
        many.push_back("--env");
        many.push_back("V" + std::to_string(i));
    }
    auto too_many = parse(many);
    CHECK_FALSE(too_many.options);
    CHECK(too_many.text.find("--env: at most 16 names") != std::string::npos);
}

TEST_CASE("--exec-failures: a flag on the command line, true/false in the config file", "[options]") {
    TempConfig empty("");
    auto flag = parse({"--config=" + empty.path, "--exec-failures"});
    REQUIRE(flag.options);
    CHECK(flag.options->exec_failures);
    TempConfig on("exec-failures = true\n");
    auto conf = parse({"--config=" + on.path});
    REQUIRE(conf.options);
    CHECK(conf.options->exec_failures);
    auto off = parse({"--config=" + on.path, "--exec-failures=false"});
    REQUIRE(off.options);
    CHECK_FALSE(off.options->exec_failures);
    TempConfig bad("exec-failures = sometimes\n");
    auto r = parse({"--config=" + bad.path});
    CHECK(r.exit_code == exit_usage);
    CHECK(r.text.find(bad.path + " line 1: exec-failures: 'sometimes' is not one of true, false") !=
          std::string::npos);
}

TEST_CASE("--wakeup-timer: auto by default, kernel or reader from the command line or the config file",
          "[options]") {
    using WakeupTimer = ProbeConfig::WakeupTimer;
    TempConfig empty("");
    auto dflt = parse({"--config=" + empty.path});
    REQUIRE(dflt.options);
    CHECK(dflt.options->wakeup_timer == WakeupTimer::automatic);
    auto kernel = parse({"--config=" + empty.path, "--wakeup-timer", "kernel"});
    REQUIRE(kernel.options);
    CHECK(kernel.options->wakeup_timer == WakeupTimer::kernel);
    TempConfig conf("wakeup-timer = reader\n");
    auto from_file = parse({"--config=" + conf.path});
    REQUIRE(from_file.options);
    CHECK(from_file.options->wakeup_timer == WakeupTimer::reader);
}

TEST_CASE("a missing explicit config file is an error", "[options]") {
    auto r = parse({});
    CHECK_FALSE(r.options);
    CHECK(r.exit_code == exit_usage);
    CHECK(r.text.find("/nonexistent/execmond.conf") != std::string::npos);
}

TEST_CASE("flag errors are one clear line and exit 2", "[options]") {
    TempConfig empty("");
    auto with = [&](std::vector<std::string> a) {
        a.insert(a.begin(), "--config=" + empty.path);
        return parse(a);
    };
    struct Case {
        std::vector<std::string> args;
        std::string expect;
    };
    std::vector<Case> cases = {
        {{"--bogus"}, "unrecognised option '--bogus'"},
        {{"--ring-size", "3M"}, "--ring-size: '3M' must be a power of two"},
        {{"--ring-size", "lots"}, "--ring-size: 'lots' is not a size"},
        // One range everywhere (help, man page, docs): an exec record is up to
        // ~12 KiB, so a ring below 64K would drop most of them.
        {{"--ring-size", "32K"}, "--ring-size: '32K' must be a power of two from 64K to 1G"},
        {{"--ring-size", "2G"}, "--ring-size: '2G' must be a power of two from 64K to 1G"},
        {{"--latency-us", "-5"}, "--latency-us: '-5' is not a number"},
        {{"--probe-mode", "fast"}, "--probe-mode: 'fast' is not one of auto, btf, classic"},
        {{"--wakeup-timer", "soon"}, "--wakeup-timer: 'soon' is not one of auto, kernel, reader"},
        {{"--follow", "0"}, "--follow: '0' is not a number from 1"},
        {{"--ancestors-depth", "65"}, "--ancestors-depth: '65' is not a number from 0 to 64"},
        {{"--exec-failures=maybe"}, "--exec-failures: 'maybe' is not one of true, false"},
        {{"--env", "A=B"}, "--env: 'A=B' is not an environment variable name"},
        {{"--env", ""}, "--env: an environment variable name cannot be empty"},
        {{"--redact", "(unclosed"}, "--redact: '(unclosed' is not a valid regular expression"},
        {{"--socket-mode", "999"}, "--socket-mode: '999' is not a number"},
        {{"--allow-group", "no-such-group-xyz"}, "no group named 'no-such-group-xyz'"},
        {{"--socket"}, "the required argument for option '--socket' is missing"},
        {{"positional"}, "too many positional options"},
    };
    for (const auto& c : cases) {
        INFO(c.args[0]);
        auto r = with(c.args);
        CHECK_FALSE(r.options);
        CHECK(r.exit_code == exit_usage);
        CHECK(r.text.find(c.expect) != std::string::npos);
        CHECK(r.text.find('\n') == std::string::npos);
    }
}

TEST_CASE("help and version exit 0 with text", "[options]") {
    auto h = parse({"--help"});
    CHECK_FALSE(h.options);
    CHECK(h.exit_code == 0);
    CHECK(h.text.find("--socket") != std::string::npos);
    // As the parser says it; the help wraps its descriptions where it likes.
    std::string words;
    for (char ch : h.text)
        if (ch != ' ' && ch != '\n')
            words += ch;
        else if (!words.empty() && words.back() != ' ')
            words += ' ';
    CHECK(words.find("a power of two from 64K to 1G") != std::string::npos);
    TempConfig empty("");
    auto smallest = parse({"--config=" + empty.path, "--ring-size", "64K"});
    REQUIRE(smallest.options);
    CHECK(smallest.options->ring_size == 65536);
    auto v = parse({"-V"});
    CHECK(v.text.rfind("execmond ", 0) == 0);
}

TEST_CASE("config file: same keys as flags, flags win", "[options]") {
    TempConfig conf("# comment\nsocket = /tmp/from-config.sock\nlatency-us = 250\nredact = a\nredact = b\n");
    auto r = parse({"--config=" + conf.path, "--latency-us=500"});
    REQUIRE(r.options);
    CHECK(r.options->socket_path == "/tmp/from-config.sock");
    CHECK(r.options->latency_us == 500);
    CHECK(r.options->redact == std::vector<std::string>{"a", "b"});
}

TEST_CASE("config file errors name the key and the line", "[options]") {
    SECTION("unknown key") {
        TempConfig conf("socket = /tmp/x.sock\n\nfrobnicate = 1\n");
        auto r = parse({"--config=" + conf.path});
        CHECK(r.exit_code == exit_usage);
        CHECK(r.text.find(conf.path + " line 3") != std::string::npos);
        CHECK(r.text.find("frobnicate") != std::string::npos);
    }
    SECTION("bad value") {
        TempConfig conf("socket = /tmp/x.sock\nring-size = 12345\n");
        auto r = parse({"--config=" + conf.path});
        CHECK(r.exit_code == exit_usage);
        CHECK(r.text.find(conf.path + " line 2: ring-size") != std::string::npos);
    }
    SECTION("not key = value") {
        TempConfig conf("socket /tmp/x.sock\n");
        auto r = parse({"--config=" + conf.path});
        CHECK(r.exit_code == exit_usage);
        CHECK(r.text.find("line 1") != std::string::npos);
    }
}

TEST_CASE("sizes", "[options]") {
    CHECK(parse_size("4096") == 4096u);
    CHECK(parse_size("64K") == 65536u);
    CHECK(parse_size("8M") == 8u << 20);
    CHECK(parse_size("1G") == 1u << 30);
    CHECK_FALSE(parse_size(""));
    CHECK_FALSE(parse_size("M"));
    CHECK_FALSE(parse_size("1T"));
    CHECK_FALSE(parse_size("99999999999999999999G"));
}

TEST_CASE("the replay buffer and the state directory, from flags and the config file", "[options]") {
    TempConfig defaults("");
    auto d = parse({"--config=" + defaults.path});
    REQUIRE(d.options);
    CHECK(d.options->replay_buffer_bytes == 64u << 20);
    CHECK(d.options->state_dir == "/var/lib/execmond");
    TempConfig conf("replay-buffer = 1M\nstate-dir = /tmp/em-state\n");
    auto r = parse({"--config=" + conf.path});
    REQUIRE(r.options);
    CHECK(r.options->replay_buffer_bytes == 1u << 20);
    CHECK(r.options->state_dir == "/tmp/em-state");
    auto off = parse({"--config=" + conf.path, "--replay-buffer", "0", "--state-dir", ""});
    REQUIRE(off.options);
    CHECK(off.options->replay_buffer_bytes == 0);
    CHECK(off.options->state_dir.empty());
    TempConfig none("state-dir =\n");
    auto empty = parse({"--config=" + none.path});
    REQUIRE(empty.options);
    CHECK(empty.options->state_dir.empty());
    auto relative = parse({"--config=" + defaults.path, "--state-dir", "state"});
    CHECK_FALSE(relative.options);
    CHECK(relative.text == "execmond: --state-dir: 'state' is not an absolute path");
}

TEST_CASE("output file and metrics: off by default, every key checked", "[options]") {
    auto d = parse({"--config=/dev/null"});
    REQUIRE(d.options);
    CHECK(d.options->output_file.empty());
    CHECK(d.options->metrics_address.empty());
    CHECK(d.options->output_max_size == 100u << 20);
    CHECK(d.options->output_keep == 5);
    CHECK(d.options->output_mode == 0640);
    CHECK_FALSE(d.options->output_compress);
    CHECK(d.options->output_filter.exec);
    CHECK(d.options->output_filter.fork);

    TempConfig conf("output-file = /var/log/execmond/events.jsonl\noutput-max-size = 1M\noutput-keep = 0\n"
                    "output-compress = gzip\noutput-mode = 0600\noutput-group = adm\n"
                    "output-filter = {\"events\":[\"exec\"],\"uid\":[0]}\nmetrics-listen = 127.0.0.1:9669\n");
    auto r = parse({"--config=" + conf.path});
    REQUIRE(r.options);
    CHECK(r.options->output_file == "/var/log/execmond/events.jsonl");
    CHECK(r.options->output_max_size == 1u << 20);
    CHECK(r.options->output_keep == 0);
    CHECK(r.options->output_compress);
    CHECK(r.options->output_mode == 0600);
    CHECK(r.options->output_group == "adm");
    CHECK(r.options->output_filter.exec);
    CHECK_FALSE(r.options->output_filter.fork);
    CHECK(r.options->output_filter.uids == std::vector<uint32_t>{0});
    CHECK(r.options->metrics_address == "127.0.0.1");
    CHECK(r.options->metrics_port == 9669);

    auto v6 = parse({"--config=/dev/null", "--metrics-listen=[::1]:9100"});
    REQUIRE(v6.options);
    CHECK(v6.options->metrics_address == "::1");
    CHECK(v6.options->metrics_port == 9100);

    for (const char* bad :
         {"--metrics-listen=localhost:9100", "--metrics-listen=127.0.0.1", "--metrics-listen=127.0.0.1:0",
          "--metrics-listen=127.0.0.1:65536", "--metrics-listen=::1:9100",
          "--metrics-listen=[127.0.0.1]:9100", "--output-max-size=1000", "--output-keep=1001",
          "--output-compress=zstd", "--output-mode=0999", "--output-queue=1K", "--output-filter=[1]",
          "--output-filter={\"events\":[\"boot\"]}", "--output-filter={\"type\":\"stats\"}",
          "--output-filter={\"colour\":1}", "--output-file="}) {
        INFO(bad);
        auto b = parse({"--config=/dev/null", bad});
        CHECK_FALSE(b.options);
        CHECK(b.exit_code == exit_usage);
    }
    auto named = parse({"--config=/dev/null", "--output-filter={\"events\":[\"boot\"]}"});
    CHECK(named.text.find("--output-filter: events: unknown event type 'boot'") != std::string::npos);
}
