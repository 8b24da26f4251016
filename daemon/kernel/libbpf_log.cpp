#include "libbpf_log.hpp"

#include "log.hpp"

#include <bpf/libbpf.h>
#include <cstdarg>
#include <cstdio>
#include <deque>

namespace execmond::libbpf_log {
namespace {

constexpr size_t kept_warnings = 8;
// What libbpf starts its own messages with; we add ours.
constexpr std::string_view libbpf_prefix = "libbpf: ";

std::deque<std::string> g_warnings;
std::optional<VerifierLog> g_verifier_log;

// The whole message, however long: a verifier log is one message of up to
// megabytes, and its useful part is the end.
std::string format(const char* fmt, va_list args) {
    va_list again;
    va_copy(again, args);
    char small[512];
    int n = std::vsnprintf(small, sizeof(small), fmt, args);
    std::string out;
    if (n < 0) {
        va_end(again);
        return out;
    }
    if (static_cast<size_t>(n) < sizeof(small)) {
        out.assign(small, static_cast<size_t>(n));
    } else {
        out.resize(static_cast<size_t>(n) + 1);
        std::vsnprintf(out.data(), out.size(), fmt, again);
        out.resize(static_cast<size_t>(n));
    }
    va_end(again);
    return out;
}

int print(libbpf_print_level level, const char* fmt, va_list args) {
    std::string message = format(fmt, args);
    while (!message.empty() && message.back() == '\n')
        message.pop_back();
    // libbpf's own prefix: we add ours.
    if (message.starts_with(libbpf_prefix))
        message.erase(0, libbpf_prefix.size());
    if (message.empty())
        return 0;
    if (level != LIBBPF_DEBUG) {
        if (auto v = parse_verifier_log(message)) {
            g_verifier_log = std::move(v);
        } else {
            g_warnings.push_back(message);
            if (g_warnings.size() > kept_warnings)
                g_warnings.pop_front();
        }
    }
    log::debug("libbpf: " + message);
    return 0;
}

} // namespace

void install() {
    libbpf_set_print(print);
}

void clear() {
    g_warnings.clear();
    g_verifier_log.reset();
}

std::optional<VerifierLog> last_verifier_log() {
    return g_verifier_log;
}

std::vector<std::string> warnings() {
    return {g_warnings.begin(), g_warnings.end()};
}

std::optional<VerifierLog> parse_verifier_log(std::string_view message) {
    constexpr std::string_view prefix = "prog '";
    constexpr std::string_view begin = "': -- BEGIN PROG LOAD LOG --\n";
    constexpr std::string_view end = "-- END PROG LOAD LOG --";
    if (message.starts_with(libbpf_prefix))
        message.remove_prefix(libbpf_prefix.size());
    if (!message.starts_with(prefix))
        return std::nullopt;
    size_t name_end = message.find(begin, prefix.size());
    if (name_end == std::string_view::npos)
        return std::nullopt;
    VerifierLog v;
    v.program = message.substr(prefix.size(), name_end - prefix.size());
    std::string_view text = message.substr(name_end + begin.size());
    if (size_t at = text.rfind(end); at != std::string_view::npos)
        text = text.substr(0, at);
    v.text = text;
    return v;
}

std::vector<std::string> tail_lines(std::string_view text, size_t n) {
    std::deque<std::string_view> lines;
    while (!text.empty() && n > 0) {
        size_t eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
        if (line.empty())
            continue;
        lines.push_back(line);
        if (lines.size() > n)
            lines.pop_front();
    }
    return {lines.begin(), lines.end()};
}

} // namespace execmond::libbpf_log
