// Service-manager notifications (sd_notify): readiness, status, stopping and
// watchdog pings. Every call is a no-op when not started by systemd.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace execmond {

class Notifier {
public:
    void ready(std::string_view status) const;
    void status(std::string_view status) const;
    void stopping() const;
    void watchdog() const;
    // How often to ping: half of $WATCHDOG_USEC, or nothing without a watchdog.
    std::optional<std::chrono::microseconds> watchdog_interval() const;
};

} // namespace execmond
