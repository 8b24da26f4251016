#include "log.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>
#include <vector>

namespace execmond::log {
namespace {

bool g_journal = false;
Priority g_max = Priority::info;

// systemd sets JOURNAL_STREAM=dev:ino for a stderr connected to journald.
bool stderr_is_journal() {
    const char* env = std::getenv("JOURNAL_STREAM");
    struct stat st {};
    if (env == nullptr || fstat(STDERR_FILENO, &st) != 0)
        return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(env, "%llu:%llu", &dev, &ino) != 2)
        return false;
    return dev == st.st_dev && ino == st.st_ino;
}

} // namespace

void init(Target target, Priority max_priority) {
    g_max = max_priority;
    g_journal = target == Target::journal || (target == Target::automatic && stderr_is_journal());
}

bool to_journal() {
    return g_journal;
}

void write(Priority p, std::string_view message, std::initializer_list<Field> fields) {
    if (static_cast<int>(p) > static_cast<int>(g_max))
        return;
    if (g_journal) {
        std::vector<std::string> items;
        items.reserve(fields.size() + 3);
        items.push_back("MESSAGE=" + std::string(message));
        items.push_back("PRIORITY=" + std::to_string(static_cast<int>(p)));
        items.emplace_back("SYSLOG_IDENTIFIER=execmond");
        for (const auto& [key, value] : fields)
            items.push_back(std::string(key) + "=" + value);
        std::vector<iovec> iov;
        iov.reserve(items.size());
        for (auto& s : items)
            iov.push_back({s.data(), s.size()});
        if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0)
            return;
    }
    // Priority prefixes for journald and other log collectors; plain on a terminal.
    static const bool tty = isatty(STDERR_FILENO) == 1;
    std::string line = tty ? "execmond: " : "<" + std::to_string(static_cast<int>(p)) + ">execmond: ";
    line.append(message);
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stderr);
}

std::optional<Priority> parse_priority(std::string_view name) {
    if (name == "err" || name == "error")
        return Priority::err;
    if (name == "warning")
        return Priority::warning;
    if (name == "notice")
        return Priority::notice;
    if (name == "info")
        return Priority::info;
    if (name == "debug")
        return Priority::debug;
    return std::nullopt;
}

} // namespace execmond::log
