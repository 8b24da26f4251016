// Kernel strings are bytes. JSON text must be UTF-8: valid input passes
// through untouched; otherwise every invalid byte becomes the four characters
// \xNN and every backslash is doubled, so the original bytes can be recovered
// and nothing is silently dropped. The caller flags such strings as escaped.
#pragma once

#include <string>
#include <string_view>

namespace execmond {

bool is_valid_utf8(std::string_view s);

// Length of the valid UTF-8 sequence starting at s[i], or 0 if there is none
// (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
size_t utf8_sequence(std::string_view s, size_t i);

// Appends `in` to `out`, escaped as above when it is not valid UTF-8.
// Returns true when it had to escape.
bool append_json_text(std::string& out, std::string_view in);

} // namespace execmond
