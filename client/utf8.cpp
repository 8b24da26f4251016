#include "utf8.hpp"

namespace execmon {

CodePoint decode_utf8(std::string_view s, size_t at) {
    auto byte = [&](size_t i) {
        return static_cast<unsigned char>(s[i]);
    };
    unsigned char b0 = byte(at);
    if (b0 < 0x80)
        return {b0, 1, true};
    size_t length;
    char32_t value, min;
    if ((b0 & 0xe0) == 0xc0) {
        length = 2, value = b0 & 0x1f, min = 0x80;
    } else if ((b0 & 0xf0) == 0xe0) {
        length = 3, value = b0 & 0x0f, min = 0x800;
    } else if ((b0 & 0xf8) == 0xf0) {
        length = 4, value = b0 & 0x07, min = 0x10000;
    } else {
        return {};
    }
    if (at + length > s.size())
        return {};
    for (size_t i = 1; i < length; ++i) {
        unsigned char b = byte(at + i);
        if ((b & 0xc0) != 0x80)
            return {};
        value = (value << 6) | (b & 0x3f);
    }
    if (value < min || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff))
        return {};
    return {value, length, true};
}

} // namespace execmon
