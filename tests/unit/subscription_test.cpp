#include "subscription.hpp"

#include <catch2/catch_test_macros.hpp>

using namespace execmond;

namespace {
Subscription sub(std::string_view line) {
    auto r = parse_request(line);
    REQUIRE(std::holds_alternative<SubscribeRequest>(r));
    return std::get<SubscribeRequest>(r).subscription;
}
std::string error_of(std::string_view line) {
    auto r = parse_request(line);
    REQUIRE(std::holds_alternative<RequestError>(r));
    return std::get<RequestError>(r).message;
}
Event exec(Pid pid, Pid ppid, uint32_t uid, std::string_view comm) {
    Event e;
    e.kind = EventKind::exec;
    e.pid = pid;
    e.ppid = ppid;
    e.uid = uid;
    e.comm = comm;
    return e;
}
} // namespace

TEST_CASE("subscribe filters by type, uid, globs, cgroup and subtree", "[subscription]") {
    ProcessTable table{ProcReader("/nonexistent")};
    auto s = sub(R"({"type":"subscribe","events":["exec"],"uid":[1000],"comm":"ba*","filename":["/usr/bin/*"],
                     "cgroup":"/user.slice/"})");
    CHECK(s.matches(exec(5, 1, 1000, "bash"), "/usr/bin/bash", "/user.slice/u.scope", nullptr, table));
    CHECK_FALSE(s.matches(exec(5, 1, 0, "bash"), "/usr/bin/bash", "/user.slice/u.scope", nullptr, table));
    CHECK_FALSE(s.matches(exec(5, 1, 1000, "sh"), "/usr/bin/bash", "/user.slice/u.scope", nullptr, table));
    CHECK_FALSE(s.matches(exec(5, 1, 1000, "bash"), "/bin/bash", "/user.slice/u.scope", nullptr, table));
    CHECK_FALSE(s.matches(exec(5, 1, 1000, "bash"), "/usr/bin/bash", "/system.slice/x", nullptr, table));
    Event fork = exec(5, 1, 1000, "bash");
    fork.kind = EventKind::fork;
    CHECK_FALSE(s.matches(fork, "/usr/bin/bash", "/user.slice/u.scope", nullptr, table));
}

TEST_CASE("cgroup matches the path and below it, on whole components", "[subscription]") {
    ProcessTable table{ProcReader("/nonexistent")};
    auto e = exec(5, 1, 0, "x");
    auto s = sub(R"({"type":"subscribe","cgroup":"/system.slice"})");
    CHECK(s.matches(e, "", "/system.slice", nullptr, table));
    CHECK(s.matches(e, "", "/system.slice/x.service", nullptr, table));
    CHECK_FALSE(s.matches(e, "", "/system.slice2", nullptr, table));
    CHECK_FALSE(s.matches(e, "", "/system.slice-other/x", nullptr, table));
    CHECK_FALSE(s.matches(e, "", "/system", nullptr, table));
    CHECK_FALSE(s.matches(e, "", "", nullptr, table)); // unknown cgroup
    auto slash = sub(R"({"type":"subscribe","cgroup":"/system.slice/"})");
    CHECK(slash.matches(e, "", "/system.slice/x.service", nullptr, table));
    CHECK_FALSE(slash.matches(e, "", "/system.slice2", nullptr, table));
    auto root = sub(R"({"type":"subscribe","cgroup":"/"})");
    CHECK(root.matches(e, "", "/user.slice", nullptr, table));
}

TEST_CASE("an empty subscribe sees everything", "[subscription]") {
    ProcessTable table{ProcReader("/nonexistent")};
    auto s = sub(R"({"type":"subscribe"})");
    CHECK(s.matches(exec(5, 1, 0, "x"), "", "", nullptr, table));
}

TEST_CASE("exec_failed is an event type of its own, on by default", "[subscription]") {
    ProcessTable table{ProcReader("/nonexistent")};
    Event failed = exec(5, 1, 0, "sh");
    failed.kind = EventKind::exec_failed;
    CHECK(sub(R"({"type":"subscribe"})").matches(failed, "/nope", "", nullptr, table));
    CHECK_FALSE(
        sub(R"({"type":"subscribe","events":["exec","exit"]})").matches(failed, "/nope", "", nullptr, table));
    auto only = sub(R"({"type":"subscribe","events":["exec_failed"],"filename":"/no*"})");
    CHECK(only.matches(failed, "/nope", "", nullptr, table));
    CHECK_FALSE(only.matches(failed, "/bin/sh", "", nullptr, table));
    CHECK_FALSE(only.matches(exec(5, 1, 0, "sh"), "/nope", "", nullptr, table));
    CHECK(only.to_json()["events"] == nlohmann::ordered_json::array({"exec_failed"}));
}

TEST_CASE("invalid requests get a reason", "[subscription]") {
    CHECK(error_of("not json") == "request is not valid JSON");
    CHECK(error_of("[1,2]") == "request must be a JSON object");
    CHECK(error_of(R"({"x":1})").find("needs a \"type\"") != std::string::npos);
    CHECK(error_of(R"({"type":"dance"})").find("unknown request type 'dance'") != std::string::npos);
    CHECK(error_of(R"({"type":"subscribe","events":["boot"]})").find("unknown event type 'boot'") !=
          std::string::npos);
    CHECK(error_of(R"({"type":"subscribe","uid":"root"})").find("uid must be") != std::string::npos);
    CHECK(error_of(R"({"type":"subscribe","colour":"red"})").find("unknown key 'colour'") !=
          std::string::npos);
    CHECK(error_of("{\"type\":\"subscribe\",\"comm\":\"\xff\"}") == "request is not valid UTF-8");
    CHECK(std::holds_alternative<StatsRequest>(parse_request(R"({"type":"stats"})")));
}

TEST_CASE("a NUL byte anywhere makes a request invalid", "[subscription]") {
    using namespace std::string_view_literals;
    CHECK(error_of("{\"type\":\"stats\"}\0"sv) == "request contains a NUL byte");
    CHECK(error_of("{\"type\":\"subscribe\"}\0{\"junk"sv) == "request contains a NUL byte");
    CHECK(error_of("\0"sv) == "request contains a NUL byte");
}

TEST_CASE("globs are bounded in length, stars and number", "[subscription]") {
    auto request = [](const char* key, const nlohmann::json& value) {
        return nlohmann::json{{"type", "subscribe"}, {key, value}}.dump();
    };
    for (const char* key : {"comm", "filename"}) {
        CAPTURE(key);
        // At the bounds: accepted.
        std::string longest(Subscription::max_glob_bytes, 'a');
        std::string starry;
        for (size_t i = 0; i < Subscription::max_glob_stars; ++i)
            starry += "*a";
        auto s = sub(request(key, {longest, starry}));
        CHECK((std::string(key) == "comm" ? s.comm_globs : s.filename_globs).size() == 2);
        CHECK(sub(request(key, std::vector<std::string>(Subscription::max_globs, "x*")))
                  .to_json()[key]
                  .size() == Subscription::max_globs);
        // One over: an error that says which bound.
        CHECK(error_of(request(key, longest + "a")) ==
              std::string(key) + ": a glob may have at most 1024 bytes");
        CHECK(error_of(request(key, {"ok", starry + "*"})) ==
              std::string(key) + ": a glob may have at most 16 '*'");
        CHECK(error_of(request(key, std::vector<std::string>(Subscription::max_globs + 1, "x*"))) ==
              std::string(key) + ": at most 64 globs");
    }
}

TEST_CASE("subscribe with since names the stream it counts", "[subscription]") {
    auto r = parse_request(R"({"type":"subscribe","events":"exec","since":42,"stream_id":"b:1"})");
    REQUIRE(std::holds_alternative<SubscribeRequest>(r));
    const auto& s = std::get<SubscribeRequest>(r);
    CHECK(s.since == 42u);
    CHECK(s.stream_id == "b:1");
    CHECK_FALSE(s.subscription.fork);
    CHECK_FALSE(std::get<SubscribeRequest>(parse_request(R"({"type":"subscribe"})")).since);
    CHECK(error_of(R"({"type":"subscribe","since":42})") ==
          "since and stream_id go together (see hello.stream_id)");
    CHECK(error_of(R"({"type":"subscribe","stream_id":"b:1"})") ==
          "since and stream_id go together (see hello.stream_id)");
    CHECK(error_of(R"({"type":"subscribe","since":-1,"stream_id":"b:1"})") ==
          "since must be a seq: a number from 0 to 18446744073709551615");
    CHECK(error_of(R"({"type":"subscribe","since":1,"stream_id":7})") ==
          "stream_id must be a string (hello.stream_id)");
}

TEST_CASE("subscribe filters by container id, name and runtime, exactly", "[subscription]") {
    ProcessTable table{ProcReader("/nonexistent")};
    const std::string id(64, 'a'), other(64, 'b');
    const std::string docker_path = "/system.slice/docker-" + id + ".scope";
    Container docker = parse_container(docker_path);
    Container box = parse_container("/machine.slice/systemd-nspawn@box.service/payload");
    Event e = exec(5, 1, 0, "sh");

    auto by_id = sub(R"({"type":"subscribe","container_id":")" + id + "\"}");
    CHECK(by_id.matches(e, "/bin/sh", docker_path, &docker, table));
    CHECK_FALSE(by_id.matches(e, "/bin/sh", "/", nullptr, table));
    CHECK_FALSE(by_id.matches(e, "/bin/sh", "", &box, table));
    auto two = sub(R"({"type":"subscribe","container_id":[")" + other + "\",\"" + id + "\"]}");
    CHECK(two.matches(e, "/bin/sh", docker_path, &docker, table));

    auto by_name = sub(R"({"type":"subscribe","container_name":"box"})");
    CHECK(by_name.matches(e, "/bin/sh", "", &box, table));
    CHECK_FALSE(by_name.matches(e, "/bin/sh", docker_path, &docker, table));

    auto by_runtime = sub(R"({"type":"subscribe","container_runtime":["nspawn","podman"]})");
    CHECK(by_runtime.matches(e, "/bin/sh", "", &box, table));
    CHECK_FALSE(by_runtime.matches(e, "/bin/sh", docker_path, &docker, table));
    CHECK_FALSE(by_runtime.matches(e, "/bin/sh", "/", nullptr, table));
    auto host = sub(R"({"type":"subscribe","container_runtime":"none"})");
    CHECK(host.matches(e, "/bin/sh", "/", nullptr, table));
    CHECK_FALSE(host.matches(e, "/bin/sh", docker_path, &docker, table));
    CHECK(by_id.to_json()["container_id"] == nlohmann::json::array({id}));
    auto any = sub(R"({"type":"subscribe","container_id":[]})"); // as for uid, comm, ...: any
    CHECK(any.matches(e, "/bin/sh", "/", nullptr, table));
}

TEST_CASE("a container filter that can match nothing is refused with the reason", "[subscription]") {
    CHECK(error_of(R"({"type":"subscribe","container_id":"abc"})").find("64 lowercase hex") !=
          std::string::npos);
    CHECK(error_of(R"({"type":"subscribe","container_id":")" + std::string(64, 'A') + "\"}")
              .find("64 lowercase hex") != std::string::npos);
    std::vector<std::string> many(65, std::string(64, 'a'));
    CHECK(error_of(R"({"type":"subscribe","container_id":)" + nlohmann::json(many).dump() + "}")
              .find("at most 64") != std::string::npos);
    CHECK(error_of(R"({"type":"subscribe","container_id":5})").find("string") != std::string::npos);
    CHECK(error_of(R"({"type":"subscribe","container_runtime":"Docker!"})").find("runtime") !=
          std::string::npos);
    CHECK(error_of(R"({"type":"subscribe","container_name":""})").find("container name") !=
          std::string::npos);
}
