#include "user_names.hpp"

#include <charconv>
#include <pwd.h>
#include <stdexcept>
#include <unistd.h>
#include <vector>

namespace execmon {

namespace {

std::optional<std::string> system_lookup(uint32_t uid) {
    long size = sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buf(size > 0 ? static_cast<size_t>(size) : 16384);
    passwd pw{};
    passwd* found = nullptr;
    if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || !found)
        return std::nullopt;
    return std::string(found->pw_name);
}

} // namespace

UserNames::UserNames() : lookup_(system_lookup) {}

const std::string& UserNames::name(uint32_t uid) {
    auto it = cache_.find(uid);
    if (it != cache_.end())
        return it->second;
    auto found = lookup_(uid);
    return cache_.emplace(uid, found ? *found : std::to_string(uid)).first->second;
}

uint32_t resolve_user(const std::string& text) {
    uint32_t uid = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), uid);
    if (!text.empty() && ec == std::errc() && end == text.data() + text.size())
        return uid;
    long size = sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buf(size > 0 ? static_cast<size_t>(size) : 16384);
    passwd pw{};
    passwd* found = nullptr;
    if (getpwnam_r(text.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found)
        throw std::invalid_argument("no user named '" + text + "'");
    return found->pw_uid;
}

} // namespace execmon
