#include "event_format.hpp"

#include "json_fields.hpp"
#include "kernel_text.hpp"
#include "shell_quote.hpp"
#include "text_width.hpp"
#include "times.hpp"

#include <cstring>
#include <string_view>

namespace execmon {

namespace {

constexpr size_t max_remembered = 1u << 16;

std::string base_name(std::string_view path) {
    auto slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string number(const json& line, const char* name) {
    auto m = line.find(name);
    return m != line.end() && m->is_number() ? m->dump() : "?";
}

// Would running argv[0] from a shell run `filename`? Not when a program
// names itself after another (argv[0] "sshd" for /tmp/x): worth showing.
bool argv0_hides_filename(const std::vector<std::string>& argv, const std::string& filename) {
    if (argv.empty() || filename.empty())
        return false;
    std::string a0 = base_name(argv[0]);
    if (!a0.empty() && a0[0] == '-') // a login shell: "-bash"
        a0.erase(0, 1);
    if (a0 == base_name(filename))
        return false;
    // A #! script: argv is the interpreter's, the script path is one of the arguments.
    for (size_t i = 1; i < argv.size(); ++i)
        if (argv[i] == filename)
            return false;
    return true;
}

} // namespace

std::string right(const std::string& text, size_t width) {
    size_t w = display_width(text);
    return w >= width ? text : std::string(width - w, ' ') + text;
}

std::string left(const std::string& text, size_t width) {
    size_t w = display_width(text);
    return w >= width ? text : text + std::string(width - w, ' ');
}

std::string signal_name(int signal) {
    const char* abbrev = sigabbrev_np(signal);
    return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(signal);
}

EventFormatter::EventFormatter(UserNames& users, bool utc, long ticks_per_second)
    : users_(users), utc_(utc), ticks_per_second_(ticks_per_second) {}

StyledLine EventFormatter::heading(bool tree) const {
    StyledLine l;
    if (tree) {
        l.add_head(left("TIME", time_columns) + " " + left("USER", user_columns) +
                       " PID COMMAND, under its ancestors",
                   Tone::heading);
        return l;
    }
    l.add_head(left("TIME", time_columns) + " " + left("USER", user_columns) + " " +
                   right("PID", pid_columns) + " " + right("PPID", pid_columns) + " COMMAND",
               Tone::heading);
    return l;
}

std::string EventFormatter::time_text(const json& line) const {
    auto t = line.find("time");
    if (t == line.end() || !t->is_string())
        return std::string(time_columns, '?');
    auto parsed = parse_rfc3339(t->get<std::string>());
    return parsed ? clock_time(*parsed, utc_) : std::string(time_columns, '?');
}

Span EventFormatter::user_span(const json& line) {
    auto uid = uint_member(line, "uid");
    if (!uid)
        return {left("?", user_columns), Tone::plain};
    uint32_t u = static_cast<uint32_t>(*uid);
    return {left(printable(users_.name(u)), user_columns), u == 0 ? Tone::root : Tone::plain};
}

std::vector<Span> EventFormatter::command(const json& exec) const {
    std::vector<Span> out;
    auto argv = argv_bytes(exec);
    if (argv.empty()) {
        out.push_back({shell_quote(member_bytes(exec, "filename")), Tone::strong});
        out.push_back({" (no argv)", Tone::dim});
        return out;
    }
    out.push_back({shell_quote(argv[0]), Tone::strong});
    if (argv.size() > 1) {
        std::vector<std::string> rest(argv.begin() + 1, argv.end());
        out.push_back({" " + shell_join(rest), Tone::plain});
    }
    if (exec.value("argv_truncated", false)) {
        std::string note = " (truncated";
        if (auto argc = uint_member(exec, "argc"))
            note += ", " + std::to_string(argv.size()) + " of " + std::to_string(*argc) + " arguments";
        out.push_back({note + ")", Tone::dim});
    }
    return out;
}

std::vector<Span> EventFormatter::annotations(const json& exec) {
    std::vector<Span> out;
    auto note = [&](const std::string& name, const std::string& value) {
        out.push_back({"  " + name + "=", Tone::dim});
        out.push_back({value, Tone::note});
    };
    std::string filename = member_bytes(exec, "filename");
    if (argv0_hides_filename(argv_bytes(exec), filename))
        note("exe", shell_quote(filename));
    if (auto cwd = exec.find("cwd"); cwd != exec.end() && cwd->is_string())
        note("cwd", shell_quote(member_bytes(exec, "cwd")));
    // An id shortened as docker ps shows it; nspawn and lxc name theirs.
    std::string container;
    if (auto c = exec.find("container_id"); c != exec.end() && c->is_string())
        container = printable(c->get<std::string>().substr(0, 12));
    else if (auto n = exec.find("container_name"); n != exec.end() && n->is_string())
        container = printable(n->get<std::string>());
    if (!container.empty()) {
        if (auto rt = exec.find("container_runtime"); rt != exec.end() && rt->is_string())
            container = printable(rt->get<std::string>()) + ":" + container;
        note("container", container);
    }
    auto auid = uint_member(exec, "auid");
    if (auid && auid != uint_member(exec, "uid"))
        note("login", printable(users_.name(static_cast<uint32_t>(*auid))));
    // What a security reader looks for first: flagged, not just printed.
    auto flag = [&](const char* member, const char* text) {
        if (exec.value(member, false))
            out.push_back({std::string("  ") + text, Tone::bad});
    };
    flag("secure_exec", "[privileged]");        // setuid, setgid or file capabilities took effect
    flag("fileless", "[fileless]");             // memfd or a deleted file
    flag("exe_package_modified", "[modified]"); // differs from its package's md5sums
    return out;
}

std::vector<Span> EventFormatter::exit_status(const json& exit) const {
    std::vector<Span> out;
    auto sig = exit.find("signal");
    if (sig != exit.end() && sig->is_number_integer()) {
        std::string text = "killed by " + signal_name(sig->get<int>());
        if (exit.value("core_dumped", false))
            text += " (core dumped)";
        out.push_back({text, Tone::signal});
    } else {
        int code = exit.value("exit_code", 0);
        out.push_back({"exit " + std::to_string(code), code == 0 ? Tone::good : Tone::bad});
    }
    // The daemon's own measure when it has one; else from the key's start
    // time (clock ticks since boot, the same clock as ktime_ns).
    std::string took;
    if (auto d = uint_member(exit, "duration_ns")) {
        took = human_duration(*d);
    } else if (auto t = uint_member(exit, "ktime_ns")) {
        if (auto ns = lifetime_from_key(string_member(exit, "key"), *t, ticks_per_second_))
            took = "~" + human_duration(*ns);
    }
    if (!took.empty())
        out.push_back({" after " + took, Tone::dim});
    return out;
}

std::vector<Span> EventFormatter::exited_command(const json& exit) {
    if (auto k = exit.find("key"); k != exit.end() && k->is_string()) {
        auto it = commands_.find(k->get<std::string>());
        if (it != commands_.end()) {
            std::vector<Span> out{{it->second, Tone::plain}};
            commands_.erase(it);
            return out;
        }
    }
    return {{printable(member_bytes(exit, "comm")), Tone::plain}};
}

void EventFormatter::remember(const json& exec) {
    auto k = exec.find("key");
    if (k == exec.end() || !k->is_string())
        return;
    if (commands_.size() >= max_remembered)
        commands_.clear(); // exits of those show their comm instead
    std::string text;
    for (const auto& s : command(exec))
        text += s.text;
    commands_[k->get<std::string>()] = std::move(text);
}

StyledLine EventFormatter::exec(const json& line) {
    remember(line);
    StyledLine l;
    l.add_head(time_text(line) + " ", Tone::dim);
    Span user = user_span(line);
    l.add_head(user.text + " ", user.tone);
    l.add_head(right(number(line, "pid"), pid_columns), Tone::pid);
    l.add_head(" " + right(number(line, "ppid"), pid_columns) + " ");
    l.body = command(line);
    l.tail = annotations(line);
    return l;
}

StyledLine EventFormatter::exit(const json& line) {
    StyledLine l;
    l.add_head(time_text(line) + " ", Tone::dim);
    Span user = user_span(line);
    l.add_head(user.text + " ", user.tone);
    l.add_head(right(number(line, "pid"), pid_columns), Tone::pid);
    l.add_head(" " + right(number(line, "ppid"), pid_columns) + " ");
    for (auto& s : exit_status(line))
        l.head.push_back(std::move(s));
    l.add_head("  ");
    l.body = exited_command(line);
    return l;
}

StyledLine EventFormatter::fork(const json& line) {
    StyledLine l;
    l.add_head(time_text(line) + " ", Tone::dim);
    Span user = user_span(line);
    l.add_head(user.text + " ", user.tone);
    l.add_head(right(number(line, "pid"), pid_columns), Tone::pid);
    l.add_head(" " + right(number(line, "ppid"), pid_columns) + " ");
    l.add_head("fork", Tone::dim);
    l.add_body(" of " + printable(member_bytes(line, "parent_comm")));
    return l;
}

StyledLine EventFormatter::lost(const json& line) const {
    std::string count = number(line, "count");
    std::string reason = line.value("reason", "");
    std::string text;
    if (reason == "client_slow")
        text = "!! " + count + " lines lost: execmon did not read fast enough";
    else if (reason == "kernel_ring_full")
        text = "!! " + count + " events lost in the kernel (execmond's ring buffer was full)";
    else if (reason == "shutdown")
        text = "!! " + count + " events lost: execmond stopped before it could send them";
    else
        text = "!! " + count + " lost (" + printable(reason) + ")";
    if (auto b = line.find("by_type"); b != line.end() && b->is_object()) {
        text += ":";
        for (const char* t : {"fork", "exec", "exit"})
            text += std::string(" ") + t + " " + number(*b, t);
    }
    StyledLine l;
    l.add_head(time_text(line) + " ", Tone::dim);
    l.add_body(text, Tone::bad);
    return l;
}

} // namespace execmon
