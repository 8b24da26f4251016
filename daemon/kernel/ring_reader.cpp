#include "ring_reader.hpp"

#include "execmond_event.h"

#include <atomic>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace execmond {

namespace asio = boost::asio;

RingReader::RingReader(asio::io_context& io, int ring_map_fd, volatile uint32_t* timer_flag,
                       std::chrono::microseconds latency, uint64_t forced_bytes, RecordHandler on_record,
                       DrainHandler on_drained, int wake_ring_fd)
    : io_(io), rb_(ring_buffer__new(ring_map_fd, &RingReader::on_sample, this, nullptr), &ring_buffer__free),
      wake_rb_(nullptr, &ring_buffer__free), readable_(io), timer_(io), timer_flag_(timer_flag),
      latency_(latency), forced_bytes_(forced_bytes), on_record_(std::move(on_record)),
      on_drained_(std::move(on_drained)) {
    if (!rb_)
        throw std::runtime_error(std::string("open ring buffer: ") + std::strerror(errno));
    if (wake_ring_fd >= 0) {
        wake_rb_.reset(ring_buffer__new(wake_ring_fd, &RingReader::on_wake_sample, this, nullptr));
        if (!wake_rb_)
            throw std::runtime_error(std::string("open wake ring buffer: ") + std::strerror(errno));
    }
    // The map fd itself polls readable when the probes force a wake-up; a
    // duplicate lets Asio own (and close) its copy.
    int fd = dup(wake_ring_fd >= 0 ? wake_ring_fd : ring_map_fd);
    if (fd < 0)
        throw std::runtime_error(std::string("dup ring buffer fd: ") + std::strerror(errno));
    readable_.assign(fd);
}

// libbpf 1.4 has no ring_buffer__consume_n: a negative return stops the
// consumer after this record (which counts as consumed).
int RingReader::on_sample(void* ctx, void* data, size_t size) {
    auto* self = static_cast<RingReader*>(ctx);
    if (size == sizeof(execmond_wake)) {
        // Only there to wake us (after_commit() in bpf/execmond_common.bpf.h).
        execmond_wake w;
        std::memcpy(&w, data, sizeof(w));
        if (w.type == EXECMOND_REC_WAKE) {
            ++self->wake_records_;
            return 0;
        }
    }
    self->on_record_(data, size);
    ++self->consumed_;
    return self->consumed_ >= self->budget_ ? -E2BIG : 0;
}

int RingReader::on_wake_sample(void* ctx, void*, size_t) {
    ++static_cast<RingReader*>(ctx)->wake_records_;
    return 0;
}

size_t RingReader::consume(size_t budget) {
    consumed_ = 0;
    budget_ = budget;
    ring_buffer__consume(rb_.get());
    return consumed_;
}

void RingReader::start() {
    stopped_ = false;
    wait_readable();
    drain(drain_budget); // anything queued before we started
}

void RingReader::stop() {
    stopped_ = true;
    readable_.cancel();
    timer_.cancel();
    set_timer_flag(0);
}

void RingReader::wait_readable() {
    if (wait_queued_ || stopped_)
        return;
    wait_queued_ = true;
    readable_.async_wait(asio::posix::stream_descriptor::wait_read,
                         [this](const boost::system::error_code& ec) {
                             wait_queued_ = false;
                             if (!ec && !stopped_)
                                 on_readable();
                         });
}

// Asio registers the descriptor again for every wait, and the kernel then
// reports the records already in the ring at once: a wait queued while records
// wait for the timer would fire again and again. So while the timer is armed
// only its expiry queues the next wait (a filling ring is drained at once when
// such an event finds it past forced_bytes_). The wake ring has no such
// records: its wait stays queued.
void RingReader::on_readable() {
    ++wakeups_;
    if (wake_rb_) {
        period_end();
        return;
    }
    if (latency_.count() == 0) {
        drain(drain_budget);
        wait_readable();
        recheck();
        return;
    }
    if (!timer_armed_) {
        // Woken while idle: what follows the first record (a process's exec
        // and exit follow its fork within a millisecond) is collected for one
        // latency period and sent as one batch, so a lone process costs one
        // wake-up here and one at each client, not three.
        lone_burst_ = std::chrono::steady_clock::now() - idle_since_ >= latency_;
        arm_timer();
        return;
    }
    if (queued_bytes() >= forced_bytes_)
        drain(drain_budget);
}

