// One connection to execmond's socket: connect, read and check the hello
// line, then send requests and read lines. Every failure a person can meet
// (no daemon, not allowed, another protocol) becomes a sentence saying what
// to do about it.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace execmon {

inline constexpr const char* default_socket = "/run/execmond/events.sock";
inline constexpr int protocol_version = 1;

// A message for a person; main prints it after "execmon: ".
struct ClientError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// --socket, else $EXECMOND_SOCKET (if set and not empty), else the default.
std::string socket_path(const std::optional<std::string>& flag);

// The sentences, exposed for the tests.
std::string not_running_message(const std::string& path);
std::string permission_message(const std::string& path);

// Owns a file descriptor.
class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd();
    Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    Fd& operator=(Fd&& o) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

class Connection {
public:
    // Connects and reads the hello line. Throws ClientError.
    explicit Connection(std::string path);

    const std::string& path() const { return path_; }
    const nlohmann::json& hello() const { return hello_; }
    const std::string& hello_line() const { return hello_line_; }
    int protocol() const { return hello_.value("protocol", 0); }

    // Sends one request line ('\n' added).
    void send(std::string_view request);

    enum class Read { line, timeout, closed };
    // The next line without its '\n'. timeout_ms: -1 waits for ever, 0 only
    // takes what has already arrived.
    Read next_line(std::string& line, int timeout_ms);

private:
    bool take_buffered(std::string& line);

    std::string path_;
    Fd fd_;
    std::string buf_;
    size_t start_ = 0; // first unread byte of buf_
    nlohmann::json hello_;
    std::string hello_line_;
};

} // namespace execmon
