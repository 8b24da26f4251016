#include "redactor.hpp"

#include <re2/re2.h>
#include <stdexcept>

namespace execmond {
namespace {

re2::RE2::Options options() {
    re2::RE2::Options o;
    // Bytes, as the kernel hands them over: "." is any byte but '\n' and
    // invalid UTF-8 cannot make a pattern skip an element.
    o.set_encoding(re2::RE2::Options::EncodingLatin1);
    o.set_never_capture(true); // only "does it match", never where
    o.set_log_errors(false);
    return o;
}

std::unique_ptr<re2::RE2> compile(const std::string& pattern) {
    return std::make_unique<re2::RE2>(pattern, options());
}

} // namespace

Redactor::Redactor(const std::vector<std::string>& patterns) {
    for (const auto& p : patterns) {
        auto re = compile(p);
        if (!re->ok())
            throw std::invalid_argument("'" + p + "' is not a valid regular expression: " + re->error());
        patterns_.push_back(std::move(re));
    }
}

Redactor::~Redactor() = default;
Redactor::Redactor(Redactor&&) noexcept = default;
Redactor& Redactor::operator=(Redactor&&) noexcept = default;

std::string Redactor::error_of(const std::string& pattern) {
    auto re = compile(pattern);
    return re->ok() ? std::string() : re->error();
}

bool Redactor::matches(std::string_view arg) const {
    re2::StringPiece text(arg.data(), std::min(arg.size(), max_bytes));
    for (const auto& re : patterns_)
        if (re2::RE2::PartialMatch(text, *re))
            return true;
    return false;
}

} // namespace execmond
