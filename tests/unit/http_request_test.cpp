#include "http_request.hpp"

#include <catch2/catch_test_macros.hpp>
#include <string>

using namespace execmond;

namespace {
std::optional<int> whole(const std::string& head) {
    HttpRequestReader r;
    return r.feed(head);
}
} // namespace

TEST_CASE("GET /metrics is the one request served", "[http]") {
    CHECK(whole("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9669\r\n\r\n") == 200);
    // What Prometheus 2.42 sends.
    CHECK(
        whole("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9669\r\nUser-Agent: Prometheus/2.42.0\r\nAccept: "
              "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
              "text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\nAccept-Encoding: gzip\r\nX-Prometheus-Scrape-"
              "Timeout-Seconds: 10\r\n\r\n") == 200);
    CHECK(whole("GET /metrics HTTP/1.0\r\n\r\n") == 200);
    CHECK(whole("GET /metrics HTTP/1.1\r\nhost:x\r\nContent-Length: 0\r\n\r\n") == 200);
}

TEST_CASE("other targets are 404, other methods 405", "[http]") {
    for (const char* target : {"/", "/metrics/", "/metrics?x=1", "/Metrics", "//metrics", "/metrics#", "*",
                               "http://127.0.0.1/metrics", "/debug/pprof"}) {
        INFO(target);
        CHECK(whole(std::string("GET ") + target + " HTTP/1.1\r\nHost: h\r\n\r\n") == 404);
    }
    for (const char* method : {"POST", "HEAD", "PUT", "DELETE", "OPTIONS", "get", "CONNECT", "PRI"}) {
        INFO(method);
        CHECK(whole(std::string(method) + " /metrics HTTP/1.1\r\nHost: h\r\n\r\n") == 405);
    }
    CHECK(whole("POST /metrics HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello") == 405);
}

TEST_CASE("malformed heads are 400", "[http]") {
    for (const char* head : {
             "GET /metrics\r\n\r\n",                                  // HTTP/0.9
             "GET /metrics HTTP/2.0\r\nHost: h\r\n\r\n",              // not 1.x
             "GET /metrics HTTP/1.1\r\n\r\n",                         // 1.1 without Host
             "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",   // two Hosts
             "GET  /metrics HTTP/1.1\r\nHost: h\r\n\r\n",             // two spaces
             "GET /metrics HTTP/1.1 \r\nHost: h\r\n\r\n",             // trailing space
             "GET /met rics HTTP/1.1\r\nHost: h\r\n\r\n",             // three parts
             "GET /metrics HTTP/1.1\r\nHost h\r\n\r\n",               // no colon
             "GET /metrics HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",   // obs-fold
             "GET /metrics HTTP/1.1\r\nHo st: h\r\n\r\n",             // bad name
             "GET /metrics HTTP/1.1\r\nHost: h\nX: y\r\n\r\n",        // bare LF
             "GET /metrics HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n\r\n", // control byte
             "GET /metrics HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
             "GET /metrics HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
             "\r\nGET /metrics HTTP/1.1\r\nHost: h\r\n\r\n", // leading empty line
         }) {
        INFO(head);
        CHECK(whole(head) == 400);
    }
}

TEST_CASE("the head may arrive in pieces; nothing is decided before its end", "[http]") {
    std::string head = "GET /metrics HTTP/1.1\r\nHost: h\r\n\r\n";
    HttpRequestReader r;
    for (size_t i = 0; i + 1 < head.size(); ++i)
        REQUIRE_FALSE(r.feed(head.substr(i, 1)));
    CHECK(r.feed(head.substr(head.size() - 1)) == 200);
}

TEST_CASE("a head over the limit is refused as soon as it passes it", "[http]") {
    HttpRequestReader r;
    std::string start = "GET /metrics HTTP/1.1\r\nHost: h\r\nX-Big: ";
    REQUIRE_FALSE(r.feed(start));
    std::string chunk(1000, 'a');
    std::optional<int> verdict;
    size_t fed = start.size();
    while (!verdict) {
        verdict = r.feed(chunk);
        fed += chunk.size();
        REQUIRE(fed < 3 * HttpRequestReader::max_head_bytes);
    }
    CHECK(*verdict == 400);
    CHECK(fed <= HttpRequestReader::max_head_bytes + chunk.size());
    // Exactly at the limit is still fine.
    std::string exact = "GET /metrics HTTP/1.1\r\nHost: h\r\nX: ";
    exact += std::string(HttpRequestReader::max_head_bytes - exact.size(), 'b');
    CHECK(whole(exact + "\r\n\r\n") == 200);
    CHECK(whole(exact + "b\r\n\r\n") == 400);
}

TEST_CASE("binary input is refused at once, not at the timeout", "[http]") {
    HttpRequestReader r;
    // The start of a TLS ClientHello.
    CHECK(r.feed(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)) == 400);
    HttpRequestReader nul;
    CHECK(nul.feed(std::string("GET /metrics\0", 13)) == 400);
}
