#include "encoder.hpp"

#include "text.hpp"

#include <nlohmann/json.hpp>

namespace execmond {

using json = nlohmann::ordered_json;

namespace {

constexpr std::string_view redacted = "[REDACTED]";

// A JSON string value for kernel bytes; sets `escaped` when it had to.
json text(std::string_view bytes, bool& escaped) {
    std::string out;
    out.reserve(bytes.size());
    escaped |= append_json_text(out, bytes);
    return json(std::move(out));
}

json text(std::string_view bytes) {
    bool ignored = false;
    return text(bytes, ignored);
}

std::string to_line(const json& j) {
    std::string line = j.dump(-1, ' ', false, json::error_handler_t::replace);
    line.push_back('\n');
    return line;
}

} // namespace

Encoder::Encoder(const BootClock& clock, const std::vector<std::string>& redact_patterns) : clock_(clock) {
    for (const auto& p : redact_patterns)
        redact_.emplace_back(p, std::regex::ECMAScript | std::regex::optimize);
}

std::vector<std::string_view> Encoder::split_args(std::string_view args) {
    std::vector<std::string_view> argv;
    while (!args.empty()) {
        auto nul = args.find('\0');
        if (nul == std::string_view::npos) {
            argv.push_back(args);
            break;
        }
        argv.push_back(args.substr(0, nul));
        args.remove_prefix(nul + 1);
    }
    return argv;
}

std::string Encoder::encode(const Event& e, const Lineage& lineage) const {
    json j;
    j["type"] = to_string(e.kind);
    j["time"] = clock_.rfc3339(e.ktime_ns);
    j["ktime_ns"] = e.ktime_ns;
    j["pid"] = e.pid;
    j["tid"] = e.kind == EventKind::exec ? e.old_tid : e.tid;
    j["ppid"] = e.ppid;
    j["uid"] = e.uid;
    j["gid"] = e.gid;
    bool comm_escaped = false;
    j["comm"] = text(e.comm, comm_escaped);
    if (comm_escaped)
        j["comm_escaped"] = true;

    if (e.kind == EventKind::exec) {
        j["euid"] = e.euid;
        j["egid"] = e.egid;
        bool filename_escaped = false;
        j["filename"] = text(e.filename, filename_escaped);
        if (filename_escaped)
            j["filename_escaped"] = true;
        json argv = json::array();
        json escaped_at = json::array();
        bool any_redacted = false;
        auto args = split_args(e.args);
        for (size_t i = 0; i < args.size(); ++i) {
            bool redact = false;
            for (const auto& re : redact_)
                if (std::regex_search(args[i].begin(), args[i].end(), re)) {
                    redact = true;
                    break;
                }
            if (redact) {
                argv.push_back(redacted);
                any_redacted = true;
                continue;
            }
            bool escaped = false;
            argv.push_back(text(args[i], escaped));
            if (escaped)
                escaped_at.push_back(i);
        }
        // A cut argument area still ends in a NUL-less fragment: that counts.
        bool truncated = e.args_truncated || (!e.args.empty() && e.args.back() != '\0');
        j["argv"] = std::move(argv);
        j["argv_truncated"] = truncated;
        if (e.argc != 0)
            j["argc"] = e.argc;
        if (!escaped_at.empty())
            j["argv_escaped"] = std::move(escaped_at);
        if (any_redacted)
            j["argv_redacted"] = true;
    }
    if (e.kind == EventKind::exit) {
        uint32_t sig = e.exit_status & 0x7f;
        j["exit_code"] = (e.exit_status >> 8) & 0xff;
        j["signal"] = sig != 0 ? json(sig) : json(nullptr);
        if (e.exit_status & 0x80)
            j["core_dumped"] = true;
    }

    if (lineage.self)
        j["key"] = lineage.self->key();
    if (lineage.parent)
        j["parent_key"] = lineage.parent->key();
    if (e.kind == EventKind::fork) {
        j["parent_comm"] = text(e.parent_comm);
    } else if (lineage.self && lineage.self->fork_ppid != 0) {
        j["fork_ppid"] = lineage.self->fork_ppid;
    }
    if (e.ns_pid != 0 && e.ns_pid != e.pid) {
        j["ns_pid"] = e.ns_pid;
    }
    if (e.pidns_id != 0)
        j["pidns"] = e.pidns_id;
    j["cgroup_id"] = e.cgroup_id;
    if (!lineage.cgroup_path.empty())
        j["cgroup"] = text(lineage.cgroup_path);
    j["parent_source"] = to_string(e.parent_source);

    if (lineage.ancestors) {
        json list = json::array();
        for (const ProcessInfo* a : *lineage.ancestors) {
            json item;
            item["pid"] = a->pid;
            item["key"] = a->key();
            item["comm"] = text(a->comm);
            item["filename"] = text(a->filename);
            item["start_ktime_ns"] = a->start_ns;
            list.push_back(std::move(item));
        }
        j["ancestors"] = std::move(list);
    }
    return to_line(j);
}

std::string Encoder::lost(const LostCounts& counts, std::string_view reason) const {
    json j;
    j["type"] = "lost";
    j["time"] = clock_.rfc3339(BootClock::now_boottime_ns());
    j["count"] = counts.total();
    j["reason"] = reason;
    if (counts.total() != 0 && reason == "kernel_ring_full")
        j["by_type"] = {{"fork", counts.fork}, {"exec", counts.exec}, {"exit", counts.exit}};
    return to_line(j);
}

} // namespace execmond
