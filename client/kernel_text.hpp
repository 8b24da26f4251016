// The daemon sends kernel strings that are not UTF-8 escaped (every invalid
// byte as the four characters \xNN, every backslash doubled) and flags them
// (comm_escaped, filename_escaped, argv_escaped). This undoes that, giving
// back the bytes the kernel had, so that they can be quoted faithfully.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace execmon {

std::string unescape_kernel_text(std::string_view escaped);

// The line's argv as bytes (elements listed in argv_escaped unescaped).
std::vector<std::string> argv_bytes(const nlohmann::json& line);
// A string member as bytes ("" if absent), unescaped when <name>_escaped.
std::string member_bytes(const nlohmann::json& line, const char* name);

} // namespace execmon
