// A controlling terminal's name from its device number (stat's tty_nr, the
// exec record's tty_dev), as ps(1) and /dev show it: "pts/3", "tty1", "ttyS0".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace execmond {

class TtyNames {
public:
    explicit TtyNames(std::string sys_dev_char = "/sys/dev/char") : sys_(std::move(sys_dev_char)) {}

    // Empty for 0 (no terminal). Devices outside the fixed Linux numbering
    // (devices.txt) are named by /sys/dev/char/MAJ:MIN, read once per device;
    // failing that, "MAJ:MIN".
    std::string_view name(uint32_t tty_dev);

    // The fixed numbering only; empty if the device is not in it.
    static std::string fixed_name(uint32_t major, uint32_t minor);

private:
    static constexpr size_t max_cached = 256;
    std::string sys_;
    std::unordered_map<uint32_t, std::string> cache_;
};

} // namespace execmond
