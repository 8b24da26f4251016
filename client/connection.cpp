#include "connection.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace execmon {

namespace {

constexpr size_t max_line = 64u << 20; // far above any line the daemon writes
constexpr int hello_timeout_ms = 10000;

std::string user_name() {
    if (const passwd* pw = getpwuid(getuid()))
        return pw->pw_name;
    return std::to_string(getuid());
}

} // namespace

std::string socket_path(const std::optional<std::string>& flag) {
    if (flag)
        return *flag;
    const char* env = std::getenv("EXECMOND_SOCKET");
    if (env && *env)
        return env;
    return default_socket;
}

std::string not_running_message(const std::string& path) {
    return "execmond is not running (no socket at " + path + "); start it with: systemctl start execmond";
}

std::string permission_message(const std::string& path) {
    return "permission denied on " + path + "; add yourself to the execmond group: usermod -aG execmond " +
           user_name() + " (then log in again), or run execmon as root";
}

Fd::~Fd() {
    if (fd_ >= 0)
        ::close(fd_);
}

Fd& Fd::operator=(Fd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = o.fd_;
        o.fd_ = -1;
    }
    return *this;
}

Connection::Connection(std::string path) : path_(std::move(path)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.empty() || path_.size() >= sizeof(addr.sun_path))
        throw ClientError("socket path '" + path_ + "' is empty or longer than " +
                          std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    fd_ = Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd_.get() < 0)
        throw ClientError(std::string("socket: ") + std::strerror(errno));
    if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
        int err = errno;
        switch (err) {
        case ENOENT:
        case ECONNREFUSED: // a socket file left behind, nobody listening
            throw ClientError(not_running_message(path_));
        case EACCES:
        case EPERM:
            throw ClientError(permission_message(path_));
        default:
            throw ClientError("connect " + path_ + ": " + std::strerror(err));
        }
    }

    std::string line;
    switch (next_line(line, hello_timeout_ms)) {
    case Read::timeout:
        throw ClientError("execmond at " + path_ + " sent no hello line within " +
                          std::to_string(hello_timeout_ms / 1000) + " s");
    case Read::closed:
        throw ClientError("execmond at " + path_ + " closed the connection before its hello line");
    case Read::line:
        break;
    }
    hello_ = nlohmann::json::parse(line, nullptr, false);
    if (!hello_.is_object())
        throw ClientError(path_ + " does not speak execmond's protocol (first line is not a JSON object)");
    std::string type = hello_.value("type", "");
    if (type == "error") {
        // --allow-uid / --allow-group refused us: one error line, then the daemon hangs up.
        throw ClientError(
            "execmond refused this connection (" + hello_.value("message", "") +
            "); its --allow-uid/--allow-group settings must name your user or a group of yours");
    }
    if (type != "hello")
        throw ClientError(path_ + " does not speak execmond's protocol (first line is a '" + type +
                          "' line, not hello)");
    const auto& p = hello_["protocol"];
    if (!p.is_number_integer() || p.get<int>() != protocol_version)
        throw ClientError("execmond at " + path_ + " speaks protocol " + p.dump() +
                          "; this execmon speaks protocol " + std::to_string(protocol_version) +
                          ": install matching versions of execmon and execmond");
    hello_line_ = std::move(line);
}

void Connection::send(std::string_view request) {
    std::string l(request);
    l += '\n';
    size_t done = 0;
    while (done < l.size()) {
        ssize_t n = ::send(fd_.get(), l.data() + done, l.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw ClientError("send to execmond at " + path_ + ": " + std::strerror(errno));
        done += static_cast<size_t>(n);
    }
}

bool Connection::take_buffered(std::string& line) {
    auto nl = buf_.find('\n', start_);
    if (nl == std::string::npos) {
        if (buf_.size() - start_ > max_line)
            throw ClientError("execmond sent a line longer than " + std::to_string(max_line) + " bytes");
        return false;
    }
    line.assign(buf_, start_, nl - start_);
    start_ = nl + 1;
    if (start_ == buf_.size()) {
        buf_.clear();
        start_ = 0;
    }
    return true;
}

Connection::Read Connection::next_line(std::string& line, int timeout_ms) {
    while (true) {
        if (take_buffered(line))
            return Read::line;
        pollfd p{fd_.get(), POLLIN, 0};
        int r = ::poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue; // a signal (SIGWINCH); the caller sees a timeout only when one happened
        if (r < 0)
            throw ClientError(std::string("poll: ") + std::strerror(errno));
        if (r == 0)
            return Read::timeout;
        if (start_ > 0) {
            buf_.erase(0, start_);
            start_ = 0;
        }
        char tmp[65536];
        ssize_t n = ::read(fd_.get(), tmp, sizeof(tmp));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != ECONNRESET)
            throw ClientError("read from execmond at " + path_ + ": " + std::strerror(errno));
        if (n <= 0)
            return Read::closed;
        buf_.append(tmp, static_cast<size_t>(n));
    }
}

} // namespace execmon
