#include "shell_quote.hpp"

#include <catch2/catch_test_macros.hpp>

using namespace execmon;

TEST_CASE("safe words stay bare", "[quote]") {
    CHECK(shell_quote("ls") == "ls");
    CHECK(shell_quote("/usr/bin/env") == "/usr/bin/env");
    CHECK(shell_quote("--color=auto") == "--color=auto");
    CHECK(shell_quote("a,b:c@d%e+f") == "a,b:c@d%e+f");
}

TEST_CASE("an empty argument is ''", "[quote]") {
    CHECK(shell_quote("") == "''");
}

TEST_CASE("spaces and shell syntax are single-quoted", "[quote]") {
    CHECK(shell_quote("a b") == "'a b'");
    CHECK(shell_quote("$HOME") == "'$HOME'");
    CHECK(shell_quote("*.c") == "'*.c'");
    CHECK(shell_quote("a;b|c&d") == "'a;b|c&d'");
    CHECK(shell_quote("~") == "'~'");
    CHECK(shell_quote("#x") == "'#x'");
    CHECK(shell_quote("[REDACTED]") == "'[REDACTED]'");
    CHECK(shell_quote("=ls") == "'=ls'"); // zsh would expand a bare =ls
    CHECK(shell_quote("a\"b") == "'a\"b'");
    CHECK(shell_quote("back\\slash") == "'back\\slash'");
}

TEST_CASE("a single quote closes, escapes and reopens", "[quote]") {
    CHECK(shell_quote("it's") == "'it'\\''s'");
    CHECK(shell_quote("'") == "''\\'''");
}

TEST_CASE("printable UTF-8 is kept, quoted", "[quote]") {
    CHECK(shell_quote("héllo") == "'héllo'");
    CHECK(shell_quote("日本") == "'日本'");
}

TEST_CASE("newlines, tabs and control characters use $'...' escapes", "[quote]") {
    CHECK(shell_quote("a\nb") == "$'a\\nb'");
    CHECK(shell_quote("a\tb") == "$'a\\tb'");
    CHECK(shell_quote("\r") == "$'\\r'");
    CHECK(shell_quote("\x1b[31mred") == "$'\\x1b[31mred'"); // no terminal escape reaches the screen
    CHECK(shell_quote("\x7f") == "$'\\x7f'");
    CHECK(shell_quote("it's\n") == "$'it\\'s\\n'");
    CHECK(shell_quote("a\\b\n") == "$'a\\\\b\\n'");
}

TEST_CASE("bytes that are not UTF-8 become \\xNN, always two digits", "[quote]") {
    CHECK(shell_quote("\xff") == "$'\\xff'");
    CHECK(shell_quote("\xff"
                      "a") == "$'\\xffa'");
    CHECK(shell_quote("caf\xe9") == "$'caf\\xe9'");             // Latin-1 é
    CHECK(shell_quote("\xc3") == "$'\\xc3'");                   // a cut sequence
    CHECK(shell_quote("\xc0\xaf") == "$'\\xc0\\xaf'");          // overlong '/'
    CHECK(shell_quote("\xed\xa0\x80") == "$'\\xed\\xa0\\x80'"); // a surrogate
    CHECK(shell_quote("ok é \xff") == "$'ok é \\xff'");         // valid UTF-8 next to it stays readable
}

TEST_CASE("invisible and bidirectional Unicode controls are shown as bytes", "[quote]") {
    CHECK(shell_quote("a\u202eb") == "$'a\\xe2\\x80\\xaeb'"); // RIGHT-TO-LEFT OVERRIDE
    CHECK(shell_quote("\u200b") == "$'\\xe2\\x80\\x8b'");     // ZERO WIDTH SPACE
    CHECK(shell_quote("\u0085") == "$'\\xc2\\x85'");          // NEXT LINE (C1)
}

TEST_CASE("a command line joins its quoted words with spaces", "[quote]") {
    CHECK(shell_join({"/bin/echo", "a b", "it's", ""}) == "/bin/echo 'a b' 'it'\\''s' ''");
    CHECK(shell_join({}) == "");
}

TEST_CASE("printable() escapes without quoting", "[quote]") {
    CHECK(printable("tmux: server") == "tmux: server");
    CHECK(printable("a\nb\xff") == "a\\nb\\xff");
    CHECK(printable("it's") == "it's");
}
