#include "file_sink.hpp"

#include "log.hpp"

#include <boost/asio/post.hpp>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <grp.h>
#include <stdexcept>

namespace execmond {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::optional<gid_t> resolve_group(const std::string& name, const std::string& path) {
    if (name.empty())
        return std::nullopt;
    gid_t gid = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), gid);
    if (ec == std::errc() && end == name.data() + name.size())
        return gid;
    if (const group* g = getgrnam(name.c_str()))
        return g->gr_gid;
    log::warning("group " + name + " does not exist; output file " + path + " keeps the daemon's group");
    return std::nullopt;
}

} // namespace

FileSink::FileSink(asio::io_context& io, FileSinkConfig config, Line hello)
    : config_(std::move(config)), io_(io), hello_(std::move(hello)) {
    group_ = resolve_group(config_.group, config_.path);
    auto opened = file_.open(config_.path, config_.mode, group_);
    if (!opened.error.empty())
        throw std::runtime_error(opened.error);
    if (!opened.warning.empty())
        log::warning(opened.warning);
    lines_in_file_ = file_.size() > 0 ? 1 : 0;
    needs_hello_ = true; // a new stream starts here, even in a file an earlier run wrote
    rotated_.emplace(RotationConfig{config_.path, config_.keep, config_.compress, config_.mode, group_});
    std::string rotation = config_.max_size == 0 ? "no rotation"
                                                 : "rotated at " + std::to_string(config_.max_size) +
                                                       " bytes, " + std::to_string(config_.keep) + " kept" +
                                                       (config_.compress ? ", gzip-compressed" : "");
    log::info("writing events to " + config_.path + " (" + rotation + ")",
              {{"EXECMOND_OUTPUT_FILE", config_.path}});
    writer_ = std::thread([this] { run_writer(); });
}

FileSink::~FileSink() {
    // Lines dropped since the last tick still get their warning (a stop may
    // come before the next tick).
    tick(std::chrono::steady_clock::now());
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    writer_.join();
    rotated_.reset();
}

void FileSink::deliver(const Line& line, uint64_t seq) {
    {
        std::lock_guard lock(mutex_);
        // Room by dropping the oldest lines first, as a client's queue does.
        while (queued_bytes_ + line->size() > config_.queue_bytes && !queue_.empty()) {
            queued_bytes_ -= queue_.front().line->size();
            pending_slow_.add(queue_.front().seq);
            queue_.pop_front();
            ++lost_slow_total_;
        }
        if (queued_bytes_ + line->size() > config_.queue_bytes) {
            pending_slow_.add(seq);
            ++lost_slow_total_;
        } else {
            queue_.push_back({line, seq});
            queued_bytes_ += line->size();
        }
    }
    // Wake the writer once per loop handler (a whole ring drain), not per line.
    if (!kick_posted_) {
        kick_posted_ = true;
        asio::post(io_, [this] {
            kick_posted_ = false;
            wake_.notify_one();
        });
    }
}

void FileSink::reopen() {
    {
        std::lock_guard lock(mutex_);
        reopen_requested_ = true;
    }
    wake_.notify_one();
}

void FileSink::tick(std::chrono::steady_clock::time_point now) {
    uint64_t lost = 0;
    {
        std::lock_guard lock(mutex_);
        lost = lost_slow_total_;
    }
    if (lost > slow_warned_ && (slow_warned_ == 0 || now - slow_warned_at_ >= 60s)) {
        log::warning("output file " + config_.path + ": the writer fell behind; " + std::to_string(lost) +
                         " lines dropped so far (file_slow); a larger --output-queue or a faster disk helps",
                     {{"EXECMOND_LOST", std::to_string(lost - slow_warned_)}});
        slow_warned_ = lost;
        slow_warned_at_ = now;
    }
}

FileSinkCounters FileSink::counters() const {
    FileSinkCounters c;
    {
        std::lock_guard lock(mutex_);
        c.queued_bytes = queued_bytes_;
        c.lost_slow = lost_slow_total_;
    }
    c.written = written_.load();
    c.lost_error = lost_error_total_.load();
    c.rotations = rotations_.load();
    return c;
}

