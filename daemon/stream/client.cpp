#include "client.hpp"

#include "boot_clock.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>
#include <vector>

namespace execmond {

namespace asio = boost::asio;

Client::Client(Socket socket, uint64_t id, PeerCredentials peer, size_t queue_limit, LineHandler on_line,
               CloseHandler on_close)
    : socket_(std::move(socket)), id_(id), peer_(peer), queue_limit_(queue_limit),
      on_line_(std::move(on_line)), on_close_(std::move(on_close)),
      last_progress_(std::chrono::steady_clock::now()) {}

void Client::start() {
    // write_more() writes what the socket takes without blocking the loop.
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    if (ec) {
        close("set non-blocking: " + ec.message());
        return;
    }
    read_more();
}

void Client::send(const Line& line) {
    if (closed_ || closing_)
        return;
    enqueue(line, 0, true);
    post_write();
}

void Client::send_whole(const Line& lines) {
    if (closed_ || closing_)
        return;
    enqueue(lines, 0, false);
    post_write();
}

void Client::deliver(const Line& line, uint64_t seq) {
    if (closed_ || closing_ || replaying()) // a replaying client reads the stream from the log
        return;
    enqueue(line, seq, true);
    post_write();
}

void Client::enqueue(const Line& line, uint64_t seq, bool bounded) {
    auto count_lost = [&](uint64_t lost_seq) {
        ++pending_lost_;
        ++dropped_total_;
        if (lost_seq == 0)
            return;
        if (pending_lost_first_seq_ == 0)
            pending_lost_first_seq_ = lost_seq;
        pending_lost_last_seq_ = lost_seq;
    };
    // Make room by dropping the oldest lines not already being written.
    while (bounded && queued_bytes_ + line->size() > queue_limit_ && queue_.size() > in_flight_) {
        auto victim = queue_.begin() + static_cast<std::ptrdiff_t>(in_flight_);
        queued_bytes_ -= victim->line->size();
        count_lost(victim->seq);
        queue_.erase(victim);
    }
    if (bounded && queued_bytes_ + line->size() > queue_limit_) {
        count_lost(seq);
    } else {
        queue_.push_back({line, seq});
        queued_bytes_ += line->size();
    }
}

void Client::post_write() {
    // Write once the current handler (a whole ring drain) has queued its
    // lines: one gathered write per drain instead of one for its first line.
    if (!waiting_writable_ && !write_posted_) {
        write_posted_ = true;
        asio::post(socket_.get_executor(), [self = shared_from_this()] {
            self->write_posted_ = false;
            self->write_more();
        });
    }
}

void Client::resume(uint64_t after_seq, const StreamLog& log, const ProcessTable& table) {
    replay_log_ = &log;
    replay_table_ = &table;
    replay_next_ = after_seq + 1;
    post_write();
}

void Client::refill() {
    const StreamLog& log = *replay_log_;
    // Bounded work per call, so that a filter that passes little of a big
    // log does not hold the loop: the rest comes on the next turn.
    size_t examined = 0;
    while (queued_bytes_ < queue_limit_ / 2) {
        if (replay_next_ > log.last_seq()) {
            replay_log_ = nullptr; // caught up: the fan-out delivers from the next line on
            return;
        }
        if (replay_next_ < log.first_kept()) {
            uint64_t last = log.first_kept() - 1;
            enqueue(share(replay_expired_line(BootClock(), replay_next_, last)), 0, true);
            replay_next_ = last + 1;
            continue;
        }
        if (++examined > 8192) {
            post_write();
            return;
        }
        const StreamEntry* e = log.find(replay_next_);
        if (e == nullptr) // numbered but not kept: say so rather than skip it silently
            enqueue(share(replay_expired_line(BootClock(), replay_next_, replay_next_)), 0, true);
        else if (log.wanted(*e, subscription_, *replay_table_))
            enqueue(e->line, replay_next_, true);
        ++replay_next_;
    }
}

void Client::write_more() {
    if (closed_ || waiting_writable_)
        return;
    if (replaying())
        refill();
    if (pending_lost_ != 0) {
        // The gap is right here: before the oldest line still queued (after
        // the head, if part of it has been written).
        auto lost = share(
            client_slow_line(BootClock(), pending_lost_, pending_lost_first_seq_, pending_lost_last_seq_));
        queued_bytes_ += lost->size();
        queue_.insert(queue_.begin() + static_cast<std::ptrdiff_t>(in_flight_), {std::move(lost), 0});
        pending_lost_ = 0;
        pending_lost_first_seq_ = pending_lost_last_seq_ = 0;
    }
    // Write all the socket takes now. One async_write would send 64 KiB per
    // turn of the loop, while a turn's drain queues megabytes in a storm: a
    // client reading at full speed would lose lines to the daemon's batching.
    std::vector<asio::const_buffer> buffers;
    size_t written = 0;
    while (!queue_.empty()) {
        if (written >= queue_limit_) { // a fast reader of a long replay: let the loop breathe
            post_write();
            return;
        }
        buffers.clear();
        for (const Queued& q : queue_) {
            if (buffers.size() == max_gather)
                break;
            auto b = asio::buffer(q.line->data(), q.line->size());
            buffers.push_back(buffers.empty() ? b + head_written_ : b);
        }
        boost::system::error_code ec;
        size_t n = socket_.write_some(buffers, ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again)
            break;
        if (ec) {
            close(ec == asio::error::broken_pipe ? "disconnected" : ec.message());
            return;
        }
        written += n;
        consume_written(n);
        if (replaying())
            refill();
    }
    if (!queue_.empty()) {
        // Stuck means a wait that makes no progress: time it from its start,
        // not from a write that ended before a long idle spell.
        last_progress_ = std::chrono::steady_clock::now();
        waiting_writable_ = true;
        socket_.async_wait(Socket::wait_write,
                           [self = shared_from_this()](const boost::system::error_code& ec) {
                               self->waiting_writable_ = false;
                               if (ec) {
                                   self->close(ec.message());
                                   return;
                               }
                               self->write_more();
                           });
        return;
    }
    if (replaying()) {
        post_write(); // refill() stopped at its bound of work: the rest on the next turn
        return;
    }
    if (closing_)
        close("flushed");
}

void Client::consume_written(size_t n) {
    last_progress_ = std::chrono::steady_clock::now();
    while (n > 0) {
        const LineText& head = *queue_.front().line;
        size_t rest = head.size() - head_written_;
        if (n < rest) {
            head_written_ += n;
            break;
        }
        n -= rest;
        queued_bytes_ -= head.size();
        queue_.pop_front();
        head_written_ = 0;
        ++sent_total_;
    }
    in_flight_ = head_written_ != 0 ? 1 : 0;
}

void Client::read_more() {
    socket_.async_read_some(asio::buffer(read_buf_),
                            [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                                if (ec) {
                                    self->close(ec == asio::error::eof ? "disconnected" : ec.message());
                                    return;
                                }
                                self->handle_input(n);
                                if (!self->closed_)
                                    self->read_more();
                            });
}

void Client::handle_input(size_t n) {
    std::string_view in(read_buf_.data(), n);
    while (!in.empty() && !closed_) {
        auto nl = in.find('\n');
        std::string_view piece = in.substr(0, nl);
        if (!discarding_) {
            if (partial_.size() + piece.size() > max_request_bytes) {
                discarding_ = true;
                partial_.clear();
                on_line_(*this, std::string_view{}); // signals "too long" (an empty line is never a request)
            } else {
                partial_.append(piece);
            }
        }
        if (nl == std::string_view::npos)
            break;
        if (!discarding_ && !partial_.empty()) {
            std::string line = std::move(partial_);
            partial_.clear();
            if (!line.empty() && line.back() == '\r')
                line.pop_back();
            if (!line.empty())
                on_line_(*this, line);
        }
        discarding_ = false;
        partial_.clear();
        in.remove_prefix(nl + 1);
    }
}

bool Client::stuck(std::chrono::steady_clock::time_point now, std::chrono::seconds timeout) const {
    return waiting_writable_ && now - last_progress_ > timeout;
}

void Client::close_after_flush() {
    closing_ = true;
    if (!waiting_writable_ && queue_.empty() && !replaying())
        close("flushed");
    else
        post_write(); // a replay still runs to its end, within the shutdown deadline
}

void Client::close(std::string_view reason) {
    if (closed_)
        return;
    closed_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(Socket::shutdown_both, ignored);
    socket_.close(ignored);
    on_close_(*this, reason);
}

} // namespace execmond
