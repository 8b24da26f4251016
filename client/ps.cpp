// execmon ps: the daemon's process table at one instant (the snapshot
// request), drawn as a forest.
#include "commands.hpp"
#include "process_forest.hpp"
#include "request.hpp"
#include "session.hpp"
#include "terminal.hpp"

#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace execmon {

namespace {

constexpr int line_timeout_ms = 30000;

} // namespace

int run_ps(const Options& o) {
    Connection c(socket_path(o.socket));
    Output out(o);
    // No events while the snapshot comes: only its lines.
    subscribe(c, subscribe_request({}, {}));
    c.send(snapshot_request());

    std::vector<nlohmann::json> processes;
    uint64_t lost = 0;
    std::optional<uint64_t> count;
    std::string line;
    while (!count) {
        switch (c.next_line(line, line_timeout_ms)) {
        case Connection::Read::timeout:
            throw ClientError("execmond at " + c.path() +
                              " did not finish its snapshot (no snapshot_end line in 30 s)");
        case Connection::Read::closed:
            throw ClientError("execmond at " + c.path() + " closed the connection during the snapshot");
        case Connection::Read::line:
            break;
        }
        auto j = parse_line(line);
        if (!j.is_object())
            continue;
        std::string type = j.value("type", "");
        if (type == "error")
            throw ClientError(refusal_message(c, j.value("message", "")));
        if (type == "process") {
            if (o.json)
                out.line(line);
            processes.push_back(std::move(j));
        } else if (type == "snapshot_end") {
            if (o.json)
                out.line(line);
            count = j.value("count", uint64_t{0});
        } else if (type == "lost" && j.value("reason", "") == "client_slow") {
            lost += j.value("count", uint64_t{0});
        }
    }
    if (!o.json) {
        ForestOptions fo;
        if (!o.filters.pids.empty())
            fo.root_pid = o.filters.pids.front();
        fo.utc = o.utc;
        fo.now_seconds = std::time(nullptr);
        UserNames users;
        std::vector<StyledLine> lines;
        try {
            lines = render_forest(processes, fo, users);
        } catch (const std::invalid_argument& e) {
            throw ClientError(e.what());
        }
        size_t columns = out.columns();
        for (const auto& l : lines)
            out.line(render(l, columns, out.colour()));
    }
    out.flush();
    if (lost > 0 || *count != processes.size()) {
        std::fprintf(
            stderr, "execmon: the snapshot is incomplete: %zu of %llu processes arrived (%llu lines lost)\n",
            processes.size(), static_cast<unsigned long long>(*count), static_cast<unsigned long long>(lost));
        return exit_failure;
    }
    return exit_ok;
}

} // namespace execmon
