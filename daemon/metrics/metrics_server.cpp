#include "metrics_server.hpp"

#include "http_request.hpp"
#include "log.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <stdexcept>

namespace execmond {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string http_response(int status, const std::string& metrics_body) {
    const char* reason = "Bad Request";
    std::string body;
    std::string extra;
    switch (status) {
    case 200:
        reason = "OK";
        break;
    case 404:
        reason = "Not Found";
        body = "not found: only /metrics is served here\n";
        break;
    case 405:
        reason = "Method Not Allowed";
        body = "method not allowed: only GET\n";
        extra = "Allow: GET\r\n";
        break;
    case 408:
        reason = "Request Timeout";
        body = "request timeout\n";
        break;
    default:
        status = 400;
        body = "bad request\n";
        break;
    }
    const std::string& payload = status == 200 ? metrics_body : body;
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
    out += status == 200 ? "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                         : "Content-Type: text/plain; charset=utf-8\r\n";
    out += "Content-Length: " + std::to_string(payload.size()) + "\r\n" + extra + "Connection: close\r\n\r\n";
    out += payload;
    return out;
}

// One connection: read one request head, answer, close. The timer bounds the
// whole life of the connection.
struct MetricsServer::Connection : std::enable_shared_from_this<Connection> {
    Connection(tcp::socket s, Render r, std::shared_ptr<size_t> l)
        : socket(std::move(s)), timer(socket.get_executor()), render(std::move(r)), live(std::move(l)) {
        ++*live;
    }
    ~Connection() { --*live; }

    void start(std::chrono::milliseconds timeout) {
        timer.expires_after(timeout);
        timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec)
                return;
            if (!self->answered)
                self->answer(408);
            else
                self->close(); // the peer does not read the answer, or does not close
        });
        read();
    }

    void read() {
        socket.async_read_some(asio::buffer(buf),
                               [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                                   if (ec)
                                       return self->close();
                                   if (auto status = self->reader.feed(std::string_view(self->buf.data(), n)))
                                       return self->answer(*status);
                                   self->read();
                               });
    }

    void answer(int status) {
        answered = true;
        if (status != 200)
            log::debug("metrics: answered " + std::to_string(status));
        response = http_response(status, status == 200 ? render() : std::string());
        asio::async_write(socket, asio::buffer(response),
                          [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                              if (ec)
                                  return self->close();
                              // Closing with unread input would reset the connection and
                              // could destroy the answer before the peer reads it: half-close,
                              // then read until the peer closes (or the timer ends it).
                              boost::system::error_code ignored;
                              self->socket.shutdown(tcp::socket::shutdown_send, ignored);
                              self->discard();
                          });
    }

    void discard() {
        socket.async_read_some(asio::buffer(buf),
                               [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                                   if (ec)
                                       return self->close();
                                   self->discard();
                               });
    }

    void close() {
        boost::system::error_code ignored;
        timer.cancel();
        socket.close(ignored);
    }

    tcp::socket socket;
    asio::steady_timer timer;
    Render render;
    std::shared_ptr<size_t> live;
    HttpRequestReader reader;
    std::array<char, 2048> buf{};
    std::string response;
    bool answered = false;
};

MetricsServer::MetricsServer(asio::io_context& io, const tcp::endpoint& endpoint, Render render,
                             MetricsLimits limits)
    : io_(io), acceptor_(io), render_(std::move(render)), limits_(limits),
      live_(std::make_shared<size_t>(0)) {
    std::string where = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
    if (endpoint.address().is_v6())
        where = "[" + endpoint.address().to_string() + "]:" + std::to_string(endpoint.port());
    boost::system::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec)
        acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec)
        acceptor_.bind(endpoint, ec);
    if (!ec)
        acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error("metrics-listen " + where + ": " + ec.message());
    auto bound = acceptor_.local_endpoint();
    log::info("serving metrics on http://" + where.substr(0, where.rfind(':')) + ":" +
                  std::to_string(bound.port()) + "/metrics",
              {{"EXECMOND_METRICS_LISTEN", where}});
}

MetricsServer::~MetricsServer() {
    stop();
}

void MetricsServer::start() {
    accept_next();
}

void MetricsServer::stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
}

void MetricsServer::accept_next() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open())
            return;
        if (ec) {
            log::warning("metrics: accept: " + ec.message());
            auto retry = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
            retry->async_wait([this, retry](const boost::system::error_code& e) {
                if (!e)
                    accept_next();
            });
            return;
        }
        if (*live_ >= limits_.max_connections) {
            boost::system::error_code ignored;
            socket.close(ignored); // at the limit: the peer sees the connection closed, and retries
        } else {
            std::make_shared<Connection>(std::move(socket), render_, live_)->start(limits_.timeout);
        }
        accept_next();
    });
}

} // namespace execmond
