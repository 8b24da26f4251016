// Kernel strings are bytes. JSON text must be UTF-8: valid input passes
// through untouched; otherwise every invalid byte becomes the four characters
// \xNN and every backslash is doubled, so the original bytes can be recovered
// and nothing is silently dropped. The caller flags such strings as escaped.
#pragma once

#include <string>
#include <string_view>

namespace execmond {

bool is_valid_utf8(std::string_view s);

// Appends `in` to `out`, escaped as above when it is not valid UTF-8.
// Returns true when it had to escape.
bool append_json_text(std::string& out, std::string_view in);

} // namespace execmond
