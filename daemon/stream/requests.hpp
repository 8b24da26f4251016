// Answers the lines clients send (docs/protocol.md, "Requests"): a subscribe
// replaces the client's filter and is confirmed (and, with `since`, replays
// the stream from the log), a stats request is answered with the stats line,
// a snapshot with the process table (snapshot.hpp), anything else with an
// error line.
#pragma once

#include "client.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace execmond {

// What answers need from the rest of the daemon.
struct RequestContext {
    std::function<std::string()> stats;
    std::function<void(Subscriber&)> snapshot;
    // Resuming: the stream's log and name (hello.stream_id); without a log,
    // since is refused.
    const StreamLog* log = nullptr;
    const ProcessTable* table = nullptr;
    std::string stream_id;
};

void answer_request(Client& client, std::string_view line, const RequestContext& context);

} // namespace execmond
