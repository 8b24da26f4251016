// Command lines a person can copy from the terminal and run again: each
// argument quoted so that bash (and zsh, ksh) read back exactly its bytes,
// and so that nothing in it can move the cursor, recolour the terminal or
// split the line (control characters, invalid UTF-8 and invisible Unicode
// formatting characters are written as $'\xNN' escapes).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace execmon {

// One word: bare when only safe characters, else '...', else $'...'.
std::string shell_quote(std::string_view bytes);
// The words joined by single spaces.
std::string shell_join(const std::vector<std::string>& argv);

} // namespace execmon

namespace execmon {

// For names shown as text rather than as a command (comm, a tree's
// ancestors): unquoted, with the same escapes as $'...' for what a terminal
// would act on or what is not UTF-8 (a backslash is doubled).
std::string printable(std::string_view bytes);

} // namespace execmon
