#include "styled_line.hpp"

#include "text_width.hpp"

namespace execmon {

namespace {

constexpr size_t min_body_columns = 16; // below this, the tail gives way to the command

size_t width_of(const std::vector<Span>& spans) {
    size_t w = 0;
    for (const auto& s : spans)
        w += display_width(s.text);
    return w;
}

// The spans cut to `columns`, the last one ending in an ellipsis if anything was cut.
std::vector<Span> cut(const std::vector<Span>& spans, size_t columns) {
    if (width_of(spans) <= columns)
        return spans;
    std::vector<Span> out;
    if (columns == 0)
        return out;
    size_t room = columns - 1; // the ellipsis
    for (const auto& s : spans) {
        size_t w = display_width(s.text);
        if (w <= room) {
            out.push_back(s);
            room -= w;
            continue;
        }
        out.push_back({std::string(fit_prefix(s.text, room)) + std::string(ellipsis), s.tone});
        break;
    }
    return out;
}

void append(std::string& out, const Span& s, bool colour) {
    std::string_view code = colour ? sgr(s.tone) : "";
    if (code.empty()) {
        out += s.text;
        return;
    }
    out += code;
    out += s.text;
    out += "\x1b[0m";
}

} // namespace

StyledLine& StyledLine::add_head(std::string text, Tone tone) {
    head.push_back({std::move(text), tone});
    return *this;
}
StyledLine& StyledLine::add_body(std::string text, Tone tone) {
    body.push_back({std::move(text), tone});
    return *this;
}
StyledLine& StyledLine::add_tail(std::string text, Tone tone) {
    tail.push_back({std::move(text), tone});
    return *this;
}

std::string_view sgr(Tone tone) {
    switch (tone) {
    case Tone::plain:
        return "";
    case Tone::dim:
        return "\x1b[2m";
    case Tone::strong:
        return "\x1b[1m";
    case Tone::root:
        return "\x1b[31m";
    case Tone::pid:
        return "\x1b[36m";
    case Tone::note:
        return "\x1b[34m";
    case Tone::good:
        return "\x1b[32m";
    case Tone::bad:
        return "\x1b[1;31m";
    case Tone::signal:
        return "\x1b[35m";
    case Tone::heading:
        return "\x1b[1;4m";
    }
    return "";
}

std::string render_spans(const std::vector<Span>& spans, bool colour) {
    std::string out;
    for (const auto& s : spans)
        append(out, s, colour);
    return out;
}

std::string render(const StyledLine& line, size_t columns, bool colour) {
    std::vector<Span> spans;
    if (columns == 0) {
        spans = line.head;
        spans.insert(spans.end(), line.body.begin(), line.body.end());
        spans.insert(spans.end(), line.tail.begin(), line.tail.end());
        return render_spans(spans, colour);
    }
    size_t head = width_of(line.head), body = width_of(line.body), tail = width_of(line.tail);
    if (head + body + tail <= columns) {
        return render(line, 0, colour);
    }
    spans = cut(line.head, columns);
    size_t left = columns > head ? columns - head : 0;
    bool keep_tail = left >= tail + min_body_columns || (body == 0 && tail <= left);
    size_t body_room = keep_tail ? left - tail : left;
    auto b = cut(line.body, body_room);
    spans.insert(spans.end(), b.begin(), b.end());
    if (keep_tail)
        spans.insert(spans.end(), line.tail.begin(), line.tail.end());
    return render_spans(spans, colour);
}

} // namespace execmon
