#include "text.hpp"

#include <cstdint>

namespace execmond {

size_t utf8_sequence(std::string_view s, size_t i) {
    auto b = [&](size_t k) {
        return static_cast<uint8_t>(s[k]);
    };
    auto cont = [&](size_t k) {
        return k < s.size() && (b(k) & 0xC0) == 0x80;
    };
    uint8_t c = b(i);
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return cont(i + 1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(i + 1) || !cont(i + 2))
            return 0;
        uint8_t c1 = b(i + 1);
        if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F))
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3))
            return 0;
        uint8_t c1 = b(i + 1);
        if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F))
            return 0;
        return 4;
    }
    return 0;
}

bool is_valid_utf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        if (static_cast<uint8_t>(s[i]) < 0x80) { // ASCII fast path
            ++i;
            continue;
        }
        size_t n = utf8_sequence(s, i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

bool append_json_text(std::string& out, std::string_view in) {
    if (is_valid_utf8(in)) {
        out.append(in);
        return false;
    }
    static constexpr char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < in.size();) {
        size_t n = utf8_sequence(in, i);
        if (n == 0) {
            auto c = static_cast<uint8_t>(in[i]);
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xF];
            ++i;
        } else if (in[i] == '\\') {
            out += "\\\\";
            ++i;
        } else {
            out.append(in.substr(i, n));
            i += n;
        }
    }
    return true;
}

} // namespace execmond
