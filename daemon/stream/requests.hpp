// Answers the lines clients send (docs/protocol.md, "Requests"): a subscribe
// replaces the client's filter and is confirmed (and, with `since`, replays
// the stream from the log), a stats request is answered with the stats line,
// anything else with an error line.
#pragma once

#include "client.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace execmond {

using StatsSource = std::function<std::string()>;

struct RequestContext {
    StatsSource stats;
    // Resuming: the stream's log and name (hello.stream_id); without a log,
    // since is refused.
    const StreamLog* log = nullptr;
    const ProcessTable* table = nullptr;
    std::string stream_id;
};

void answer_request(Client& client, std::string_view line, const RequestContext& context);

} // namespace execmond
