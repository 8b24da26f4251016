// Tells when the wall clock is stepped, as systemd does: a CLOCK_REALTIME
// timerfd armed for the end of time with TFD_TIMER_CANCEL_ON_SET, whose read
// fails with ECANCELED whenever the clock is set (clock_settime, settimeofday,
// adjtimex ADJ_SETOFFSET, a leap second). Slewing does not move
// CLOCK_REALTIME - CLOCK_BOOTTIME; only these steps do.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <functional>
#include <string>

namespace execmond {

class ClockSteps {
public:
    ClockSteps(boost::asio::io_context& io, std::function<void()> on_step);

    // Starts watching; returns why not ("" on success) when the kernel
    // refuses the timer (then only the caller's periodic resampling remains).
    std::string start();
    void stop();
    uint64_t steps_seen() const { return steps_; }

private:
    bool arm();
    void wait();

    boost::asio::posix::stream_descriptor fd_;
    std::function<void()> on_step_;
    uint64_t steps_ = 0;
};

} // namespace execmond
