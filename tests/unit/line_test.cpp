#include "line.hpp"

#include <catch2/catch_test_macros.hpp>

#include <cstdint>

using namespace execmond;

TEST_CASE("a shared line holds its text and tail, whatever their lengths", "[line]") {
    // Every length around the 8-byte words the text is stored in.
    for (size_t n = 0; n < 40; ++n) {
        std::string text(n, 'a');
        for (size_t i = 0; i < n; ++i)
            text[i] = static_cast<char>('a' + i % 26);
        Line line = share(text, "\n");
        REQUIRE(line->size() == n + 1);
        REQUIRE(line->view() == text + "\n");
        REQUIRE(reinterpret_cast<uintptr_t>(line.get()) % alignof(uint64_t) == 0);
    }
    Line empty = share("");
    REQUIRE(empty->empty());
    REQUIRE(empty->view().empty());
    Line copy = empty;
    REQUIRE(copy.use_count() == 2);
}
