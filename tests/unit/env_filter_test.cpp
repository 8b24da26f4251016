#include "env_filter.hpp"

#include <catch2/catch_test_macros.hpp>
#include <string>

using namespace execmond;
using namespace std::string_view_literals;

namespace {
std::string value_of(const EnvKept& k, std::string_view name) {
    for (size_t i = 0; i < k.count; ++i)
        if (k.entries[i].name == name)
            return std::string(k.entries[i].value);
    return "(absent)";
}
} // namespace

TEST_CASE("only allowlisted names are kept, matched whole, first occurrence wins", "[env]") {
    auto area = "PATH=/bin\0LD_PRELOAD_X=no\0LD_PRELOAD=/x.so\0EMPTY=\0SECRET=pw\0LD_PRELOAD=/second.so\0"sv;
    auto k = filter_env(area, false, {"LD_PRELOAD", "EMPTY", "MISSING", "LD"});
    CHECK(k.count == 2);
    CHECK(value_of(k, "LD_PRELOAD") == "/x.so"); // not LD_PRELOAD_X, not the second one
    CHECK(value_of(k, "EMPTY").empty());
    CHECK(value_of(k, "MISSING") == "(absent)");
    CHECK(value_of(k, "LD") == "(absent)"); // a prefix of a name is not that name
    CHECK(value_of(k, "SECRET") == "(absent)");
    CHECK_FALSE(k.truncated);
    CHECK(filter_env(area, false, {}).count == 0);
}

TEST_CASE("values are kept up to 2 KiB in all, the rest cut and flagged", "[env]") {
    std::string big(1500, 'a'), area = "A=" + big + '\0' + "B=" + big + '\0' + "C=c" + '\0';
    auto k = filter_env(area, false, {"A", "B", "C"});
    CHECK(value_of(k, "A") == big);
    CHECK(value_of(k, "B") == std::string(env_values_max - 1500, 'a'));
    CHECK(value_of(k, "C").empty());
    CHECK(k.truncated);
}

TEST_CASE("an area the probe cut flags the result, and its last fragment is kept as far as it goes",
          "[env]") {
    auto k = filter_env("A=1\0B=23"sv, true, {"B"});
    CHECK(value_of(k, "B") == "23");
    CHECK(k.truncated);
    CHECK(filter_env("A=1\0"sv, true, {"Z"}).truncated); // Z may have been in the part not copied
    CHECK_FALSE(filter_env("A=1\0B=2"sv, false, {"B"}).truncated);
}

TEST_CASE("--env names: no '=', spaces or control characters, at most 128 bytes", "[env]") {
    CHECK(env_name_error("LD_PRELOAD").empty());
    CHECK(env_name_error("").find("cannot be empty") != std::string::npos);
    CHECK(env_name_error("A=B").find("is not an environment variable name") != std::string::npos);
    CHECK(env_name_error("A B").find("is not an environment variable name") != std::string::npos);
    CHECK(env_name_error(std::string(129, 'N')).find("longer than 128") != std::string::npos);
}
