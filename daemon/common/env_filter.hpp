// --env NAME: the allowlisted variables of an exec's environment area. The
// probes copy the area (bpf/env.bpf.h); the decoder runs this at once and
// keeps views of the allowed entries only, so nothing after it (table,
// encoder, clients, logs) ever sees the rest of the environment.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace execmond {

inline constexpr size_t env_names_max = 16;    // --env given at most this often
inline constexpr size_t env_name_max = 128;    // bytes of one name
inline constexpr size_t env_values_max = 2048; // bytes of values kept per exec

struct EnvEntry {
    std::string_view name;
    std::string_view value; // cut to what was left of env_values_max
};

struct EnvKept {
    std::array<EnvEntry, env_names_max> entries{};
    size_t count = 0;
    bool truncated = false; // a value was cut, or the area was cut before its end
};

// Entries of `area` ("NAME=value\0...") whose NAME is exactly one of
// `allow`, in the area's order; the first of a name that occurs twice (what
// getenv() returns). `area_cut`: the probe copied only the start of it.
EnvKept filter_env(std::string_view area, bool area_cut, const std::vector<std::string>& allow);

// Why NAME cannot be an --env name, or "" if it can.
std::string env_name_error(std::string_view name);

} // namespace execmond
