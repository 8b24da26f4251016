// A line of output as spans of text with a tone each, rendered with or
// without colour and fitted to the terminal's width. The head (time, user,
// pids) and tail (cwd, container) stay whole; the body (the command line) is
// what gets cut, with an ellipsis, when the line is too long.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace execmon {

enum class Tone {
    plain,
    dim,    // time, headings, ancestors shown for context
    strong, // the program name
    root,   // uid 0
    pid,
    note,    // cwd, container, login user
    good,    // exit 0
    bad,     // failure exits, lost lines
    signal,  // killed by a signal
    heading, // column titles
};

struct Span {
    std::string text; // printable UTF-8 (already quoted/escaped)
    Tone tone = Tone::plain;
};

struct StyledLine {
    std::vector<Span> head;
    std::vector<Span> body;
    std::vector<Span> tail;

    StyledLine& add_head(std::string text, Tone tone = Tone::plain);
    StyledLine& add_body(std::string text, Tone tone = Tone::plain);
    StyledLine& add_tail(std::string text, Tone tone = Tone::plain);
};

// The SGR sequence of a tone ("" for plain).
std::string_view sgr(Tone tone);
// One line, without its '\n'. columns == 0: no limit (piped output).
std::string render(const StyledLine& line, size_t columns, bool colour);
// Spans alone, no fitting.
std::string render_spans(const std::vector<Span>& spans, bool colour);

} // namespace execmon
