// libbpf's messages, kept whole: debug lines go to the log at debug level,
// and a program the verifier rejects leaves its verifier log here so that its
// tail (where the failing instruction is) can be reported at error level.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace execmond::libbpf_log {

// Routes libbpf's print callback here (idempotent).
void install();
// Forgets what earlier loads left.
void clear();

struct VerifierLog {
    std::string program;
    std::string text;
};
// The last verifier log libbpf printed for a program that failed to load.
std::optional<VerifierLog> last_verifier_log();
// libbpf's last warnings (one line each, verifier logs left out), oldest first.
std::vector<std::string> warnings();

// Parses one libbpf message of the form "[libbpf: ]prog 'NAME': -- BEGIN PROG
// LOAD LOG --\n...-- END PROG LOAD LOG --\n" (libbpf 1.x's pr_warn format).
std::optional<VerifierLog> parse_verifier_log(std::string_view message);
// The last `n` non-empty lines of `text`.
std::vector<std::string> tail_lines(std::string_view text, size_t n);

} // namespace execmond::libbpf_log
