#include "subscription.hpp"

#include "text.hpp"

#include <algorithm>
#include <fnmatch.h>

namespace execmond {

using json = nlohmann::json;

namespace {

bool any_glob(const std::vector<std::string>& globs, std::string_view text) {
    if (globs.empty())
        return true;
    std::string s(text);
    return std::any_of(globs.begin(), globs.end(),
                       [&](const std::string& g) { return fnmatch(g.c_str(), s.c_str(), 0) == 0; });
}

// Is `path` the cgroup `prefix` or below it? Whole path components only:
// "/system.slice" covers "/system.slice/x.service", not "/system.slice2".
bool in_cgroup(std::string_view path, std::string_view prefix) {
    if (!path.starts_with(prefix))
        return false;
    return path.size() == prefix.size() || prefix.back() == '/' || path[prefix.size()] == '/';
}

std::vector<std::string> strings(const json& v, const char* key) {
    if (v.is_string())
        return {v.get<std::string>()};
    if (!v.is_array())
        throw std::invalid_argument(std::string(key) + " must be a string or an array of strings");
    std::vector<std::string> out;
    for (const auto& item : v) {
        if (!item.is_string())
            throw std::invalid_argument(std::string(key) + " must be a string or an array of strings");
        out.push_back(item.get<std::string>());
    }
    return out;
}

// fnmatch(3) patterns, bounded: every event is matched against each of them
// on the loop thread.
std::vector<std::string> globs(const json& v, const char* key) {
    std::vector<std::string> out = strings(v, key);
    if (out.size() > Subscription::max_globs)
        throw std::invalid_argument(std::string(key) + ": at most " +
                                    std::to_string(Subscription::max_globs) + " globs");
    for (const auto& g : out) {
        if (g.size() > Subscription::max_glob_bytes)
            throw std::invalid_argument(std::string(key) + ": a glob may have at most " +
                                        std::to_string(Subscription::max_glob_bytes) + " bytes");
        if (static_cast<size_t>(std::count(g.begin(), g.end(), '*')) > Subscription::max_glob_stars)
            throw std::invalid_argument(std::string(key) + ": a glob may have at most " +
                                        std::to_string(Subscription::max_glob_stars) + " '*'");
    }
    return out;
}

bool any_of_exact(const std::vector<std::string>& wanted, std::string_view have) {
    return wanted.empty() || std::find(wanted.begin(), wanted.end(), have) != wanted.end();
}

// A bounded list of exact strings, each checked by `valid`; empty: any.
template <typename Valid>
std::vector<std::string> exact(const json& v, const char* key, Valid valid, const char* what) {
    std::vector<std::string> out = strings(v, key);
    if (out.size() > Subscription::max_globs)
        throw std::invalid_argument(std::string(key) + ": at most " +
                                    std::to_string(Subscription::max_globs) + " values");
    for (const auto& s : out)
        if (!valid(s))
            throw std::invalid_argument(std::string(key) + ": '" + s.substr(0, 80) + "' is not " + what);
    return out;
}

bool is_container_id(const std::string& s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

bool is_runtime(const std::string& s) {
    return s == "none" || (!s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || c == '-';
           }));
}

template <typename T> std::vector<T> numbers(const json& v, const char* key, uint64_t max) {
    std::vector<T> out;
    auto one = [&](const json& item) {
        if (!item.is_number_unsigned() || item.get<uint64_t>() > max)
            throw std::invalid_argument(std::string(key) +
                                        " must be a number or an array of numbers from 0 to " +
                                        std::to_string(max));
        out.push_back(static_cast<T>(item.get<uint64_t>()));
    };
    if (v.is_array())
        for (const auto& item : v)
            one(item);
    else
        one(v);
    return out;
}

Subscription parse_subscription(const json& j) {
    Subscription s;
    for (const auto& [key, value] : j.items()) {
        if (key == "type" || key == "since" || key == "stream_id")
            continue; // not the filter's: parse_request reads them
        if (key == "events") {
            s.fork = s.exec = s.exit = s.exec_failed = false;
            for (const auto& name : strings(value, "events")) {
                if (name == "fork")
                    s.fork = true;
                else if (name == "exec")
                    s.exec = true;
                else if (name == "exit")
                    s.exit = true;
                else if (name == "exec_failed")
                    s.exec_failed = true;
                else
                    throw std::invalid_argument("events: unknown event type '" + name +
                                                "' (fork, exec, exit, exec_failed)");
            }
        } else if (key == "uid") {
            s.uids = numbers<uint32_t>(value, "uid", 0xffffffffu);
        } else if (key == "comm") {
            s.comm_globs = globs(value, "comm");
        } else if (key == "filename") {
            s.filename_globs = globs(value, "filename");
        } else if (key == "cgroup") {
            if (!value.is_string())
                throw std::invalid_argument("cgroup must be a string (a path prefix such as /system.slice/)");
            s.cgroup_prefix = value.get<std::string>();
        } else if (key == "container_id") {
            s.container_ids = exact(value, "container_id", is_container_id,
                                    "a full container id (64 lowercase hex digits)");
        } else if (key == "container_name") {
            s.container_names = exact(
                value, "container_name", [](const std::string& n) { return !n.empty() && n.size() <= 256; },
                "a container name (1 to 256 bytes)");
        } else if (key == "container_runtime") {
            s.container_runtimes = exact(value, "container_runtime", is_runtime,
                                         "a runtime name (docker, podman, containerd, cri-o, cri, nspawn, "
                                         "lxc, libvirt-lxc) or none");
        } else if (key == "descendants_of") {
            s.descendants_of = numbers<Pid>(value, "descendants_of", 0x3fffffff);
        } else if (key == "auid") {
            s.auids = numbers<uint32_t>(value, "auid", 4294967294u);
        } else if (key == "tty") {
            if (value.is_boolean())
                s.has_tty = value.get<bool>();
            else
                s.tty_names = strings(value, "tty (true, false, a name such as pts/3, or an array of names)");
            if (s.tty_names.size() > Subscription::max_globs)
                throw std::invalid_argument("tty: at most " + std::to_string(Subscription::max_globs) +
                                            " names");
        } else if (key == "stats_interval") {
            auto v = numbers<unsigned>(value, "stats_interval", 86400);
            if (v.size() != 1)
                throw std::invalid_argument("stats_interval must be one number of seconds");
            s.stats_interval_s = v[0];
        } else {
            throw std::invalid_argument("unknown key '" + key + "' in subscribe");
        }
    }
    return s;
}

SubscribeRequest parse_subscribe(const json& j) {
    SubscribeRequest r{parse_subscription(j), std::nullopt, {}};
    auto since = j.find("since");
    auto stream = j.find("stream_id");
    if (since != j.end()) {
        if (!since->is_number_unsigned())
            throw std::invalid_argument("since must be a seq: a number from 0 to 18446744073709551615");
        r.since = since->get<uint64_t>();
    }
    if (stream != j.end()) {
        if (!stream->is_string())
            throw std::invalid_argument("stream_id must be a string (hello.stream_id)");
        r.stream_id = stream->get<std::string>();
    }
    // A seq means nothing without the stream it counts.
    if ((since != j.end()) != (stream != j.end()))
        throw std::invalid_argument("since and stream_id go together (see hello.stream_id)");
    return r;
}

} // namespace

