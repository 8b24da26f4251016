#include "clock_steps.hpp"

#include <cerrno>
#include <cstring>
#include <limits>
#include <sys/timerfd.h>
#include <unistd.h>

namespace execmond {

ClockSteps::ClockSteps(boost::asio::io_context& io, std::function<void()> on_step)
    : fd_(io), on_step_(std::move(on_step)) {}

std::string ClockSteps::start() {
    int fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0)
        return std::string("timerfd_create: ") + std::strerror(errno);
    fd_.assign(fd);
    if (!arm()) {
        std::string why = std::string("timerfd_settime(TFD_TIMER_CANCEL_ON_SET): ") + std::strerror(errno);
        boost::system::error_code ignored;
        fd_.close(ignored);
        return why;
    }
    wait();
    return {};
}

void ClockSteps::stop() {
    boost::system::error_code ignored;
    fd_.close(ignored);
}

bool ClockSteps::arm() {
    // Never expires: only a clock step wakes it.
    itimerspec its{};
    its.it_value.tv_sec = std::numeric_limits<time_t>::max();
    return timerfd_settime(fd_.native_handle(), TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, nullptr) ==
           0;
}

void ClockSteps::wait() {
    fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                   [this](const boost::system::error_code& ec) {
                       if (ec || !fd_.is_open())
                           return;
                       uint64_t expirations = 0;
                       ssize_t n = read(fd_.native_handle(), &expirations, sizeof(expirations));
                       bool stepped = n < 0 && errno == ECANCELED;
                       // A cancelled timer stays cancelled until it is armed again.
                       if (stepped && !arm()) {
                           stop();
                           return;
                       }
                       if (stepped) {
                           ++steps_;
                           on_step_();
                       }
                       wait();
                   });
}

} // namespace execmond
