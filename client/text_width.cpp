#include "text_width.hpp"

#include "utf8.hpp"

namespace execmon {

namespace {

struct Range {
    char32_t first, last;
};

bool in(const Range* begin, const Range* end, char32_t c) {
    for (const Range* r = begin; r != end; ++r)
        if (c >= r->first && c <= r->last)
            return true;
    return false;
}

// The common combining blocks and zero-width characters.
constexpr Range zero_width[] = {
    {0x0300, 0x036f}, {0x0483, 0x0489}, {0x0591, 0x05bd}, {0x0610, 0x061a}, {0x064b, 0x065f},
    {0x0e31, 0x0e31}, {0x0e34, 0x0e3a}, {0x1ab0, 0x1aff}, {0x1dc0, 0x1dff}, {0x200b, 0x200f},
    {0x20d0, 0x20ff}, {0xfe00, 0xfe0f}, {0xfe20, 0xfe2f}, {0xfeff, 0xfeff}, {0xe0100, 0xe01ef},
};

// East Asian Wide and Fullwidth blocks, and the emoji planes.
constexpr Range wide[] = {
    {0x1100, 0x115f},   {0x231a, 0x231b},   {0x2329, 0x232a},   {0x23e9, 0x23ec},   {0x2e80, 0x303e},
    {0x3041, 0x33ff},   {0x3400, 0x4dbf},   {0x4e00, 0x9fff},   {0xa000, 0xa4cf},   {0xa960, 0xa97f},
    {0xac00, 0xd7a3},   {0xf900, 0xfaff},   {0xfe10, 0xfe19},   {0xfe30, 0xfe6f},   {0xff00, 0xff60},
    {0xffe0, 0xffe6},   {0x1f300, 0x1f64f}, {0x1f900, 0x1f9ff}, {0x1f680, 0x1f6ff}, {0x20000, 0x2fffd},
    {0x30000, 0x3fffd},
};

} // namespace

int code_point_width(char32_t c) {
    if (in(std::begin(zero_width), std::end(zero_width), c))
        return 0;
    if (in(std::begin(wide), std::end(wide), c))
        return 2;
    return 1;
}

size_t display_width(std::string_view text) {
    size_t columns = 0;
    for (size_t i = 0; i < text.size();) {
        CodePoint cp = decode_utf8(text, i);
        columns += cp.valid ? code_point_width(cp.value) : 1;
        i += cp.length;
    }
    return columns;
}

std::string_view fit_prefix(std::string_view text, size_t columns) {
    size_t used = 0;
    size_t i = 0;
    while (i < text.size()) {
        CodePoint cp = decode_utf8(text, i);
        size_t w = cp.valid ? code_point_width(cp.value) : 1;
        if (used + w > columns)
            break;
        used += w;
        i += cp.length;
    }
    // Combining marks after the last kept character belong to it.
    while (i < text.size()) {
        CodePoint cp = decode_utf8(text, i);
        if (!cp.valid || code_point_width(cp.value) != 0)
            break;
        i += cp.length;
    }
    return text.substr(0, i);
}

} // namespace execmon
