// --redact: which argv elements are masked before a line leaves the daemon.
// RE2 (linear time in the bytes matched, no backtracking), since any local
// user chooses the argv it is run on, on the event loop's thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
} // namespace re2

namespace execmond {

class Redactor {
public:
    // Bytes of one element that are matched: the kernel records at most
    // 8 KiB of argument area (EXECMOND_ARGS_MAX), so today that is all of it.
    static constexpr size_t max_bytes = 8192;

    // Throws std::invalid_argument naming the first pattern RE2 refuses.
    explicit Redactor(const std::vector<std::string>& patterns);
    ~Redactor();
    Redactor(Redactor&&) noexcept;
    Redactor& operator=(Redactor&&) noexcept;

    // Why RE2 refuses the pattern ("" if it accepts it), for option parsing.
    static std::string error_of(const std::string& pattern);

    bool empty() const { return patterns_.empty(); }
    // Does any pattern match anywhere in the element's raw bytes?
    bool matches(std::string_view arg) const;

private:
    std::vector<std::unique_ptr<re2::RE2>> patterns_;
};

} // namespace execmond
