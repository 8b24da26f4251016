#include "options.hpp"

#include "user_names.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <charconv>
#include <set>
#include <sstream>
#include <stdexcept>

namespace po = boost::program_options;

namespace execmon {

namespace {

constexpr const char* usage = R"(Usage: execmon [OPTIONS]           every exec on the machine, as it happens
       execmon --tree [OPTIONS]    the same as a live process forest
       execmon ps [-p PID]         the daemon's process table now, as a tree
       execmon stats [-i SECONDS]  the daemon's counters, rates since the last call

Reads execmond's socket (--socket, $EXECMOND_SOCKET, or /run/execmond/events.sock).
Filters are sent to the daemon as one subscribe request; repeat a filter to
allow several values (any may match); different filters must all match.
)";

po::options_description description() {
    po::options_description d("Options");
    // clang-format off
    d.add_options()
        ("help,h", "show this help and exit")
        ("version,V", "show the version and exit")
        ("socket", po::value<std::string>()->value_name("PATH"), "execmond's socket (default $EXECMOND_SOCKET, else /run/execmond/events.sock)")
        ("user,u", po::value<std::vector<std::string>>()->composing()->value_name("USER|UID"), "only processes of this real user")
        ("comm,c", po::value<std::vector<std::string>>()->composing()->value_name("GLOB"), "only processes whose command name (comm) matches")
        ("filename,f", po::value<std::vector<std::string>>()->composing()->value_name("GLOB"), "only execs of a path matching")
        ("cgroup", po::value<std::string>()->value_name("PATH"), "only processes in this cgroup or below it")
        ("pid,p", po::value<std::vector<std::string>>()->composing()->value_name("PID"), "only this process and its descendants (with ps: that subtree)")
        ("events,e", po::value<std::vector<std::string>>()->composing()->value_name("LIST"), "event types, comma-separated: fork,exec,exit (default exec; exec,exit with -x)")
        ("auid", po::value<std::vector<std::string>>()->composing()->value_name("USER|UID"), "only processes of this login user (if the daemon reports auid)")
        ("container", po::value<std::vector<std::string>>()->composing()->value_name("ID|NAME"), "only processes of this container: its full 64-hex id, or the name of an nspawn or lxc container")
        ("exits,x", po::bool_switch(), "also show exits, with status and run time")
        ("tree,t", po::bool_switch(), "show each exec under its ancestors")
        ("json,j", po::bool_switch(), "print the raw JSON lines (for jq)")
        ("wide,w", po::bool_switch(), "never cut long lines, even on a terminal")
        ("utc", po::bool_switch(), "show times in UTC rather than local time")
        ("color", po::value<std::string>()->value_name("WHEN")->default_value("auto"), "auto (on a terminal, unless NO_COLOR is set), always or never")
        ("interval,i", po::value<unsigned>()->value_name("SECONDS"), "stats: print again every SECONDS (1-86400)");
    // clang-format on
    return d;
}

struct Usage : std::runtime_error {
    using std::runtime_error::runtime_error;
};

uint32_t parse_pid(const std::string& text) {
    uint32_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v == 0 || v > 4194304)
        throw Usage("-p: '" + text + "' is not a pid (1 to 4194304)");
    return v;
}

std::vector<std::string> event_list(const std::vector<std::string>& args) {
    static const std::set<std::string> known{"fork", "exec", "exit"};
    std::vector<std::string> out;
    for (const auto& arg : args) {
        std::stringstream s(arg);
        std::string item;
        while (std::getline(s, item, ',')) {
            if (item.empty())
                continue;
            if (!known.count(item))
                throw Usage("-e: unknown event type '" + item + "' (fork, exec, exit)");
            if (std::find(out.begin(), out.end(), item) == out.end())
                out.push_back(item);
        }
    }
    if (out.empty())
        throw Usage("-e: no event type given (fork, exec, exit)");
    return out;
}

// A cgroup is given as the stream shows it (below the cgroup2 root); a path
// pasted from /sys/fs/cgroup is accepted too.
std::string cgroup_path(std::string p) {
    for (std::string_view mount : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
        if (p.rfind(mount, 0) == 0 && (p.size() == mount.size() || p[mount.size()] == '/')) {
            p = p.substr(mount.size());
            break;
        }
    }
    if (p.empty())
        p = "/";
    if (p[0] != '/')
        throw Usage("--cgroup: '" + p +
                    "' is not a path (it starts with /, as in the stream's cgroup member)");
    return p;
}

