// Reading members of a stream line without trusting its shape: a member
// that is absent or of another type reads as "not there", never throws.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace execmon {

// A non-negative integer member (signed or unsigned in nlohmann's terms).
inline std::optional<uint64_t> uint_of(const nlohmann::json& v) {
    if (v.is_number_unsigned())
        return v.get<uint64_t>();
    if (v.is_number_integer() && v.get<int64_t>() >= 0)
        return static_cast<uint64_t>(v.get<int64_t>());
    return std::nullopt;
}

inline std::optional<uint64_t> uint_member(const nlohmann::json& j, const char* name) {
    auto m = j.find(name);
    return m == j.end() ? std::nullopt : uint_of(*m);
}

inline std::string string_member(const nlohmann::json& j, const char* name) {
    auto m = j.find(name);
    return m != j.end() && m->is_string() ? m->get<std::string>() : "";
}

} // namespace execmon