bool Subscription::wants(EventKind k) const {
    switch (k) {
    case EventKind::fork:
        return fork;
    case EventKind::exec:
        return exec;
    case EventKind::exit:
        return exit;
    case EventKind::exec_failed:
        return exec_failed;
    }
    return false;
}

MatchFacts MatchFacts::of(const Event& e, std::string_view filename, std::string_view cgroup_path,
                          const Container* container) {
    MatchFacts f;
    f.kind = e.kind;
    f.uid = e.uid;
    f.pid = e.pid;
    f.ppid = e.ppid;
    f.comm = e.comm;
    f.filename = filename;
    f.cgroup_path = cgroup_path;
    f.container = container;
    if (e.kind == EventKind::exec) {
        f.identity_set = true;
        f.audit_known = e.audit_known;
        f.auid = e.auid;
        f.tty_known = e.identity_known;
        f.tty_dev = e.tty_dev;
    }
    return f;
}

bool Subscription::matches(const Event& e, std::string_view filename, std::string_view cgroup_path,
                           const Container* container, const ProcessTable& table) const {
    return matches(MatchFacts::of(e, filename, cgroup_path, container), table);
}

bool Subscription::matches(const MatchFacts& e, const ProcessTable& table) const {
    if (!wants(e.kind))
        return false;
    if (!uids.empty() && std::find(uids.begin(), uids.end(), e.uid) == uids.end())
        return false;
    if (!any_glob(comm_globs, e.comm) || !any_glob(filename_globs, e.filename))
        return false;
    if (!cgroup_prefix.empty() && !in_cgroup(e.cgroup_path, cgroup_prefix))
        return false;
    if (!container_ids.empty() || !container_names.empty() || !container_runtimes.empty()) {
        Container parsed;
        const Container* container = e.container;
        if (!container && !e.cgroup_path.empty()) {
            parsed = parse_container(e.cgroup_path);
            container = &parsed;
        }
        if (!container_ids.empty() && !any_of_exact(container_ids, container ? container->id : ""))
            return false;
        if (!container_names.empty() && !any_of_exact(container_names, container ? container->name : ""))
            return false;
        if (!container_runtimes.empty()) {
            std::string_view runtime = container && !container->runtime.empty() ? container->runtime : "none";
            if (!any_of_exact(container_runtimes, runtime))
                return false;
        }
    }
    auto below = [&](Pid root) {
        if (!e.chain) // live: the table as it is now
            return e.ppid != 0 && table.descends_from(e.ppid, root);
        // Kept: the chain as it was then (its processes may have left the table since).
        if (std::find(e.chain->begin(), e.chain->end(), root) != e.chain->end())
            return true;
        return e.chain_cut && !e.chain->empty() && table.descends_from(e.chain->back(), root);
    };
    if (!descendants_of.empty() && std::none_of(descendants_of.begin(), descendants_of.end(),
                                                [&](Pid root) { return e.pid == root || below(root); }))
        return false;
    return matches_identity(e, table);
}

