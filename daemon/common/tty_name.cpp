#include "tty_name.hpp"

#include <climits>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace execmond {

std::string TtyNames::fixed_name(uint32_t major, uint32_t minor) {
    auto n = [](const char* prefix, uint32_t i) {
        return prefix + std::to_string(i);
    };
    if (major >= 136 && major <= 143) // Unix98 pty slaves
        return n("pts/", (major - 136) * 256 + minor);
    if (major == 4)
        return minor < 64 ? n("tty", minor) : n("ttyS", minor - 64);
    if (major == 5)
        return minor == 0 ? "tty" : minor == 1 ? "console" : minor == 2 ? "ptmx" : "";
    if (major == 3)
        return n("ttyp", minor); // BSD pty slaves
    return "";
}

std::string_view TtyNames::name(uint32_t tty_dev) {
    if (tty_dev == 0)
        return {};
    auto it = cache_.find(tty_dev);
    if (it != cache_.end())
        return it->second;
    uint32_t maj = major(tty_dev), min = minor(tty_dev);
    std::string name = fixed_name(maj, min);
    if (name.empty()) {
        // /sys/dev/char/188:0 -> ../../devices/.../ttyUSB0
        std::string link = sys_ + "/" + std::to_string(maj) + ":" + std::to_string(min);
        char target[PATH_MAX];
        ssize_t len = readlink(link.c_str(), target, sizeof(target) - 1);
        std::string_view t(target, len > 0 ? static_cast<size_t>(len) : 0);
        auto slash = t.rfind('/');
        name = !t.empty() ? std::string(slash == std::string_view::npos ? t : t.substr(slash + 1))
                          : std::to_string(maj) + ":" + std::to_string(min);
    }
    if (cache_.size() >= max_cached)
        cache_.clear();
    return cache_.emplace(tty_dev, std::move(name)).first->second;
}

} // namespace execmond
