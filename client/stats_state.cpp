#include "stats_state.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace execmon {

namespace fs = std::filesystem;

std::string stats_state_path() {
    const char* state = std::getenv("XDG_STATE_HOME");
    if (state && *state == '/')
        return std::string(state) + "/execmon/stats.json";
    const char* home = std::getenv("HOME");
    if (home && *home == '/')
        return std::string(home) + "/.local/state/execmon/stats.json";
    return "";
}

namespace {

nlohmann::json read_file(const std::string& file) {
    std::ifstream in(file);
    if (!in)
        return nlohmann::json::object();
    auto j = nlohmann::json::parse(in, nullptr, false);
    return j.is_object() ? j : nlohmann::json::object();
}

} // namespace

std::optional<StatsSample> load_sample(const std::string& file, const std::string& socket) {
    if (file.empty())
        return std::nullopt;
    auto j = read_file(file);
    auto it = j.find(socket);
    return it == j.end() ? std::nullopt : StatsSample::from_json(*it);
}

bool save_sample(const std::string& file, const std::string& socket, const StatsSample& sample) {
    if (file.empty())
        return false;
    std::error_code ec;
    fs::create_directories(fs::path(file).parent_path(), ec);
    auto j = read_file(file);
    j[socket] = sample.to_json();
    // Write aside and rename: two execmon stats at once never leave half a file.
    std::string tmp = file + ".tmp." + std::to_string(getpid());
    {
        std::ofstream out(tmp, std::ios::trunc);
        if (!out)
            return false;
        out << j.dump() << '\n';
        if (!out.flush())
            return false;
    }
    fs::rename(tmp, file, ec);
    if (ec) {
        fs::remove(tmp, ec);
        return false;
    }
    return true;
}

} // namespace execmon
