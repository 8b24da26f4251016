// Decoding UTF-8 one code point at a time, strictly (no overlong forms, no
// surrogates, nothing above U+10FFFF): what is not valid is a lone byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace execmon {

struct CodePoint {
    char32_t value = 0; // meaningless when !valid
    size_t length = 1;  // bytes consumed; 1 for an invalid byte
    bool valid = false;
};

// The code point starting at s[at] (at < s.size()).
CodePoint decode_utf8(std::string_view s, size_t at);

} // namespace execmon
