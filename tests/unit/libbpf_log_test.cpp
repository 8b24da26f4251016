#include "libbpf_log.hpp"

#include <catch2/catch_test_macros.hpp>

using namespace execmond::libbpf_log;

TEST_CASE("a verifier log message gives its program and its whole text", "[libbpf_log]") {
    std::string body;
    for (int i = 0; i < 5000; ++i)
        body += std::to_string(i) + ": (b7) r1 = 0\n";
    body += "BPF_STX uses reserved fields\nprocessed 12 insns\n";
    auto v =
        parse_verifier_log("prog 'exec_btf': -- BEGIN PROG LOAD LOG --\n" + body + "-- END PROG LOAD LOG --");
    REQUIRE(v);
    CHECK(v->program == "exec_btf");
    CHECK(v->text == body);
    // The failing instruction is at the end, past the first kilobytes.
    auto tail = tail_lines(v->text, 2);
    REQUIRE(tail.size() == 2);
    CHECK(tail[0] == "BPF_STX uses reserved fields");
    CHECK(tail[1] == "processed 12 insns");
}

TEST_CASE("a verifier log is found under libbpf's own prefix too", "[libbpf_log]") {
    auto v = parse_verifier_log("libbpf: prog 'exit_btf': -- BEGIN PROG LOAD LOG --\nR7 unbounded memory "
                                "access\n-- END PROG LOAD LOG --\n");
    REQUIRE(v);
    CHECK(v->program == "exit_btf");
    CHECK(v->text == "R7 unbounded memory access\n");
}

TEST_CASE("other libbpf messages are not verifier logs", "[libbpf_log]") {
    CHECK_FALSE(parse_verifier_log("prog 'exec_btf': BPF program load failed: Invalid argument"));
    CHECK_FALSE(parse_verifier_log("libbpf: failed to find valid kernel BTF"));
}

TEST_CASE("tail_lines keeps the last non-empty lines in order", "[libbpf_log]") {
    CHECK(tail_lines("a\n\nb\nc\n", 2) == std::vector<std::string>{"b", "c"});
    CHECK(tail_lines("a", 5) == std::vector<std::string>{"a"});
    CHECK(tail_lines("", 3).empty());
}
