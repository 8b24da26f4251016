// The output file (--output-file): one more reader of the stream, for
// shippers that tail a file (rsyslog imfile, Vector, Fluent Bit, Filebeat).
// The loop only queues lines (bounded in bytes, oldest dropped first, like a
// client's queue); a writer thread of its own writes them, rotates by size and
// reopens on request, so a slow or full disk never blocks the loop. Every line
// dropped is counted in stats and reported in the file itself where the gap
// is: a `lost` line with reason `file_slow` (the queue overflowed) or
// `file_error` (a write failed: disk full, I/O error), with the first and last
// seq of the stream's lines it stands for. Every file starts with
// a `hello` line, so each one says which host and stream it holds.
//
// Durability: lines go out with write(2) as they come (a daemon crash loses
// nothing already queued to the kernel); fdatasync(2) runs before a file is
// rotated, at a reopen and at stop. A power loss can lose what the kernel had
// not yet written back (vm.dirty_expire_centisecs, 30 s by default).
#pragma once

#include "boot_clock.hpp"
#include "fanout.hpp"
#include "output_file.hpp"
#include "rotated_files.hpp"

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace execmond {

struct FileSinkConfig {
    std::string path;
    mode_t mode = 0640;
    std::string group;              // empty: the daemon's own group
    uint64_t max_size = 100u << 20; // rotate before a line would make the file larger; 0: never
    unsigned keep = 5;              // rotated files kept
    bool compress = false;          // gzip rotated files
    size_t queue_bytes = 16u << 20; // lines waiting for the writer
    Subscription subscription;      // which lines the file gets
};

struct FileSinkCounters {
    uint64_t written = 0;
    uint64_t lost_slow = 0;
    uint64_t lost_error = 0;
    uint64_t queued_bytes = 0;
    uint64_t rotations = 0;
};

// Lines dropped and, of the stream's lines among them (in seq order), the
// first and last seq; 0 when none had one.
struct DroppedLines {
    uint64_t count = 0, first_seq = 0, last_seq = 0;
    void add(uint64_t seq) {
        ++count;
        if (seq == 0)
            return;
        if (first_seq == 0)
            first_seq = seq;
        last_seq = seq;
    }
    // `later`: lines dropped after these.
    void add(const DroppedLines& later) {
        count += later.count;
        if (first_seq == 0)
            first_seq = later.first_seq;
        if (later.last_seq != 0)
            last_seq = later.last_seq;
    }
};

class FileSink : public Subscriber {
public:
    // Opens the file now (throws std::runtime_error naming the path and the
    // reason), then starts the writer. `hello` starts every file.
    FileSink(boost::asio::io_context& io, FileSinkConfig config, Line hello);
    // Writes what is queued, syncs and closes the file.
    ~FileSink() override;
    FileSink(const FileSink&) = delete;
    FileSink& operator=(const FileSink&) = delete;

    const Subscription& subscription() const override { return config_.subscription; }
    // Loop thread. Never blocks on the disk: the writer takes the queue in
    // one swap under a lock it holds only for that.
    void send(const Line& line) override { deliver(line, 0); }
    // A line of the numbered stream: its seq goes into a lost line if dropped.
    void deliver(const Line& line, uint64_t seq) override;
    // Loop thread (SIGHUP): close and open the path again, e.g. after
    // logrotate renamed the file.
    void reopen();
    // Loop thread, from the daemon's 1 s tick: a warning when the queue
    // overflowed since the last one (at most one a minute).
    void tick(std::chrono::steady_clock::time_point now);

    FileSinkCounters counters() const;
    const std::string& path() const { return config_.path; }
    // Blocks until the writer and the rotation worker are idle (tests).
    void wait_idle();

    std::chrono::steady_clock::time_point next_stats{};

private:
    enum class Piece : uint8_t { hello, lost_slow, lost_error, line };
    struct Queued {
        Line line;
        uint64_t seq = 0; // 0: not a line of the numbered stream
    };

    void run_writer();
    void write_batch(const std::deque<Queued>& batch);
    void begin_chunk();
    void add(Piece kind, std::string_view text);
    void flush_chunk();
    bool rotation_due(size_t line_bytes) const;
    void rotate();
    bool ensure_open();
    void open_file();
    // Lines that could not be written (file_error): batch[from..], or one.
    void lose(const std::deque<Queued>& batch, size_t from);
    void lose_one(uint64_t seq);
    void write_failed(const std::string& what);
    void write_succeeded();

    FileSinkConfig config_;
    boost::asio::io_context& io_;
    Line hello_;
    std::optional<gid_t> group_;
    std::optional<RotatedFiles> rotated_;

    // Shared between the loop and the writer, under mutex_.
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable idle_;
    std::deque<Queued> queue_;
    size_t queued_bytes_ = 0;
    DroppedLines pending_slow_; // dropped since the writer last looked
    uint64_t lost_slow_total_ = 0;
    bool reopen_requested_ = false;
    bool stopping_ = false;
    bool writer_busy_ = false;

    // Loop thread only.
    bool kick_posted_ = false;
    uint64_t slow_warned_ = 0;
    std::chrono::steady_clock::time_point slow_warned_at_{};

    // Writer thread only.
    BootClock clock_;
    OutputFile file_;
    bool open_warned_ = false;
    bool needs_hello_ = true;
    uint64_t lines_in_file_ = 0;
    DroppedLines unreported_slow_; // counted, not yet in a lost line in the file
    DroppedLines unreported_error_;
    bool failing_ = false; // a write failed and none succeeded since
    bool warned_ = false;
    bool notice_due_ = false; // a warning was logged; say when writing works again
    std::chrono::steady_clock::time_point warned_at_{};
    bool rotation_failing_ = false;
    std::chrono::steady_clock::time_point next_rotation_try_{};
    std::chrono::steady_clock::time_point next_open_try_{};
    std::vector<std::string_view> pieces_;
    std::vector<Piece> kinds_;
    std::vector<uint64_t> seqs_; // for line pieces: their seq
    std::string hello_text_, slow_text_, error_text_;
    uint64_t chunk_bytes_ = 0;
    uint64_t chunk_lines_ = 0;

    // Written by the writer, read by stats.
    std::atomic<uint64_t> written_{0};
    std::atomic<uint64_t> lost_error_total_{0};
    std::atomic<uint64_t> rotations_{0};

    std::thread writer_;
};

} // namespace execmond