// auid and tty: an exec's own, else what the table knows of the process (its
// last exec, or /proc; a replayed line: the process as it is now, if still
// known). Unknown (fork-map mode) matches no such filter.
bool Subscription::matches_identity(const MatchFacts& e, const ProcessTable& table) const {
    if (auids.empty() && !has_tty && tty_names.empty())
        return true;
    bool audit_known = e.audit_known, tty_known = e.tty_known;
    uint32_t auid = e.auid, tty = e.tty_dev;
    if (!e.identity_set) {
        const ProcessInfo* p = table.find(e.pid);
        if (!p)
            return false;
        audit_known = p->identity().audit_known;
        auid = p->identity().auid;
        tty_known = p->identity().known;
        tty = p->identity().tty_dev;
    }
    if (!auids.empty() && (!audit_known || std::find(auids.begin(), auids.end(), auid) == auids.end()))
        return false;
    if (has_tty && (!tty_known || *has_tty != (tty != 0)))
        return false;
    if (!tty_names.empty()) {
        if (!tty_known || tty == 0)
            return false;
        std::string_view name = ttys_.name(tty);
        if (std::find(tty_names.begin(), tty_names.end(), name) == tty_names.end())
            return false;
    }
    return true;
}

nlohmann::ordered_json Subscription::to_json() const {
    nlohmann::ordered_json j;
    auto events = nlohmann::ordered_json::array();
    if (fork)
        events.push_back("fork");
    if (exec)
        events.push_back("exec");
    if (exit)
        events.push_back("exit");
    if (exec_failed)
        events.push_back("exec_failed");
    j["events"] = events;
    j["uid"] = uids;
    j["comm"] = comm_globs;
    j["filename"] = filename_globs;
    j["cgroup"] = cgroup_prefix;
    j["descendants_of"] = descendants_of;
    j["container_id"] = container_ids;
    j["container_name"] = container_names;
    j["container_runtime"] = container_runtimes;
    if (!auids.empty())
        j["auid"] = auids;
    if (has_tty)
        j["tty"] = *has_tty;
    else if (!tty_names.empty())
        j["tty"] = tty_names;
    j["stats_interval"] = stats_interval_s;
    return j;
}

Request parse_request(std::string_view line) {
    if (!is_valid_utf8(line))
        return RequestError{"request is not valid UTF-8"};
    // nlohmann/json stops at a NUL as if the text ended there, which would
    // accept `{"type":"stats"}\0anything`.
    if (line.find('\0') != std::string_view::npos)
        return RequestError{"request contains a NUL byte"};
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded())
        return RequestError{"request is not valid JSON"};
    if (!j.is_object())
        return RequestError{"request must be a JSON object"};
    auto type = j.find("type");
    if (type == j.end() || !type->is_string())
        return RequestError{"request needs a \"type\": \"subscribe\", \"stats\" or \"snapshot\""};
    try {
        if (*type == "subscribe")
            return parse_subscribe(j);
        if (*type == "stats") {
            if (j.size() != 1)
                return RequestError{"stats takes no other keys"};
            return StatsRequest{};
        }
        if (*type == "snapshot") {
            if (j.size() != 1)
                return RequestError{"snapshot takes no other keys"};
            return SnapshotRequest{};
        }
    } catch (const std::exception& e) {
        return RequestError{e.what()};
    }
    return RequestError{"unknown request type '" + type->get<std::string>() +
                        "' (subscribe, stats, snapshot)"};
}

} // namespace execmond
