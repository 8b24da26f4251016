// What standard output is: a terminal (colour, a width to fit lines to) or
// a pipe or file (no colour, whole lines).
#pragma once

#include "options.hpp"

#include <cstddef>
#include <string>

namespace execmon {

// Colour when asked, or (auto) on a terminal unless NO_COLOR is set to
// anything non-empty (no-color.org) or TERM is dumb.
bool use_colour(ColourMode mode, bool is_tty, const char* no_color_env, const char* term_env);

// Writes what the views produce to standard output.
class Output {
public:
    explicit Output(const Options& options);

    bool colour() const { return colour_; }
    bool tty() const { return tty_; }
    // The width to fit lines to: the terminal's (asked again each time, so a
    // resize takes effect at once); 0 when piped or with --wide.
    size_t columns() const;

    void line(const std::string& text) {
        buf_ += text;
        buf_ += '\n';
    }
    // Writes out what is buffered (after each batch of lines read).
    void flush();

private:
    bool tty_;
    bool colour_;
    bool wide_;
    std::string buf_;
};

} // namespace execmon
