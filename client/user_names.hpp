// uid -> user name, resolved here on the client (the stream carries only
// numbers), cached: a busy machine repeats the same few uids.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

namespace execmon {

class UserNames {
public:
    using Lookup = std::function<std::optional<std::string>(uint32_t)>;
    // Default: the system's user database (getpwuid_r).
    UserNames();
    explicit UserNames(Lookup lookup) : lookup_(std::move(lookup)) {}

    // The name, or the number as text when there is none.
    const std::string& name(uint32_t uid);

private:
    Lookup lookup_;
    std::unordered_map<uint32_t, std::string> cache_;
};

// -u's argument: a number, or a user name looked up in the user database.
// Throws std::invalid_argument ("no user named 'bob'").
uint32_t resolve_user(const std::string& text);

} // namespace execmon
