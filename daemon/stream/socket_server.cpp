#include "socket_server.hpp"

#include "log.hpp"
#include "peer_access.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <grp.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>
#include <utility>

namespace execmond {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace {

std::runtime_error sys_error(const std::string& what) {
    return std::runtime_error(what + ": " + std::strerror(errno));
}

// Is something already serving on this path?
bool someone_listening(const std::string& path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    bool up = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    return up;
}

} // namespace

SocketServer::SocketServer(asio::io_context& io, const SocketConfig& config, Fanout& fanout,
                           HelloFactory hello, RequestHandler on_request)
    : io_(io), fanout_(fanout), acceptor_(io), path_(config.path),
      access_(config.allow_uids, config.allow_gids), queue_limit_(config.client_queue_bytes),
      hello_(std::move(hello)), on_request_(std::move(on_request)) {
    int n = sd_listen_fds(1);
    if (n > 1)
        throw std::runtime_error("socket activation passed " + std::to_string(n) +
                                 " sockets; execmond takes exactly one (its events socket)");
    if (n == 1) {
        int fd = SD_LISTEN_FDS_START;
        if (sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0) <= 0)
            throw std::runtime_error(
                "socket activation passed fd 3, which is not a listening AF_UNIX stream socket");
        acceptor_.assign(stream(), fd);
        activated_ = true;
        path_ = acceptor_.local_endpoint().path();
        log::info("serving on " + path_ + " (socket activation)", {{"EXECMOND_SOCKET", path_}});
        return;
    }
    create_socket(config);
}

void SocketServer::create_socket(const SocketConfig& config) {
    namespace fs = std::filesystem;
    fs::path p(path_);
    std::error_code ec;
    if (p.has_parent_path()) {
        fs::create_directories(p.parent_path(), ec);
        if (ec)
            throw std::runtime_error("create socket directory " + p.parent_path().string() + ": " +
                                     ec.message());
    }
    struct stat st {};
    if (lstat(path_.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            throw std::runtime_error("socket path " + path_ +
                                     " exists and is not a socket; not replacing it");
        if (someone_listening(path_))
            throw std::runtime_error("socket " + path_ + " is in use (another execmond running?)");
        if (unlink(path_.c_str()) != 0)
            throw sys_error("remove stale socket " + path_);
        log::info("replaced stale socket " + path_);
    }
    boost::system::error_code bec;
    acceptor_.open(stream(), bec);
    if (!bec)
        acceptor_.bind(stream::endpoint(path_), bec);
    if (bec)
        throw std::runtime_error("bind socket " + path_ + ": " + bec.message());
    owns_path_ = true;
    acceptor_.listen(asio::socket_base::max_listen_connections, bec);
    if (bec)
        throw std::runtime_error("listen on " + path_ + ": " + bec.message());
    if (!config.group.empty()) {
        if (const group* g = getgrnam(config.group.c_str())) {
            if (chown(path_.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0)
                throw sys_error("chown socket " + path_ + " to group " + config.group);
        } else {
            log::warning("group " + config.group + " does not exist; socket " + path_ +
                         " keeps its default group");
        }
    }
    if (chmod(path_.c_str(), config.mode) != 0)
        throw sys_error("chmod socket " + path_);
    log::info("serving on " + path_, {{"EXECMOND_SOCKET", path_}});
}

SocketServer::~SocketServer() {
    for (auto& c : clients_)
        fanout_.remove(*c);
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    if (owns_path_)
        unlink(path_.c_str());
}

void SocketServer::start() {
    accept_next();
}

void SocketServer::accept_next() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, stream::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open())
            return;
        if (ec) {
            // EMFILE and friends: log, keep serving the clients we have.
            log::warning("accept on " + path_ + ": " + ec.message());
            auto retry = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
            retry->async_wait([this, retry](const boost::system::error_code& e) {
                if (!e)
                    accept_next();
            });
            return;
        }
        auto read = read_peer(socket.native_handle());
        if (auto* why = std::get_if<std::string>(&read)) {
            // Fail closed: without credentials the peer could be anyone.
            log::warning("refused a client whose credentials cannot be read (" + *why + ")");
            boost::system::error_code ignored;
            socket.close(ignored);
            accept_next();
            return;
        }
        PeerCredentials peer = std::move(std::get<PeerCredentials>(read));
        if (!peer.groups_known && access_.checks_groups())
            log::warning("SO_PEERGROUPS failed for pid " + std::to_string(peer.pid) +
                         ": --allow-group checks only its primary gid");
        std::string who = "pid " + std::to_string(peer.pid) + " uid " + std::to_string(peer.uid);
        if (!access_.allows(peer)) {
            log::notice("refused client " + who + " (not in --allow-uid/--allow-group)",
                        {{"EXECMOND_CLIENT_PID", std::to_string(peer.pid)},
                         {"EXECMOND_CLIENT_UID", std::to_string(peer.uid)}});
            boost::system::error_code ignored;
            asio::write(socket, asio::buffer(refusal_line()), ignored);
            socket.close(ignored);
            accept_next();
            return;
        }
        uint64_t id = next_id_++;
        auto client = std::make_shared<Client>(
            std::move(socket), id, peer, queue_limit_,
            [this](Client& c, std::string_view line) { on_request_(c, line); },
            [this](Client& c, std::string_view reason) {
                log::info("client " + std::to_string(c.id()) + " (pid " + std::to_string(c.peer().pid) +
                          ") closed: " + std::string(reason) + "; " + std::to_string(c.lines_sent()) +
                          " lines sent, " + std::to_string(c.lines_dropped()) + " dropped");
                dropped_by_closed_ += c.lines_dropped();
                fanout_.remove(c);
                auto it = std::find_if(clients_.begin(), clients_.end(),
                                       [&](const std::shared_ptr<Client>& p) { return p.get() == &c; });
                if (it != clients_.end())
                    clients_.erase(it);
                if (clients_.empty() && on_all_closed_)
                    asio::post(io_, std::exchange(on_all_closed_, {}));
            });
        log::info("client " + std::to_string(id) + " connected: " + who,
                  {{"EXECMOND_CLIENT_PID", std::to_string(peer.pid)},
                   {"EXECMOND_CLIENT_UID", std::to_string(peer.uid)}});
        clients_.push_back(client);
        fanout_.add(*client);
        client->send(hello_());
        if (on_connect_)
            on_connect_(*client);
        client->start();
        accept_next();
    });
}

void SocketServer::stop_accepting() {
    boost::system::error_code ignored;
    acceptor_.cancel(ignored);
    acceptor_.close(ignored);
}

void SocketServer::flush_and_close(std::function<void()> done) {
    on_all_closed_ = std::move(done);
    auto copy = clients_; // closing edits the list
    for (auto& c : copy)
        c->close_after_flush();
    if (clients_.empty())
        asio::post(io_, std::exchange(on_all_closed_, {}));
}

void SocketServer::reap_stuck(std::chrono::seconds timeout) {
    auto now = std::chrono::steady_clock::now();
    auto copy = clients_;
    for (auto& c : copy)
        if (c->stuck(now, timeout)) {
            log::warning("client " + std::to_string(c->id()) + " (pid " + std::to_string(c->peer().pid) +
                         ") made no progress for " + std::to_string(timeout.count()) + " s; disconnecting");
            c->close("stuck");
        }
}

uint64_t SocketServer::lines_dropped_total() const {
    uint64_t total = dropped_by_closed_;
    for (const auto& c : clients_)
        total += c->lines_dropped();
    return total;
}

} // namespace execmond
