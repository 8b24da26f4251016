// The Unix socket clients read the stream from: created (or taken from systemd
// socket activation), access-checked per connection (peer_access.hpp), and
// fanned out to every client whose subscription matches.
#pragma once

#include "client.hpp"
#include "fanout.hpp"
#include "peer_access.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace execmond {

struct SocketConfig {
    std::string path = "/run/execmond/events.sock"; // unless systemd passes a socket
    mode_t mode = 0660;
    std::string group = "execmond";
    std::vector<uid_t> allow_uids; // besides root
    std::vector<gid_t> allow_gids;
    size_t client_queue_bytes = 4u << 20;
};

class SocketServer {
public:
    // Builds the line a new client gets first.
    using HelloFactory = std::function<Line()>;
    using RequestHandler = std::function<void(Client&, std::string_view line)>;

    // Throws std::runtime_error with the path and the reason.
    SocketServer(boost::asio::io_context& io, const SocketConfig& config, Fanout& fanout, HelloFactory hello,
                 RequestHandler on_request);
    ~SocketServer();
    SocketServer(const SocketServer&) = delete;
    SocketServer& operator=(const SocketServer&) = delete;

    void start();
    // Runs for each new client right after its hello is queued.
    void on_connect(std::function<void(Client&)> fn) { on_connect_ = std::move(fn); }
    void stop_accepting();
    // Closes each client once its queue is written; `done` runs (posted) when
    // the last one has closed.
    void flush_and_close(std::function<void()> done);

    template <typename Fn> void for_each_client(Fn&& fn) const {
        for (const auto& c : clients_)
            if (!c->closed())
                fn(*c);
    }
    // Disconnects clients that made no write progress for the timeout.
    void reap_stuck(std::chrono::seconds timeout);

    size_t client_count() const { return clients_.size(); }
    uint64_t lines_dropped_total() const;
    bool socket_activated() const { return activated_; }
    const std::string& path() const { return path_; }

private:
    void accept_next();
    void create_socket(const SocketConfig& config);

    boost::asio::io_context& io_;
    Fanout& fanout_;
    boost::asio::local::stream_protocol::acceptor acceptor_;
    std::string path_;
    bool activated_ = false;
    bool owns_path_ = false;
    AccessPolicy access_;
    size_t queue_limit_;
    HelloFactory hello_;
    RequestHandler on_request_;
    std::function<void(Client&)> on_connect_;
    std::vector<std::shared_ptr<Client>> clients_;
    uint64_t next_id_ = 1;
    uint64_t dropped_by_closed_ = 0;
    std::function<void()> on_all_closed_;
};

} // namespace execmond
