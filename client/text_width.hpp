// How many terminal columns text takes, and cutting it to fit: a line on a
// terminal never wraps, so long command lines end in an ellipsis instead.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace execmon {

// Columns of one code point: 0 for combining marks, 2 for East Asian wide
// and emoji, else 1. (Our own table: wcwidth() depends on the locale.)
int code_point_width(char32_t c);
// Columns of valid UTF-8 text without control characters; an invalid byte counts as 1.
size_t display_width(std::string_view text);
// The longest prefix of `text` that fits in `columns`, never splitting a code point.
std::string_view fit_prefix(std::string_view text, size_t columns);

inline constexpr std::string_view ellipsis = "\u2026"; // one column

} // namespace execmon
