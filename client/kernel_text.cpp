#include "kernel_text.hpp"

#include "json_fields.hpp"

#include <set>

namespace execmon {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

} // namespace

std::string unescape_kernel_text(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '\\' && i + 1 < in.size()) {
            if (in[i + 1] == '\\') {
                out += '\\';
                ++i;
                continue;
            }
            if (in[i + 1] == 'x' && i + 3 < in.size()) {
                int hi = hex_digit(in[i + 2]), lo = hex_digit(in[i + 3]);
                if (hi >= 0 && lo >= 0) {
                    out += static_cast<char>(hi * 16 + lo);
                    i += 3;
                    continue;
                }
            }
        }
        // Not an escape the daemon writes: keep it as it came.
        out += in[i];
    }
    return out;
}

std::vector<std::string> argv_bytes(const nlohmann::json& line) {
    std::vector<std::string> out;
    auto argv = line.find("argv");
    if (argv == line.end() || !argv->is_array())
        return out;
    std::set<size_t> escaped;
    if (auto e = line.find("argv_escaped"); e != line.end() && e->is_array())
        for (const auto& i : *e)
            if (auto n = uint_of(i))
                escaped.insert(static_cast<size_t>(*n));
    for (size_t i = 0; i < argv->size(); ++i) {
        const auto& a = (*argv)[i];
        std::string s = a.is_string() ? a.get<std::string>() : a.dump();
        out.push_back(escaped.count(i) ? unescape_kernel_text(s) : std::move(s));
    }
    return out;
}

std::string member_bytes(const nlohmann::json& line, const char* name) {
    auto m = line.find(name);
    if (m == line.end() || !m->is_string())
        return "";
    std::string s = m->get<std::string>();
    auto flag = line.find(std::string(name) + "_escaped");
    if (flag != line.end() && flag->is_boolean() && flag->get<bool>())
        return unescape_kernel_text(s);
    return s;
}

} // namespace execmon