std::vector<uint32_t> users(const std::vector<std::string>& args, const char* flag) {
    std::vector<uint32_t> out;
    for (const auto& a : args) {
        try {
            out.push_back(resolve_user(a));
        } catch (const std::invalid_argument& e) {
            throw Usage(std::string(flag) + ": " + e.what());
        }
    }
    return out;
}

Options to_options(const po::variables_map& vm) {
    Options o;
    auto list = [&](const char* key) {
        return vm.count(key) ? vm[key].as<std::vector<std::string>>() : std::vector<std::string>{};
    };
    if (vm.count("command")) {
        const auto& c = vm["command"].as<std::string>();
        if (c == "ps" || c == "snapshot")
            o.command = Command::ps;
        else if (c == "stats")
            o.command = Command::stats;
        else if (c == "watch")
            o.command = Command::watch;
        else
            throw Usage("unknown command '" + c + "' (ps, stats, or none for the live view)");
    }
    if (vm.count("socket"))
        o.socket = vm["socket"].as<std::string>();
    o.filters.uids = users(list("user"), "-u");
    o.filters.auids = users(list("auid"), "--auid");
    o.filters.comms = list("comm");
    o.filters.filenames = list("filename");
    o.filters.containers = list("container");
    if (vm.count("cgroup"))
        o.filters.cgroup = cgroup_path(vm["cgroup"].as<std::string>());
    for (const auto& p : list("pid"))
        o.filters.pids.push_back(parse_pid(p));
    if (vm.count("events"))
        o.filters.events = event_list(list("events"));
    o.exits = vm["exits"].as<bool>();
    o.tree = vm["tree"].as<bool>();
    o.json = vm["json"].as<bool>();
    o.wide = vm["wide"].as<bool>();
    o.utc = vm["utc"].as<bool>();
    const auto& colour = vm["color"].as<std::string>();
    if (colour == "auto")
        o.colour = ColourMode::automatic;
    else if (colour == "always")
        o.colour = ColourMode::always;
    else if (colour == "never")
        o.colour = ColourMode::never;
    else
        throw Usage("--color: '" + colour + "' is not auto, always or never");
    if (vm.count("interval")) {
        o.interval = vm["interval"].as<unsigned>();
        if (o.command != Command::stats)
            throw Usage("-i applies to execmon stats");
        if (o.interval < 1 || o.interval > 86400)
            throw Usage("-i: from 1 to 86400 seconds");
    }

    if (o.tree && o.json)
        throw Usage("--tree and --json do not go together (--json prints the lines as they come)");
    if (o.command != Command::watch) {
        Filters rest = o.filters;
        if (o.command == Command::ps)
            rest.pids.clear(); // ps -p PID: one subtree
        if (rest.any() || o.exits || o.tree)
            throw Usage(std::string("execmon ") + (o.command == Command::ps ? "ps" : "stats") +
                        " takes no filters, -x or --tree (they are for the live view)" +
                        (o.command == Command::ps ? "; -p PID shows one subtree" : ""));
    }
    return o;
}

} // namespace

bool Filters::any() const {
    return !uids.empty() || !comms.empty() || !filenames.empty() || cgroup || !pids.empty() || events ||
           !auids.empty() || !containers.empty();
}

ParseResult parse_options(int argc, const char* const argv[]) {
    po::options_description visible = description();
    po::options_description all;
    all.add(visible).add_options()("command", po::value<std::string>());
    po::positional_options_description positional;
    positional.add("command", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
        po::notify(vm);
        if (vm.count("help")) {
            std::ostringstream s;
            s << usage << '\n' << visible;
            return {std::nullopt, s.str(), exit_ok};
        }
        if (vm.count("version"))
            return {std::nullopt, std::string("execmon ") + EXECMOND_VERSION, exit_ok};
        return {to_options(vm), "", exit_ok};
    } catch (const po::error& e) {
        return {std::nullopt, std::string("execmon: ") + e.what() + "\nTry 'execmon --help'.", exit_usage};
    } catch (const Usage& e) {
        return {std::nullopt, std::string("execmon: ") + e.what() + "\nTry 'execmon --help'.", exit_usage};
    }
}

} // namespace execmon
