// JsonWriter writes its own escapes and numbers: every byte must equal what
// nlohmann/json (an independent implementation) dumps for the same document.
#include "json_writer.hpp"

#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>
#include <random>

using namespace execmond;
using ojson = nlohmann::ordered_json;

namespace {

std::string nlohmann_dump(const ojson& j) {
    return j.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

std::string written_string(std::string_view s) {
    JsonWriter w;
    w.clear();
    w.string(s);
    return std::string(w.str());
}

// Strings over an alphabet that hits every escaping rule, word boundaries included.
std::vector<std::string> strings_to_try() {
    std::vector<std::string> out = {"",
                                    "a",
                                    "plain ascii of more than eight bytes",
                                    "\"",
                                    "\\",
                                    "\x7f",
                                    "tab\there",
                                    "nl\nand cr\r",
                                    std::string("nul\0in", 6),
                                    "\x01\x1f",
                                    "caf\xc3\xa9",
                                    "\xe2\x82\xac\xf0\x9f\x98\x80",
                                    "12345678\"12345678"};
    const std::string alphabet[] = {"a",    "Z", "\"",   "\\",       "\n",           "\x01",
                                    "\x1f", " ", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    std::mt19937 rng(7);
    for (int n = 0; n < 2000; ++n) {
        std::string s;
        size_t len = rng() % 40;
        for (size_t i = 0; i < len; ++i)
            s += alphabet[rng() % std::size(alphabet)];
        out.push_back(s);
    }
    return out;
}

} // namespace

TEST_CASE("strings are escaped byte for byte as nlohmann/json does", "[json_writer]") {
    for (const std::string& s : strings_to_try()) {
        INFO(nlohmann_dump(ojson(s)));
        CHECK(written_string(s) == nlohmann_dump(ojson(s)));
    }
}

TEST_CASE("a string that is not UTF-8 gets nlohmann's replacement character", "[json_writer]") {
    for (std::string s :
         {"\xff", "abc\xc3", "12345678\xe2\x82", "\xed\xa0\x80 surrogate", "\xc0\xaf overlong"}) {
        INFO(s);
        CHECK(written_string(s) == nlohmann_dump(ojson(s)));
    }
}

TEST_CASE("kernel text that is UTF-8 is written as is; other bytes are flagged", "[json_writer]") {
    JsonWriter w;
    w.clear();
    w.begin_array();
    CHECK_FALSE(w.text("caf\xc3\xa9 \"quoted\" back\\slash"));
    CHECK(w.text("bad \xff byte"));
    w.end_array();
    auto parsed = ojson::parse(w.str());
    CHECK(parsed[0] == "caf\xc3\xa9 \"quoted\" back\\slash");
    CHECK(parsed[1] == "bad \\xff byte");
}

TEST_CASE("numbers, booleans, null and nesting match nlohmann's dump", "[json_writer]") {
    JsonWriter w;
    JsonKey a("a"), b("b\"key"), c("c");
    for (int round = 0; round < 2; ++round) { // a reused writer starts clean
        w.clear();
        w.begin_object();
        w.key(a);
        w.value(uint64_t{18446744073709551615ull});
        w.key(b);
        w.begin_array();
        w.value(uint32_t{0});
        w.value(true);
        w.value(false);
        w.null();
        w.begin_object();
        w.end_object();
        w.begin_array();
        w.end_array();
        w.end_array();
        w.key(c);
        w.string("x");
        w.end_object();
        ojson expect;
        expect["a"] = 18446744073709551615ull;
        expect["b\"key"] = ojson::array({0, true, false, nullptr, ojson::object(), ojson::array()});
        expect["c"] = "x";
        CHECK(std::string(w.str()) == nlohmann_dump(expect));
    }
}

TEST_CASE("a document larger than the initial buffer is written whole", "[json_writer]") {
    JsonWriter w;
    w.clear();
    w.begin_array();
    std::string big(100000, 'x');
    big[50000] = '\n';
    w.string(big);
    w.end_array();
    CHECK(std::string(w.str()) == nlohmann_dump(ojson::array({big})));
}
