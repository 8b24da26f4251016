#include "process_forest.hpp"

#include "event_format.hpp"
#include "json_fields.hpp"
#include "kernel_text.hpp"
#include "shell_quote.hpp"
#include "text_width.hpp"
#include "times.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace execmon {

namespace {

using json = nlohmann::json;

constexpr size_t start_columns = 5;

struct Proc {
    const json* line;
    uint32_t pid = 0;
    uint64_t start = 0; // start_ktime_ns, for ordering siblings
    std::string key;
    std::vector<size_t> children;
};

std::string str(const json& j, const char* name) {
    auto m = j.find(name);
    return m != j.end() && m->is_string() ? m->get<std::string>() : "";
}

template <typename T> T num(const json& j, const char* name, T fallback) {
    auto v = uint_member(j, name);
    return v ? static_cast<T>(*v) : fallback;
}

std::vector<Span> command_of(const json& p) {
    auto argv = argv_bytes(p);
    if (!argv.empty()) {
        std::vector<Span> out{{shell_quote(argv[0]), Tone::strong}};
        if (argv.size() > 1)
            out.push_back(
                {" " + shell_join(std::vector<std::string>(argv.begin() + 1, argv.end())), Tone::plain});
        return out;
    }
    // Kernel threads have no command line: their name in brackets, as ps shows them.
    return {{"[" + printable(member_bytes(p, "comm")) + "]", Tone::dim}};
}

} // namespace

std::vector<StyledLine> render_forest(const std::vector<json>& processes, const ForestOptions& options,
                                      UserNames& users) {
    std::vector<Proc> procs;
    procs.reserve(processes.size());
    std::unordered_map<std::string, size_t> by_key;
    std::unordered_map<uint32_t, size_t> by_pid;
    for (const auto& p : processes) {
        Proc n;
        n.line = &p;
        n.pid = num<uint32_t>(p, "pid", 0);
        n.start = num<uint64_t>(p, "start_ktime_ns", 0);
        n.key = str(p, "key");
        by_key.emplace(n.key, procs.size());
        by_pid.emplace(n.pid, procs.size());
        procs.push_back(std::move(n));
    }
    std::vector<size_t> roots;
    for (size_t i = 0; i < procs.size(); ++i) {
        const json& p = *procs[i].line;
        std::optional<size_t> parent;
        if (auto it = by_key.find(str(p, "parent_key")); it != by_key.end() && !str(p, "parent_key").empty())
            parent = it->second;
        else if (auto jt = by_pid.find(num<uint32_t>(p, "ppid", 0)); jt != by_pid.end())
            parent = jt->second;
        if (parent && *parent != i)
            procs[*parent].children.push_back(i);
        else
            roots.push_back(i);
    }
    auto order = [&](size_t a, size_t b) {
        return procs[a].start != procs[b].start ? procs[a].start < procs[b].start
                                                : procs[a].pid < procs[b].pid;
    };
    for (auto& p : procs)
        std::sort(p.children.begin(), p.children.end(), order);
    std::sort(roots.begin(), roots.end(), order);
    if (options.root_pid) {
        auto it = by_pid.find(*options.root_pid);
        if (it == by_pid.end())
            throw std::invalid_argument("no process " + std::to_string(*options.root_pid) +
                                        " in the snapshot");
        roots = {it->second};
    }

    // Columns as wide as their widest entry, so that the tree lines up.
    size_t key_columns = 3;
    size_t user_columns = EventFormatter::user_columns;
    for (const auto& p : procs) {
        key_columns = std::max(key_columns, p.key.size());
        user_columns =
            std::max(user_columns, display_width(printable(users.name(num<uint32_t>(*p.line, "uid", 0)))));
    }

    std::vector<StyledLine> out;
    StyledLine heading;
    heading.add_head(right("PID", pid_columns) + " " + left("KEY", key_columns) + " " +
                         left("START", start_columns) + " " + left("USER", user_columns) + " COMMAND",
                     Tone::heading);
    out.push_back(std::move(heading));

    WallTime now{options.now_seconds, 0};
    std::unordered_set<size_t> drawn; // a parent loop in bad input must not recurse for ever
    auto draw = [&](auto&& self, size_t i, const std::string& prefix, const std::string& connector) -> void {
        if (!drawn.insert(i).second)
            return;
        const json& p = *procs[i].line;
        StyledLine l;
        l.add_head(right(std::to_string(procs[i].pid), pid_columns), Tone::pid);
        l.add_head(" " + left(printable(procs[i].key), key_columns) + " ", Tone::dim);
        auto t = parse_rfc3339(str(p, "start_time"));
        l.add_head(left(t ? start_time(*t, now, options.utc) : "?", start_columns) + " ", Tone::dim);
        uint32_t uid = num<uint32_t>(p, "uid", 0);
        l.add_head(left(printable(users.name(uid)), user_columns) + " ", uid == 0 ? Tone::root : Tone::plain);
        l.add_head(prefix + connector, Tone::dim);
        l.body = command_of(p);
        out.push_back(std::move(l));
        const auto& kids = procs[i].children;
        for (size_t k = 0; k < kids.size(); ++k) {
            bool last = k + 1 == kids.size();
            std::string below =
                connector.empty() ? prefix : prefix + (connector == "\u2514\u2500 " ? "   " : "\u2502  ");
            self(self, kids[k], below, last ? "\u2514\u2500 " : "\u251c\u2500 ");
        }
    };
    for (size_t r : roots)
        draw(draw, r, "", "");
    if (!options.root_pid) {
        // Processes whose parents form a loop (bad input) have no root: shown, not dropped.
        std::vector<size_t> rest;
        for (size_t i = 0; i < procs.size(); ++i)
            if (!drawn.count(i))
                rest.push_back(i);
        std::sort(rest.begin(), rest.end(), order);
        for (size_t r : rest)
            draw(draw, r, "", "");
    }
    return out;
}

} // namespace execmon
