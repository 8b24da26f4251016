// Turns the stream's lines into styled lines for a person: one compact line
// per exec (time, user, pid, ppid, the command line quoted for the shell,
// then cwd, container and login user when the line has them), per exit
// (status, run time) and per lost line. The tree view reuses the pieces.
#pragma once

#include "styled_line.hpp"
#include "user_names.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

namespace execmon {

using json = nlohmann::json;

class EventFormatter {
public:
    EventFormatter(UserNames& users, bool utc, long ticks_per_second);

    // The column titles (printed on a terminal), of the compact view or the tree.
    StyledLine heading(bool tree = false) const;
    StyledLine exec(const json& line);
    StyledLine exit(const json& line);
    StyledLine fork(const json& line);
    StyledLine lost(const json& line) const;

    // Pieces.
    std::string time_text(const json& line) const; // "HH:MM:SS.mmm"
    Span user_span(const json& line);              // padded to the user column
    // The command line, shell-quoted, program name strong; "(truncated)" when cut by the daemon.
    std::vector<Span> command(const json& exec) const;
    // "  cwd=…", "  container=…", "  login=…", "  exe=…" as the line has them.
    std::vector<Span> annotations(const json& exec);
    // "exit 0", "exit 3", "killed by SIGKILL (core dumped)" and the run time.
    std::vector<Span> exit_status(const json& exit) const;
    // What an exit line names: the command of its exec if seen, else its comm.
    std::vector<Span> exited_command(const json& exit);

    // Keeps the command of an exec for its exit line (exec() does it itself).
    void remember(const json& exec);

    static constexpr size_t time_columns = 12;
    static constexpr size_t user_columns = 8;

private:
    UserNames& users_;
    bool utc_;
    long ticks_per_second_;
    // key -> the command of its last exec, for its exit line (bounded).
    std::unordered_map<std::string, std::string> commands_;
};

// Columns of a pid: pid_max is at most 4194304.
constexpr size_t pid_columns = 7;

// " 4242" right-aligned in `width`.
std::string right(const std::string& text, size_t width);
// "name" padded on the right to `width`.
std::string left(const std::string& text, size_t width);
std::string signal_name(int signal);

} // namespace execmon
