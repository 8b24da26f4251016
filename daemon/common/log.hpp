// Logging to the journal (structured fields) or to stderr with the <N>
// priority prefixes journald and systemd understand.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace execmond::log {

enum class Priority { err = 3, warning = 4, notice = 5, info = 6, debug = 7 };
enum class Target { automatic, journal, stderr_ };

using Field = std::pair<std::string_view, std::string>;

// Journal when asked, or when `automatic` and stderr is connected to the journal.
void init(Target target, Priority max_priority);
bool to_journal();

void write(Priority p, std::string_view message, std::initializer_list<Field> fields = {});

inline void error(std::string_view m, std::initializer_list<Field> f = {}) {
    write(Priority::err, m, f);
}
inline void warning(std::string_view m, std::initializer_list<Field> f = {}) {
    write(Priority::warning, m, f);
}
inline void notice(std::string_view m, std::initializer_list<Field> f = {}) {
    write(Priority::notice, m, f);
}
inline void info(std::string_view m, std::initializer_list<Field> f = {}) {
    write(Priority::info, m, f);
}
inline void debug(std::string_view m, std::initializer_list<Field> f = {}) {
    write(Priority::debug, m, f);
}

std::optional<Priority> parse_priority(std::string_view name);

} // namespace execmond::log