void FileSink::wait_idle() {
    wake_.notify_one(); // a kick may still be waiting for the loop
    {
        std::unique_lock lock(mutex_);
        idle_.wait(lock, [&] {
            return !writer_busy_ && queue_.empty() && pending_slow_.count == 0 && !reopen_requested_;
        });
    }
    rotated_->wait_idle();
}

void FileSink::run_writer() {
    std::deque<Queued> batch;
    write_batch(batch); // the hello, now: a reader knows the stream started before its first event
    for (;;) {
        bool reopen = false;
        bool stop = false;
        {
            std::unique_lock lock(mutex_);
            writer_busy_ = false;
            idle_.notify_all();
            wake_.wait(lock, [&] {
                return !queue_.empty() || pending_slow_.count != 0 || reopen_requested_ || stopping_;
            });
            writer_busy_ = true;
            batch.swap(queue_);
            queued_bytes_ = 0;
            unreported_slow_.add(std::exchange(pending_slow_, {}));
            reopen = std::exchange(reopen_requested_, false);
            stop = stopping_;
        }
        if (reopen) {
            open_file();
            if (file_.is_open())
                log::info("reopened output file " + config_.path);
        }
        write_batch(batch);
        batch.clear();
        if (stop)
            break;
    }
    file_.sync();
    file_.close();
    log::info("output file " + config_.path + " closed: " + std::to_string(written_.load()) +
              " lines written, " + std::to_string(lost_error_total_.load()) + " lost to write errors");
    std::lock_guard lock(mutex_);
    writer_busy_ = false;
    idle_.notify_all();
}

void FileSink::write_batch(const std::deque<Queued>& batch) {
    if (!ensure_open()) {
        lose(batch, 0);
        return;
    }
    begin_chunk();
    for (size_t i = 0; i < batch.size(); ++i) {
        const Line& l = batch[i].line;
        if (rotation_due(l->size())) {
            flush_chunk();
            rotate();
            if (!file_.is_open()) {
                lose(batch, i);
                return;
            }
            begin_chunk();
        }
        add(Piece::line, *l);
        seqs_.back() = batch[i].seq;
    }
    flush_chunk();
}

void FileSink::begin_chunk() {
    pieces_.clear();
    kinds_.clear();
    seqs_.clear();
    chunk_bytes_ = 0;
    chunk_lines_ = 0;
    if (needs_hello_)
        add(Piece::hello, *hello_);
    // The gap is here: lines dropped since the last write came before the
    // lines about to be written.
    // Only this thread changes them until flush_chunk(), which clears what
    // it wrote.
    if (const DroppedLines& d = unreported_slow_; d.count != 0) {
        slow_text_ = lines_lost_line(clock_, d.count, "file_slow", d.first_seq, d.last_seq);
        add(Piece::lost_slow, slow_text_);
    }
    if (const DroppedLines& d = unreported_error_; d.count != 0) {
        error_text_ = lines_lost_line(clock_, d.count, "file_error", d.first_seq, d.last_seq);
        add(Piece::lost_error, error_text_);
    }
}

void FileSink::add(Piece kind, std::string_view text) {
    pieces_.push_back(text);
    kinds_.push_back(kind);
    seqs_.push_back(0);
    chunk_bytes_ += text.size();
    if (kind == Piece::line)
        ++chunk_lines_;
}

