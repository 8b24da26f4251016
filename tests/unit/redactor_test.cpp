// --redact's matcher: the syntax docs/protocol.md promises, raw bytes, and
// patterns RE2 refuses.
#include "redactor.hpp"

#include <catch2/catch_test_macros.hpp>

#include <chrono>
#include <stdexcept>
#include <string>

using namespace execmond;
using namespace std::string_view_literals;

TEST_CASE("redact patterns: ECMAScript-like syntax, matched anywhere in an element", "[redact]") {
    struct Case {
        const char* pattern;
        std::string_view arg;
        bool hit;
    };
    for (const Case& c : {
             Case{"^--password=", "--password=x", true},
             Case{"^--password=", "x--password=", false},
             Case{"secret", "my-secret-file", true},
             Case{"token$", "a-token", true},
             Case{"token$", "token-a", false},
             Case{"^(AKIA|ghp_)[A-Za-z0-9]+", "ghp_abc123", true},
             Case{"\\d{4}-\\d{4}", "card 1234-5678", true},
             Case{"\\d{4}-\\d{4}", "card 123-5678", false},
             Case{"(?i)PassWord", "mypassword", true},
             Case{"\\bkey\\b", "a key here", true},
             Case{"\\bkey\\b", "monkeys", false},
             Case{"a.*?b", "a--b", true},
             Case{"[[:digit:]]", "x9", true},
             Case{"^$", "", true},
             // Bytes, not characters: any byte is matched as itself.
             Case{"\\xff", "bad\xff", true},
             Case{"caf\xc3\xa9", "un caf\xc3\xa9", true},
             Case{"^.{3}$", "\xc3\xa9x", true},
         }) {
        CAPTURE(c.pattern, c.arg);
        CHECK(Redactor({c.pattern}).matches(c.arg) == c.hit);
    }
    // Several patterns: any one matching is enough.
    Redactor two({"^--token=", "secret"});
    CHECK(two.matches("--token=1"));
    CHECK(two.matches("a-secret"));
    CHECK_FALSE(two.matches("public"));
    CHECK(Redactor({}).empty());
}

TEST_CASE("redact patterns RE2 refuses are named with the reason", "[redact]") {
    CHECK(Redactor::error_of("(unclosed") != "");
    CHECK(Redactor::error_of("(a)\\1") != ""); // backreferences: not linear
    CHECK(Redactor::error_of("a(?=b)") != ""); // lookahead: not linear
    CHECK(Redactor::error_of("^--password=") == "");
    CHECK_THROWS_AS(Redactor({"ok", "(bad"}), std::invalid_argument);
}

TEST_CASE("a hostile element costs time linear in its bytes, matched up to the bound", "[redact]") {
    Redactor r({".*secret", "(a|aa)*b", "(x+x+)+y"});
    const std::string hostile(Redactor::max_bytes, 'a');
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i)
        CHECK_FALSE(r.matches(hostile));
    auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    // A backtracking engine needs seconds here; the figure is a bench's, the bound generous.
    WARN("20 matches of 3 hostile patterns on " << Redactor::max_bytes << " bytes: " << us << " us");
    CHECK(us < 200'000);
    CHECK(r.matches(std::string(100, 'a') + "secret"));
    // Past the bound (the kernel keeps 8 KiB of argument area, so not reached today).
    CHECK_FALSE(r.matches(hostile + "secret"));
}
