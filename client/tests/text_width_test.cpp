#include "styled_line.hpp"
#include "text_width.hpp"

#include <catch2/catch_test_macros.hpp>

using namespace execmon;

TEST_CASE("display width counts columns, not bytes", "[width]") {
    CHECK(display_width("abc") == 3);
    CHECK(display_width("héllo") == 5);
    CHECK(display_width("日本") == 4);
    CHECK(display_width("e\u0301") == 1); // e + combining acute
    CHECK(display_width(ellipsis) == 1);
    CHECK(display_width("") == 0);
}

TEST_CASE("fit_prefix never splits a character", "[width]") {
    CHECK(fit_prefix("abcdef", 3) == "abc");
    CHECK(fit_prefix("日本語", 3) == "日");
    CHECK(fit_prefix("日本語", 4) == "日本");
    CHECK(fit_prefix("e\u0301x", 1) == "e\u0301");
    CHECK(fit_prefix("ab", 10) == "ab");
}

namespace {

StyledLine sample() {
    StyledLine l;
    l.add_head("10:00:00.000 root ");
    l.add_body("/bin/echo", Tone::strong).add_body(" aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    l.add_tail("  cwd=/root");
    return l;
}

} // namespace

TEST_CASE("piped output is whole, however long", "[width]") {
    std::string whole = render(sample(), 0, false);
    CHECK(whole == "10:00:00.000 root /bin/echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa  cwd=/root");
}

TEST_CASE("a line that fits is not touched", "[width]") {
    std::string whole = render(sample(), 0, false);
    CHECK(render(sample(), display_width(whole), false) == whole);
}

TEST_CASE("a long command is cut with an ellipsis to the width, keeping head and tail", "[width]") {
    for (size_t columns : {50u, 60u, 72u}) {
        std::string cut = render(sample(), columns, false);
        CAPTURE(columns, cut);
        CHECK(display_width(cut) == columns);
        CHECK(cut.rfind("10:00:00.000 root /bin/echo", 0) == 0);
        CHECK(cut.find(std::string(ellipsis) + "  cwd=/root") != std::string::npos);
    }
}

TEST_CASE("on a narrow terminal the tail gives way to the command", "[width]") {
    std::string cut = render(sample(), 30, false);
    CHECK(display_width(cut) == 30);
    CHECK(cut.find("cwd") == std::string::npos);
    CHECK(cut.substr(cut.size() - ellipsis.size()) == ellipsis);
}

TEST_CASE("colour codes do not count as columns and always close", "[width]") {
    std::string cut = render(sample(), 40, true);
    CHECK(cut.find("\x1b[1m/bin/echo\x1b[0m") != std::string::npos);
    std::string plain;
    for (size_t i = 0; i < cut.size(); ++i) {
        if (cut[i] == '\x1b') {
            i = cut.find('m', i);
            continue;
        }
        plain += cut[i];
    }
    CHECK(display_width(plain) == 40);
}

TEST_CASE("without colour, no escape sequence is written", "[width]") {
    CHECK(render(sample(), 40, false).find('\x1b') == std::string::npos);
}

TEST_CASE("cutting wide characters does not overflow the width", "[width]") {
    StyledLine l;
    l.add_head("x ");
    l.add_body("日本語日本語日本語");
    std::string cut = render(l, 8, false);
    CHECK(display_width(cut) <= 8);
    CHECK(cut == "x 日本" + std::string(ellipsis));
}
