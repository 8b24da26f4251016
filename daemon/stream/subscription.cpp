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
        if (key == "type")
            continue;
        if (key == "events") {
            s.fork = s.exec = s.exit = false;
            for (const auto& name : strings(value, "events")) {
                if (name == "fork")
                    s.fork = true;
                else if (name == "exec")
                    s.exec = true;
                else if (name == "exit")
                    s.exit = true;
                else
                    throw std::invalid_argument("events: unknown event type '" + name +
                                                "' (fork, exec, exit)");
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

} // namespace

bool Subscription::wants(EventKind k) const {
    return k == EventKind::fork ? fork : k == EventKind::exec ? exec : exit;
}

bool Subscription::matches(const Event& e, std::string_view filename, std::string_view cgroup_path,
                           const ProcessTable& table) const {
    if (!wants(e.kind))
        return false;
    if (!uids.empty() && std::find(uids.begin(), uids.end(), e.uid) == uids.end())
        return false;
    if (!any_glob(comm_globs, e.comm) || !any_glob(filename_globs, filename))
        return false;
    if (!cgroup_prefix.empty() && !in_cgroup(cgroup_path, cgroup_prefix))
        return false;
    if (!descendants_of.empty() && std::none_of(descendants_of.begin(), descendants_of.end(), [&](Pid root) {
            return e.pid == root || (e.ppid != 0 && table.descends_from(e.ppid, root));
        }))
        return false;
    return matches_identity(e, table);
}

// auid and tty: an exec's own, else what the table knows of the process (its
// last exec, or /proc). Unknown (fork-map mode) matches no such filter.
bool Subscription::matches_identity(const Event& e, const ProcessTable& table) const {
    if (auids.empty() && !has_tty && tty_names.empty())
        return true;
    bool audit_known = e.audit_known, tty_known = e.identity_known;
    uint32_t auid = e.auid, tty = e.tty_dev;
    if (e.kind != EventKind::exec) {
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
    j["events"] = events;
    j["uid"] = uids;
    j["comm"] = comm_globs;
    j["filename"] = filename_globs;
    j["cgroup"] = cgroup_prefix;
    j["descendants_of"] = descendants_of;
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
            return SubscribeRequest{parse_subscription(j)};
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
