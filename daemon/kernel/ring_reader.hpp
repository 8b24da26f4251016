// Drains the BPF ring buffer from the Asio loop. The probes wake us only when
// we are idle (see wake_flags() in bpf/execmond_common.bpf.h). A wake-up arms
// a drain timer for the latency bound and raises the probes' reader_timer_armed
// flag; while it is up records wait for the timer, which drains them as one
// batch (one drain per latency period in a storm; one for a lone process's
// fork, exec and exit at low rates). A timer period that finds nothing lowers
// the flag again, and the next record wakes us. With a latency of 0 every
// record we have caught up with wakes us and is drained at once.
//
// When a kernel timer batches the wake-ups (Probes::timer_wakeups(),
// bpf/wake_timer.bpf.h), we wait on the probes' ring of wake records, not on
// the record ring: a record while we are idle arms a kernel timer, whose
// expiry wakes us once for the whole period (a lone burst, one wake-up).
// If the records keep coming, our own timer takes over as above.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <bpf/libbpf.h>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace execmond {

class RingReader {
public:
    using RecordHandler = std::function<void(const void* data, size_t size)>;
    using DrainHandler = std::function<void(size_t records)>;

    // timer_flag: the probes' reader_timer_armed (Probes::reader_timer_flag()),
    // or null (the probes then wake us for every record we have caught up with).
    // wake_ring_fd: the probes' wake ring when a kernel timer batches the
    // wake-ups of lone bursts, else -1.
    RingReader(boost::asio::io_context& io, int ring_map_fd, volatile uint32_t* timer_flag,
               std::chrono::microseconds latency, uint64_t forced_bytes, RecordHandler on_record,
               DrainHandler on_drained, int wake_ring_fd = -1);
    RingReader(const RingReader&) = delete;
    RingReader& operator=(const RingReader&) = delete;

    void start();
    void stop();
    // Consumes everything queued now; returns the record count.
    size_t drain_all();
    // Bytes waiting in the ring, and its size.
    size_t queued_bytes() const;
    size_t capacity() const;
    uint64_t wakeups() const { return wakeups_; }
    uint64_t timer_drains() const { return timer_drains_; }
    // Records the probes sent only to wake us (a reader going idle just as
    // they committed); not passed to on_record.
    uint64_t wake_records() const { return wake_records_; }

private:
    static int on_sample(void* ctx, void* data, size_t size);
    static int on_wake_sample(void* ctx, void* data, size_t size);
    void period_end();
    bool wakes_pending() const;
    void wait_readable();
    size_t drain(size_t budget);
    void recheck();
    size_t consume(size_t budget);
    void arm_timer();
    void on_timer();
    void drain_more(size_t got);
    void set_timer_flag(uint32_t value);
    void go_idle();
    void on_readable();

    // Records handled per drain before yielding to the rest of the loop.
    static constexpr size_t drain_budget = 4096;

    boost::asio::io_context& io_;
    std::unique_ptr<ring_buffer, decltype(&ring_buffer__free)> rb_;
    std::unique_ptr<ring_buffer, decltype(&ring_buffer__free)> wake_rb_; // kernel-timer wake-ups only
    boost::asio::posix::stream_descriptor readable_;
    boost::asio::steady_timer timer_;
    volatile uint32_t* timer_flag_;
    std::chrono::microseconds latency_;
    uint64_t forced_bytes_; // the probes force a wake-up past this much queued
    bool timer_armed_ = false;
    // When the reader last went idle, and whether the burst being collected
    // came after a whole quiet period.
    std::chrono::steady_clock::time_point idle_since_{};
    bool lone_burst_ = false;
    bool wait_queued_ = false;
    bool continue_posted_ = false;
    bool stopped_ = true;
    RecordHandler on_record_;
    DrainHandler on_drained_;
    size_t consumed_ = 0;
    size_t budget_ = 0;
    uint64_t wakeups_ = 0;
    uint64_t timer_drains_ = 0;
    uint64_t wake_records_ = 0;
};

} // namespace execmond
