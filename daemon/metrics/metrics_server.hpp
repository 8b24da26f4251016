// The Prometheus endpoint (--metrics-listen ADDR:PORT): a TCP listener on the
// daemon's loop that answers GET /metrics with the exposition text and every
// other request with an error status (http_request.hpp), one request per
// connection. Bounded everywhere: a request head of at most 8 KiB, 5 s from
// accept to the end of the answer, at most 16 connections at once; a slow or
// hostile peer costs one socket for a few seconds and never delays the loop.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace execmond {

struct MetricsLimits {
    std::chrono::milliseconds timeout{5000}; // accept to answer written
    size_t max_connections = 16;
};

class MetricsServer {
public:
    using Render = std::function<std::string()>;

    // Binds and listens now; throws std::runtime_error naming the address.
    MetricsServer(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint, Render render,
                  MetricsLimits limits = {});
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    void start();
    void stop();
    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

    struct Connection;

private:
    void accept_next();

    boost::asio::io_context& io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    Render render_;
    MetricsLimits limits_;
    std::shared_ptr<size_t> live_; // connections open now; shared with them
};

// The answer to a verdict of HttpRequestReader (the body only for 200).
std::string http_response(int status, const std::string& metrics_body);

} // namespace execmond
