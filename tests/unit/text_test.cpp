#include "text.hpp"

#include <catch2/catch_test_macros.hpp>

using namespace execmond;

TEST_CASE("valid UTF-8 passes through unchanged", "[text]") {
    std::string out;
    CHECK_FALSE(append_json_text(out, "héllo wörld ✓ 🚀 back\\slash"));
    CHECK(out == "héllo wörld ✓ 🚀 back\\slash");
}

TEST_CASE("invalid bytes become \\xNN and backslashes double, so bytes are recoverable", "[text]") {
    std::string out;
    CHECK(append_json_text(out, std::string_view("a\xff\\b\xc3", 5)));
    CHECK(out == "a\\xff\\\\b\\xc3");
}

TEST_CASE("overlong encodings and surrogates are not valid UTF-8", "[text]") {
    CHECK_FALSE(is_valid_utf8("\xc0\xaf"));         // overlong '/'
    CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));     // U+D800
    CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80")); // above U+10FFFF
    CHECK(is_valid_utf8("\xf4\x8f\xbf\xbf"));       // U+10FFFF
    CHECK(is_valid_utf8(""));
}
