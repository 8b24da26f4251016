#include "env_filter.hpp"

#include <algorithm>

namespace execmond {

EnvKept filter_env(std::string_view area, bool area_cut, const std::vector<std::string>& allow) {
    EnvKept kept;
    kept.truncated = area_cut;
    size_t budget = env_values_max;
    while (!area.empty()) {
        size_t nul = area.find('\0');
        bool last_fragment = nul == std::string_view::npos;
        std::string_view entry = area.substr(0, nul);
        area.remove_prefix(last_fragment ? area.size() : nul + 1);
        size_t eq = entry.find('=');
        if (eq == std::string_view::npos)
            continue;
        std::string_view name = entry.substr(0, eq);
        if (std::find(allow.begin(), allow.end(), name) == allow.end())
            continue;
        bool seen = std::any_of(kept.entries.begin(), kept.entries.begin() + kept.count,
                                [&](const EnvEntry& e) { return e.name == name; });
        if (seen || kept.count == kept.entries.size())
            continue;
        std::string_view value = entry.substr(eq + 1);
        if (value.size() > budget) {
            value = value.substr(0, budget);
            kept.truncated = true;
        }
        // A fragment the copy cut off may have lost the end of its value.
        if (last_fragment && area_cut)
            kept.truncated = true;
        budget -= value.size();
        kept.entries[kept.count++] = {name, value};
    }
    return kept;
}

std::string env_name_error(std::string_view name) {
    if (name.empty())
        return "an environment variable name cannot be empty";
    if (name.size() > env_name_max)
        return "'" + std::string(name) + "' is longer than " + std::to_string(env_name_max) + " bytes";
    for (char c : name)
        if (c == '=' || c == '\0' || static_cast<unsigned char>(c) <= ' ')
            return "'" + std::string(name) +
                   "' is not an environment variable name (no '=', spaces or control "
                   "characters)";
    return "";
}

} // namespace execmond