// Woken through the wake ring (a kernel timer's period is over, or the ring
// is filling). Its wake records go first: one that comes during the drain
// stays in the wake ring, and the wait queued after it (or the look below,
// should its edge come before that wait) handles it.
//
// The kernel timer serves lone bursts: a process's records after a quiet
// spell cost one wake-up. Once records keep coming our own timer takes over
// (the probes arm none while its flag is up): the kernel's expires on the CPU
// that armed it and wakes us with an IPI, which costs more in a stream.
void RingReader::period_end() {
    ring_buffer__consume(wake_rb_.get());
    if (timer_armed_) {
        if (queued_bytes() >= forced_bytes_)
            drain(drain_budget);
    } else {
        auto now = std::chrono::steady_clock::now();
        bool lone = now - idle_since_ >= 2 * latency_;
        size_t got = consume(drain_budget);
        if (got > 0)
            on_drained_(got);
        if (lone && got < drain_budget)
            idle_since_ = now; // still idle: the next record arms a kernel timer again
        else
            drain_more(got); // a stream: our own timer from now on
    }
    wait_readable();
    if (wakes_pending())
        asio::post(io_, [this] {
            if (!stopped_)
                period_end();
        });
}

bool RingReader::wakes_pending() const {
    ring* r = ring_buffer__ring(wake_rb_.get(), 0);
    return r && ring__avail_data_size(r) > 0;
}

// Latency 0: a record's wake-up that came while no wait was queued (during
// the handler) is lost: Asio polls edge-triggered. Its reservation is visible
// by now.
void RingReader::recheck() {
    if (stopped_ || queued_bytes() == 0)
        return;
    asio::post(io_, [this] {
        if (stopped_)
            return;
        drain(drain_budget);
        recheck();
    });
}

size_t RingReader::drain(size_t budget) {
    size_t got = consume(budget);
    if (got > 0)
        on_drained_(got);
    // A storm can outrun one drain: continue after other handlers had a turn.
    if (got >= budget && !continue_posted_ && !stopped_) {
        continue_posted_ = true;
        asio::post(io_, [this] {
            continue_posted_ = false;
            if (!stopped_)
                drain(drain_budget);
        });
    }
    // From now on records wait for the timer (none with latency 0).
    arm_timer();
    return got;
}

size_t RingReader::drain_all() {
    size_t total = 0;
    for (;;) {
        size_t n = consume(drain_budget);
        if (n == 0)
            break;
        total += n;
        on_drained_(n);
    }
    return total;
}

void RingReader::set_timer_flag(uint32_t value) {
    if (timer_flag_)
        *timer_flag_ = value;
}

// While the timer is armed the probes submit without waking us (see
// wake_flags() in bpf/execmond_common.bpf.h), so nothing waits in the ring
// longer than `latency_` plus a drain.
void RingReader::arm_timer() {
    if (latency_.count() == 0 || timer_armed_ || stopped_)
        return; // latency 0: the probes wake us for every record we have not caught up with
    timer_armed_ = true;
    set_timer_flag(1);
    timer_.expires_after(latency_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        timer_armed_ = false;
        if (ec || stopped_)
            return;
        on_timer();
    });
}

void RingReader::on_timer() {
    ++timer_drains_;
    size_t got = consume(drain_budget);
    if (got > 0)
        on_drained_(got);
    bool more = got >= drain_budget || queued_bytes() > 0;
    // A burst after a quiet period (a lone process at a low rate) is over
    // once drained: going idle now spares the wake-up of an empty period.
    // In a steady stream the next burst comes within a period, so the timer
    // stays armed.
    bool lone = lone_burst_;
    lone_burst_ = false;
    if (more || (got > 0 && !lone)) {
        drain_more(got);
        wait_readable();
        return;
    }
    go_idle();
}

// Nothing more is expected: go idle, so that the next record wakes us at
// once. Clear the flag, then look again: a record reserved before the probes
// could see the clear flag shows up here; else the probes, which read the flag
// again after their commit's full barrier, see it clear and wake us
// (after_commit() in bpf/execmond_common.bpf.h).
void RingReader::go_idle() {
    set_timer_flag(0);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (queued_bytes() > 0)
        drain_more(consume(drain_budget));
    else
        idle_since_ = std::chrono::steady_clock::now();
    wait_readable();
}

// After a timer drain that found (or left) records: keep collecting.
void RingReader::drain_more(size_t got) {
    if (got >= drain_budget && !continue_posted_) {
        continue_posted_ = true;
        asio::post(io_, [this] {
            continue_posted_ = false;
            if (!stopped_)
                drain(drain_budget);
        });
    }
    arm_timer();
}

size_t RingReader::queued_bytes() const {
    ring* r = ring_buffer__ring(rb_.get(), 0);
    return r ? ring__avail_data_size(r) : 0;
}

size_t RingReader::capacity() const {
    ring* r = ring_buffer__ring(rb_.get(), 0);
    return r ? ring__size(r) : 0;
}

} // namespace execmond
