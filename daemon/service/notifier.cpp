#include "notifier.hpp"

#include <string>
#include <systemd/sd-daemon.h>

namespace execmond {

void Notifier::ready(std::string_view status) const {
    sd_notify(0, ("READY=1\nSTATUS=" + std::string(status)).c_str());
}

void Notifier::status(std::string_view status) const {
    sd_notify(0, ("STATUS=" + std::string(status)).c_str());
}

void Notifier::stopping() const {
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void Notifier::watchdog() const {
    sd_notify(0, "WATCHDOG=1");
}

std::optional<std::chrono::microseconds> Notifier::watchdog_interval() const {
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return std::nullopt;
    return std::chrono::microseconds(usec / 2);
}

} // namespace execmond
