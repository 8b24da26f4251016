#include "json_writer.hpp"

#include "text.hpp"

#include <algorithm>
#include <charconv>

namespace execmond {

namespace {

using json = nlohmann::ordered_json;
constexpr auto replace = json::error_handler_t::replace;

// What a byte becomes inside a JSON string: 0 for itself, 'u' for \u00XX,
// else the letter after the backslash. The same bytes nlohmann's dump writes.
constexpr std::array<char, 256> escapes = [] {
    std::array<char, 256> t{};
    for (int c = 0; c < 0x20; ++c)
        t[c] = 'u';
    t['\b'] = 'b';
    t['\t'] = 't';
    t['\n'] = 'n';
    t['\f'] = 'f';
    t['\r'] = 'r';
    t['"'] = '"';
    t['\\'] = '\\';
    return t;
}();

// Does any byte of the 8 in `w` need escaping or UTF-8 checking (a control
// character, '"', '\\' or a byte of 0x80 and above)? Bit tricks, a word at a time.
constexpr bool word_needs_care(uint64_t w) {
    constexpr uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    auto has_zero = [](uint64_t v) {
        return (v - ones) & ~v & highs;
    };
    return ((w | ((w - 0x2020202020202020ull) & ~w)) & highs) != 0 || has_zero(w ^ (ones * '"')) != 0 ||
           has_zero(w ^ (ones * '\\')) != 0;
}

} // namespace

JsonKey::JsonKey(std::string_view name)
    : bytes_(json(std::string(name)).dump(-1, ' ', false, replace) + ":") {}

JsonWriter::JsonWriter() {
    buf_.resize(4096);
}

void JsonWriter::clear() {
    len_ = 0;
    depth_ = 0;
    first_[0] = true;
    after_key_ = false;
}

void JsonWriter::grow(size_t n) {
    buf_.resize(std::max(buf_.size() * 2, len_ + n));
}

void JsonWriter::value(uint64_t v) {
    separate();
    char* at = room(20);
    len_ += static_cast<size_t>(std::to_chars(at, at + 20, v).ptr - at);
}

bool JsonWriter::escaped_utf8(std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    // At most 6 bytes out per byte in (\u00XX), so no check inside the loop.
    char* const start = room(6 * s.size());
    char* out = start;
    for (size_t i = 0; i < s.size();) {
        if (s.size() - i >= 8) {
            uint64_t w;
            std::memcpy(&w, s.data() + i, 8);
            if (!word_needs_care(w)) {
                std::memcpy(out, &w, 8);
                out += 8;
                i += 8;
                continue;
            }
        }
        auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            size_t n = utf8_sequence(s, i);
            if (n == 0)
                return false;
            std::memcpy(out, s.data() + i, n);
            out += n;
            i += n;
            continue;
        }
        ++i;
        char e = escapes[c];
        if (e == 0) {
            *out++ = static_cast<char>(c);
            continue;
        }
        *out++ = '\\';
        *out++ = e;
        if (e == 'u') {
            *out++ = '0';
            *out++ = '0';
            *out++ = hex[c >> 4];
            *out++ = hex[c & 0xF];
        }
    }
    len_ += static_cast<size_t>(out - start);
    return true;
}

void JsonWriter::string(std::string_view s) {
    separate();
    size_t at = len_;
    put('"');
    if (!escaped_utf8(s)) {
        // Not UTF-8: nlohmann's replacement (U+FFFD), rare enough to be slow.
        len_ = at;
        fallback_ = json(std::string(s)).dump(-1, ' ', false, replace);
        put(fallback_);
        return;
    }
    put('"');
}

bool JsonWriter::text(std::string_view bytes) {
    separate();
    put('"');
    bool escaped = !escaped_utf8(bytes);
    if (escaped) {
        // Not UTF-8: \xNN and doubled backslashes first (text.hpp), then as JSON.
        scratch_.clear();
        append_json_text(scratch_, bytes);
        escaped_utf8(scratch_);
    }
    put('"');
    return escaped;
}

} // namespace execmond