void FileSink::flush_chunk() {
    if (pieces_.empty())
        return;
    OutputFile::Appended r = file_.append(pieces_);
    uint64_t ok_lines = 0;
    DroppedLines failed; // of this chunk's lines
    for (size_t k = 0; k < pieces_.size(); ++k) {
        bool ok = k < r.complete;
        switch (kinds_[k]) {
        case Piece::hello:
            if (ok)
                needs_hello_ = false;
            break;
        case Piece::lost_slow:
            if (ok)
                unreported_slow_ = {};
            break;
        case Piece::lost_error:
            if (ok)
                unreported_error_ = {};
            break;
        case Piece::line:
            if (ok)
                ++ok_lines;
            else
                failed.add(seqs_[k]);
            break;
        }
    }
    written_ += ok_lines;
    lines_in_file_ += ok_lines;
    unreported_error_.add(failed);
    lost_error_total_ += failed.count;
    pieces_.clear();
    kinds_.clear();
    seqs_.clear();
    chunk_bytes_ = 0;
    chunk_lines_ = 0;
    if (r.error != 0)
        write_failed("write failed: " + std::string(std::strerror(r.error)) +
                     "; lines are counted as lost (file_error) until a write succeeds again");
    else
        write_succeeded();
}

void FileSink::write_failed(const std::string& what) {
    // One warning per episode, and at most one a minute: a nearly full disk
    // lets a small write through now and then, which must not make a warning
    // of every write.
    auto now = std::chrono::steady_clock::now();
    if (!failing_ && (!warned_ || now - warned_at_ >= 60s)) {
        log::warning("output file " + config_.path + ": " + what, {{"EXECMOND_OUTPUT_FILE", config_.path}});
        warned_ = true;
        warned_at_ = now;
        notice_due_ = true;
    }
    failing_ = true;
}

void FileSink::write_succeeded() {
    if (!failing_)
        return;
    failing_ = false;
    if (notice_due_) {
        notice_due_ = false;
        log::notice("output file " + config_.path + ": writing again; " +
                    std::to_string(lost_error_total_.load()) + " lines lost to write errors since start");
    }
}

bool FileSink::rotation_due(size_t line_bytes) const {
    if (config_.max_size == 0 || file_.size() + chunk_bytes_ + line_bytes <= config_.max_size)
        return false;
    // A file holding only its hello line is not rotated again, whatever the line's size.
    if (lines_in_file_ + chunk_lines_ == 0)
        return false;
    return !rotation_failing_ || std::chrono::steady_clock::now() >= next_rotation_try_;
}

void FileSink::rotate() {
    if (int err = file_.sync())
        log::warning("output file " + config_.path + ": fdatasync before rotation: " + std::strerror(err));
    std::string name = rotated_->next_name();
    if (rename(config_.path.c_str(), name.c_str()) != 0) {
        if (!rotation_failing_)
            log::warning("output file " + config_.path + ": rotate: rename to " + name + ": " +
                         std::strerror(errno) + "; writing on past --output-max-size, retrying every 10 s");
        rotation_failing_ = true;
        next_rotation_try_ = std::chrono::steady_clock::now() + 10s;
        return;
    }
    rotation_failing_ = false;
    ++rotations_;
    file_.close();
    rotated_->rotated(std::move(name));
    open_file();
}

bool FileSink::ensure_open() {
    if (file_.is_open())
        return true;
    if (std::chrono::steady_clock::now() < next_open_try_)
        return false;
    open_file();
    return file_.is_open();
}

void FileSink::open_file() {
    if (int err = file_.is_open() ? file_.sync() : 0)
        log::warning("output file " + config_.path + ": fdatasync before reopening: " + std::strerror(err));
    auto opened = file_.open(config_.path, config_.mode, group_);
    if (!opened.error.empty()) {
        // opened.error names the path itself.
        write_failed(opened.error.substr(opened.error.find(": ") + 2) +
                     "; lines are counted as lost (file_error) until it can be opened");
        next_open_try_ = std::chrono::steady_clock::now() + 1s;
        return;
    }
    if (!opened.warning.empty() && !open_warned_) {
        log::warning(opened.warning);
        open_warned_ = true;
    }
    lines_in_file_ = file_.size() > 0 ? 1 : 0;
    if (file_.size() == 0)
        needs_hello_ = true;
}

void FileSink::lose(const std::deque<Queued>& batch, size_t from) {
    for (size_t i = from; i < batch.size(); ++i)
        lose_one(batch[i].seq);
}

void FileSink::lose_one(uint64_t seq) {
    unreported_error_.add(seq);
    ++lost_error_total_;
}

} // namespace execmond
