#include "terminal.hpp"

#include "connection.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <sys/ioctl.h>
#include <unistd.h>

namespace execmon {

bool use_colour(ColourMode mode, bool is_tty, const char* no_color_env, const char* term_env) {
    if (mode == ColourMode::always)
        return true;
    if (mode == ColourMode::never || !is_tty)
        return false;
    if (no_color_env && *no_color_env)
        return false;
    return !(term_env && std::string_view(term_env) == "dumb");
}

Output::Output(const Options& options)
    : tty_(isatty(STDOUT_FILENO) == 1),
      colour_(use_colour(options.colour, tty_, std::getenv("NO_COLOR"), std::getenv("TERM"))),
      wide_(options.wide) {}

size_t Output::columns() const {
    if (!tty_ || wide_)
        return 0;
    winsize ws{};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    if (const char* c = std::getenv("COLUMNS"))
        if (long n = std::strtol(c, nullptr, 10); n > 0)
            return static_cast<size_t>(n);
    return 80;
}

void Output::flush() {
    size_t done = 0;
    while (done < buf_.size()) {
        ssize_t n = ::write(STDOUT_FILENO, buf_.data() + done, buf_.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            buf_.clear();
            if (errno == EPIPE)
                std::exit(0); // the reader went away (| head): nothing left to do
            throw ClientError(std::string("write to standard output: ") + std::strerror(errno));
        }
        done += static_cast<size_t>(n);
    }
    buf_.clear();
}

} // namespace execmon
