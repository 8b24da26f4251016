#include "client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/ioctl.h>
#include <thread>

using namespace execmond;
namespace asio = boost::asio;

namespace {
Line line(int n) {
    return share("{\"n\":" + std::to_string(n) + "}\n");
}
} // namespace

TEST_CASE("a client that does not read loses its oldest lines, and is told where", "[client]") {
    asio::io_context io;
    asio::local::stream_protocol::socket ours(io), theirs(io);
    asio::local::connect_pair(ours, theirs);
    // Small kernel buffers so the queue, not the socket, holds the backlog.
    theirs.set_option(asio::socket_base::receive_buffer_size(4096));
    ours.set_option(asio::socket_base::send_buffer_size(4096));
    std::vector<std::string> requests;
    auto client = std::make_shared<Client>(
        std::move(ours), 1, PeerCredentials{}, 65536,
        [&](Client&, std::string_view l) { requests.emplace_back(l); }, [](Client&, std::string_view) {});
    client->start();
    const int total = 50000;
    for (int i = 0; i < total; ++i)
        client->send(line(i));
    CHECK(client->lines_dropped() > 0);
    CHECK(client->queued_bytes() <= 65536);

    // Now read everything: numbers must increase, with one lost line per gap
    // whose count matches exactly what is missing.
    asio::streambuf buf;
    int expected = 0;
    uint64_t lost_reported = 0;
    int received = 0;
    while (expected < total) {
        io.poll();
        asio::read_until(theirs, buf, '\n');
        std::istream in(&buf);
        std::string text;
        std::getline(in, text);
        auto j = nlohmann::json::parse(text);
        if (j["type"] == "lost") {
            CHECK(j["reason"] == "client_slow");
            lost_reported += j["count"].get<uint64_t>();
            expected += j["count"].get<int>();
            continue;
        }
        REQUIRE(j["n"] == expected);
        ++expected;
        ++received;
    }
    CHECK(lost_reported == client->lines_dropped());
    CHECK(received + static_cast<int>(lost_reported) == total);
}

TEST_CASE("request lines: split, CRLF, over-long and binary input", "[client]") {
    asio::io_context io;
    asio::local::stream_protocol::socket ours(io), theirs(io);
    asio::local::connect_pair(ours, theirs);
    std::vector<std::string> got;
    auto client = std::make_shared<Client>(
        std::move(ours), 1, PeerCredentials{}, 1 << 20,
        [&](Client&, std::string_view l) { got.emplace_back(l); }, [](Client&, std::string_view) {});
    client->start();
    std::string input = "{\"a\":1}\r\n{\"b\":";
    asio::write(theirs, asio::buffer(input));
    io.run_for(std::chrono::milliseconds(20));
    asio::write(theirs, asio::buffer(std::string("2}\n\n")));
    std::string big(Client::max_request_bytes + 10, 'x');
    big += "\n{\"c\":3}\n";
    asio::write(theirs, asio::buffer(big));
    asio::write(theirs, asio::buffer(std::string("\x00\xff\xfe\n", 4)));
    io.run_for(std::chrono::milliseconds(50));
    REQUIRE(got.size() == 5);
    CHECK(got[0] == "{\"a\":1}");
    CHECK(got[1] == "{\"b\":2}");
    CHECK(got[2].empty()); // the over-long line, reported once
    CHECK(got[3] == "{\"c\":3}");
    CHECK(got[4] == std::string("\x00\xff\xfe", 3));
}

TEST_CASE("stuck is timed from the blocked write, not from before an idle spell", "[client]") {
    using namespace std::chrono_literals;
    asio::io_context io;
    asio::local::stream_protocol::socket ours(io), theirs(io);
    asio::local::connect_pair(ours, theirs);
    theirs.set_option(asio::socket_base::receive_buffer_size(4096));
    ours.set_option(asio::socket_base::send_buffer_size(4096));
    auto client = std::make_shared<Client>(
        std::move(ours), 1, PeerCredentials{}, 1 << 20, [](Client&, std::string_view) {},
        [](Client&, std::string_view) {});
    client->start();
    client->send(line(0));
    io.poll();
    CHECK(client->idle());
    std::this_thread::sleep_for(1100ms); // idle longer than the timeout below
    // One line bigger than the socket holds: the first write after the idle
    // spell blocks at once.
    client->send(share(std::string(256 * 1024, 'x') + "\n"));
    io.poll();
    REQUIRE_FALSE(client->idle());
    auto now = std::chrono::steady_clock::now();
    CHECK_FALSE(client->stuck(now, 1s));
    CHECK(client->stuck(now + 2s, 1s));
}

TEST_CASE("lines sent whole pass the queue's bound and arrive intact", "[client]") {
    asio::io_context io;
    asio::local::stream_protocol::socket ours(io), theirs(io);
    asio::local::connect_pair(ours, theirs);
    auto client = std::make_shared<Client>(
        std::move(ours), 1, PeerCredentials{}, 65536, [](Client&, std::string_view) {},
        [](Client&, std::string_view) {});
    client->start();
    std::string whole;
    for (int i = 0; i < 20000; ++i) // ~200 KB: three times the bound
        whole += line(i)->view();
    client->send_whole(share(whole));
    REQUIRE(client->lines_dropped() == 0);
    std::string got;
    std::array<char, 65536> buf;
    while (got.size() < whole.size()) {
        io.poll();
        boost::system::error_code ec;
        size_t n = theirs.read_some(asio::buffer(buf), ec);
        REQUIRE_FALSE(ec);
        got.append(buf.data(), n);
    }
    CHECK(got == whole);
}

TEST_CASE("one turn of the loop writes all the socket holds, not one 64 KiB step", "[client]") {
    // In a storm a turn's ring drain queues megabytes; if the next turn wrote
    // only 64 KiB, a client reading at full speed would lose lines anyway.
    asio::io_context io;
    asio::local::stream_protocol::socket ours(io), theirs(io);
    asio::local::connect_pair(ours, theirs);
    theirs.set_option(asio::socket_base::receive_buffer_size(1 << 20));
    ours.set_option(asio::socket_base::send_buffer_size(1 << 20));
    auto client = std::make_shared<Client>(
        std::move(ours), 1, PeerCredentials{}, 4 << 20, [](Client&, std::string_view) {},
        [](Client&, std::string_view) {});
    client->start();
    for (int i = 0; i < 100000; ++i) // ~1.2 MB
        client->send(line(i));
    REQUIRE(io.poll_one() == 1); // the write posted after the lines were queued
    int unread = 0;
    REQUIRE(ioctl(theirs.native_handle(), FIONREAD, &unread) == 0);
    INFO(unread << " bytes written in one turn");
    CHECK(unread > 256 * 1024);
    CHECK(client->lines_dropped() == 0);
}
