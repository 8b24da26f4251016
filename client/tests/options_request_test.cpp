#include "connection.hpp"
#include "options.hpp"
#include "request.hpp"
#include "terminal.hpp"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>

using namespace execmon;
using Catch::Matchers::ContainsSubstring;

namespace {

ParseResult parse(std::vector<const char*> args) {
    args.insert(args.begin(), "execmon");
    return parse_options(static_cast<int>(args.size()), args.data());
}

nlohmann::json request_of(std::vector<const char*> args) {
    auto r = parse(std::move(args));
    REQUIRE(r.options);
    return nlohmann::json::parse(subscribe_request(r.options->filters, view_events(*r.options)));
}

} // namespace

TEST_CASE("every filter goes into one subscribe request with the daemon's member names", "[options]") {
    auto j = request_of({"-u", "0", "-u", "root", "-c", "ssh*", "-f", "/usr/bin/*", "--cgroup",
                         "/system.slice", "-p", "42", "-e", "fork,exec", "-e", "exit"});
    CHECK(j == nlohmann::json::parse(R"({"type":"subscribe","events":["fork","exec","exit"],"uid":[0,0],)"
                                     R"("comm":["ssh*"],"filename":["/usr/bin/*"],"cgroup":"/system.slice",)"
                                     R"("descendants_of":[42]})"));
}

TEST_CASE("the view's default events: exec, and exit with -x", "[options]") {
    CHECK(request_of({}) == nlohmann::json::parse(R"({"type":"subscribe","events":["exec"]})"));
    CHECK(request_of({"-x"})["events"] == nlohmann::json::parse(R"(["exec","exit"])"));
    CHECK(request_of({"-x", "-e", "fork"})["events"] == nlohmann::json::parse(R"(["fork"])"));
}

TEST_CASE("members the daemon may lack are sent only when asked for", "[options]") {
    const std::string id(64, 'e');
    auto j = request_of({"--auid", "0", "--container", id.c_str(), "--container", "box"});
    CHECK(j["auid"] == nlohmann::json::parse("[0]"));
    CHECK(j["container_id"] == nlohmann::json::array({id}));
    CHECK(j["container_name"] == nlohmann::json::array({"box"}));
    CHECK_FALSE(request_of({"--container", id.c_str()}).contains("container_name"));
    CHECK_FALSE(request_of({}).contains("auid"));
}

TEST_CASE("a cgroup pasted from /sys/fs/cgroup is the stream's path", "[options]") {
    CHECK(request_of({"--cgroup", "/sys/fs/cgroup/unified/system.slice/cron.service"})["cgroup"] ==
          "/system.slice/cron.service");
    CHECK(request_of({"--cgroup", "/sys/fs/cgroup"})["cgroup"] == "/");
}

TEST_CASE("bad flags are usage errors that say what is wrong", "[options]") {
    auto bad = [](std::vector<const char*> args, const std::string& says) {
        auto r = parse(std::move(args));
        CHECK_FALSE(r.options);
        CHECK(r.exit_code == exit_usage);
        CHECK_THAT(r.text, ContainsSubstring(says));
    };
    bad({"-e", "boot"}, "unknown event type 'boot' (fork, exec, exit)");
    bad({"-u", "no-such-user-here"}, "no user named 'no-such-user-here'");
    bad({"-p", "0"}, "is not a pid");
    bad({"-p", "12x"}, "is not a pid");
    bad({"--cgroup", "system.slice"}, "is not a path");
    bad({"--tree", "--json"}, "do not go together");
    bad({"ps", "-c", "ssh"}, "execmon ps takes no filters");
    bad({"stats", "-x"}, "execmon stats takes no filters");
    bad({"-i", "5"}, "-i applies to execmon stats");
    bad({"frobnicate"}, "unknown command 'frobnicate'");
    bad({"--color", "sometimes"}, "--color");
}

TEST_CASE("commands and view flags", "[options]") {
    auto r = parse({"ps", "-p", "1"});
    REQUIRE(r.options);
    CHECK(r.options->command == Command::ps);
    CHECK(r.options->filters.pids == std::vector<uint32_t>{1});
    r = parse({"snapshot"});
    REQUIRE(r.options);
    CHECK(r.options->command == Command::ps);
    r = parse({"stats", "-i", "5", "--json"});
    REQUIRE(r.options);
    CHECK(r.options->command == Command::stats);
    CHECK(r.options->interval == 5);
    r = parse({"--help"});
    CHECK_FALSE(r.options);
    CHECK(r.exit_code == exit_ok);
    CHECK_THAT(r.text, ContainsSubstring("execmon ps"));
}

TEST_CASE("the socket: --socket, else $EXECMOND_SOCKET, else the default", "[options]") {
    unsetenv("EXECMOND_SOCKET");
    CHECK(socket_path(std::nullopt) == "/run/execmond/events.sock");
    setenv("EXECMOND_SOCKET", "/tmp/e.sock", 1);
    CHECK(socket_path(std::nullopt) == "/tmp/e.sock");
    CHECK(socket_path(std::string("/x.sock")) == "/x.sock");
    setenv("EXECMOND_SOCKET", "", 1);
    CHECK(socket_path(std::nullopt) == "/run/execmond/events.sock");
    unsetenv("EXECMOND_SOCKET");
}

TEST_CASE("colour only on a terminal, and never with NO_COLOR or TERM=dumb", "[options]") {
    CHECK(use_colour(ColourMode::automatic, true, nullptr, "xterm"));
    CHECK_FALSE(use_colour(ColourMode::automatic, false, nullptr, "xterm"));
    CHECK_FALSE(use_colour(ColourMode::automatic, true, "1", "xterm"));
    CHECK(use_colour(ColourMode::automatic, true, "", "xterm")); // NO_COLOR set but empty does not count
    CHECK_FALSE(use_colour(ColourMode::automatic, true, nullptr, "dumb"));
    CHECK(use_colour(ColourMode::always, false, "1", "dumb"));
    CHECK_FALSE(use_colour(ColourMode::never, true, nullptr, "xterm"));
}

TEST_CASE("the error messages a person meets", "[options]") {
    CHECK(not_running_message("/run/execmond/events.sock") ==
          "execmond is not running (no socket at /run/execmond/events.sock); start it with: systemctl start "
          "execmond");
    CHECK_THAT(permission_message("/run/execmond/events.sock"),
               ContainsSubstring("add yourself to the execmond group: usermod -aG execmond "));
}

TEST_CASE("connecting to no socket says the daemon is not running", "[options]") {
    CHECK_THROWS_WITH(Connection("/nonexistent-dir/events.sock"),
                      not_running_message("/nonexistent-dir/events.sock"));
}
