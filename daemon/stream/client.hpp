// One connected reader of the stream: a bounded queue of lines, written as
// far as the socket takes them, then after it polls writable again. A client that does not keep up loses
// its oldest lines (counted, and reported to it in a `lost` line where the gap
// is) and never slows the ring drain or any other client.
#pragma once

#include "fanout.hpp"
#include "stream_log.hpp"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace execmond {

// What the kernel recorded of the peer when it connected (peer_access.hpp).
struct PeerCredentials {
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups; // supplementary groups (SO_PEERGROUPS)
    bool groups_known = false;
};

class Client : public Subscriber, public std::enable_shared_from_this<Client> {
public:
    using Socket = boost::asio::local::stream_protocol::socket;
    // Called with each complete line the client sends (without the '\n').
    using LineHandler = std::function<void(Client&, std::string_view)>;
    using CloseHandler = std::function<void(Client&, std::string_view reason)>;

    // The longest request line accepted.
    static constexpr size_t max_request_bytes = 64 * 1024;

    Client(Socket socket, uint64_t id, PeerCredentials peer, size_t queue_limit, LineHandler on_line,
           CloseHandler on_close);

    void start();
    // Queues a line; drops the oldest unsent lines if the queue is full.
    void send(const Line& line) override;
    void send_whole(const Line& lines) override;
    // A line of the stream: queued like send(), unless catching up.
    void deliver(const Line& line, uint64_t seq) override;
    // Continues the stream after `after_seq` from `log`: its kept lines that
    // pass this client's filter, queued as the queue drains (never more than
    // half of it at a time), then live. Lines no longer kept are reported in
    // one replay_expired lost line.
    void resume(uint64_t after_seq, const StreamLog& log, const ProcessTable& table);
    bool replaying() const override { return replay_log_ != nullptr; }
    // Writes what is queued, then closes (used at shutdown).
    void close_after_flush();
    void close(std::string_view reason);

    bool stuck(std::chrono::steady_clock::time_point now, std::chrono::seconds timeout) const;
    bool idle() const { return queue_.empty(); }
    bool closed() const { return closed_; }

    uint64_t id() const { return id_; }
    const PeerCredentials& peer() const { return peer_; }
    Subscription& subscription() { return subscription_; }
    const Subscription& subscription() const override { return subscription_; }
    uint64_t lines_dropped() const { return dropped_total_; }
    uint64_t lines_sent() const { return sent_total_; }
    size_t queued_bytes() const { return queued_bytes_; }
    std::chrono::steady_clock::time_point next_stats{};

private:
    void read_more();
    void handle_input(size_t n);
    void write_more();
    void post_write();
    // Removes what write(2) took: whole lines, then part of the head.
    void consume_written(size_t n);
    // bounded: drop the oldest to fit; a snapshot's lines are queued whole.
    void enqueue(const Line& line, uint64_t seq, bool bounded);
    void refill();

    Socket socket_;
    uint64_t id_;
    PeerCredentials peer_;
    size_t queue_limit_;
    LineHandler on_line_;
    CloseHandler on_close_;
    Subscription subscription_;

    struct Queued {
        Line line;
        uint64_t seq = 0; // 0: not a line of the stream (answers, stats, lost lines of this client)
    };
    // Lines per write(2): Asio gathers at most 64 buffers.
    static constexpr size_t max_gather = 64;
    std::deque<Queued> queue_;
    size_t head_written_ = 0; // bytes of queue_.front() already written
    size_t in_flight_ = 0;    // 1 while the head is partly written: it cannot be dropped
    size_t queued_bytes_ = 0;
    uint64_t pending_lost_ = 0;
    uint64_t pending_lost_first_seq_ = 0; // the stream's lines among them (0: none)
    uint64_t pending_lost_last_seq_ = 0;
    const StreamLog* replay_log_ = nullptr; // set while catching up
    const ProcessTable* replay_table_ = nullptr;
    uint64_t replay_next_ = 0; // the next seq to look at
    uint64_t dropped_total_ = 0;
    uint64_t sent_total_ = 0;
    bool write_posted_ = false;     // a write_more() is queued on the executor
    bool waiting_writable_ = false; // the socket was full: an async_wait is pending
    bool closed_ = false;
    bool closing_ = false;
    std::chrono::steady_clock::time_point last_progress_; // last bytes written, or the wait began

    std::array<char, 4096> read_buf_{};
    std::string partial_;
    bool discarding_ = false; // inside an over-long line
};

} // namespace execmond
