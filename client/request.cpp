#include "request.hpp"

#include <nlohmann/json.hpp>

namespace execmon {

namespace {
bool is_full_container_id(const std::string& s) {
    return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}
} // namespace

std::vector<std::string> view_events(const Options& o) {
    if (o.filters.events)
        return *o.filters.events;
    if (o.exits)
        return {"exec", "exit"};
    return {"exec"};
}

std::string subscribe_request(const Filters& f, const std::vector<std::string>& events,
                              unsigned stats_interval) {
    nlohmann::ordered_json j;
    j["type"] = "subscribe";
    j["events"] = events;
    if (!f.uids.empty())
        j["uid"] = f.uids;
    if (!f.comms.empty())
        j["comm"] = f.comms;
    if (!f.filenames.empty())
        j["filename"] = f.filenames;
    if (f.cgroup)
        j["cgroup"] = *f.cgroup;
    if (!f.pids.empty())
        j["descendants_of"] = f.pids;
    if (!f.auids.empty())
        j["auid"] = f.auids;
    // A full id is an id; anything else names a container (nspawn, lxc).
    std::vector<std::string> ids, names;
    for (const auto& c : f.containers)
        (is_full_container_id(c) ? ids : names).push_back(c);
    if (!ids.empty())
        j["container_id"] = ids;
    if (!names.empty())
        j["container_name"] = names;
    if (stats_interval)
        j["stats_interval"] = stats_interval;
    return j.dump();
}

std::string stats_request() {
    return R"({"type":"stats"})";
}

std::string snapshot_request() {
    return R"({"type":"snapshot"})";
}

} // namespace execmon
