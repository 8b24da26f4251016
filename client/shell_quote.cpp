#include "shell_quote.hpp"

#include "utf8.hpp"

namespace execmon {

namespace {

bool is_bare(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("_-./:,@%+=").find(static_cast<char>(c)) != std::string_view::npos;
}

// Characters a terminal would act on, or that hide or reorder text
// (bidirectional overrides, zero-width spaces): shown as their bytes.
bool needs_escape(char32_t c) {
    return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || (c >= 0x200b && c <= 0x200f) ||
           (c >= 0x2028 && c <= 0x202e) || (c >= 0x2060 && c <= 0x206f) || c == 0xfeff;
}

void append_hex(std::string& out, unsigned char b) {
    static const char digits[] = "0123456789abcdef";
    // Always two digits: $'\xffa' is \xff then 'a' in bash.
    out += "\\x";
    out += digits[b >> 4];
    out += digits[b & 0xf];
}

void append_escaped(std::string& out, std::string_view s, bool quote_escape) {
    for (size_t i = 0; i < s.size();) {
        CodePoint cp = decode_utf8(s, i);
        if (!cp.valid) {
            append_hex(out, static_cast<unsigned char>(s[i]));
            i += 1;
            continue;
        }
        switch (cp.value) {
        case '\n':
            out += "\\n";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\'':
            out += quote_escape ? "\\'" : "'";
            break;
        default:
            if (needs_escape(cp.value)) {
                // Bytes, not \uXXXX: bash turns \u into nothing useful outside a UTF-8 locale.
                for (size_t k = 0; k < cp.length; ++k)
                    append_hex(out, static_cast<unsigned char>(s[i + k]));
            } else {
                out.append(s.substr(i, cp.length));
            }
        }
        i += cp.length;
    }
}

std::string ansi_c_quote(std::string_view s) {
    std::string out = "$'";
    append_escaped(out, s, true);
    out += '\'';
    return out;
}

} // namespace

std::string shell_quote(std::string_view s) {
    if (s.empty())
        return "''";
    bool bare = s[0] != '=' && s[0] != '%'; // zsh expands a leading =; % starts a job spec
    bool escape = false;
    for (size_t i = 0; i < s.size();) {
        CodePoint cp = decode_utf8(s, i);
        if (!cp.valid || needs_escape(cp.value))
            escape = true;
        if (!cp.valid || cp.value >= 0x80 || !is_bare(static_cast<unsigned char>(cp.value)))
            bare = false;
        i += cp.length;
    }
    if (escape)
        return ansi_c_quote(s);
    if (bare)
        return std::string(s);
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    out += '\'';
    return out;
}

std::string printable(std::string_view s) {
    std::string out;
    append_escaped(out, s, false);
    return out;
}

std::string shell_join(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) {
        if (!out.empty())
            out += ' ';
        out += shell_quote(a);
    }
    return out;
}

} // namespace execmon
