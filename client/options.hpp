// execmon's command line: which view, which filters, how to print.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace execmon {

enum class Command { watch, ps, stats };
enum class ColourMode { automatic, always, never };

// What the daemon should send: one subscribe request (see request.hpp).
struct Filters {
    std::vector<uint32_t> uids;
    std::vector<std::string> comms;     // fnmatch globs
    std::vector<std::string> filenames; // fnmatch globs
    std::optional<std::string> cgroup;
    std::vector<uint32_t> pids;                     // descendants_of
    std::optional<std::vector<std::string>> events; // -e; nullopt: the view's default
    // Members the daemon may not have yet; sent only when given.
    std::vector<uint32_t> auids;
    std::vector<std::string> containers;

    bool any() const;
};

struct Options {
    Command command = Command::watch;
    std::optional<std::string> socket; // --socket; else $EXECMOND_SOCKET; else the default
    Filters filters;
    bool exits = false; // -x
    bool tree = false;  // --tree
    bool json = false;  // --json
    bool wide = false;  // -w: never cut lines, even on a terminal
    bool utc = false;
    ColourMode colour = ColourMode::automatic;
    unsigned interval = 0; // stats -i: repeat every this many seconds
};

inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;

struct ParseResult {
    std::optional<Options> options; // nullopt: print text and exit with exit_code
    std::string text;
    int exit_code = exit_ok;
};

ParseResult parse_options(int argc, const char* const argv[]);

} // namespace execmon
