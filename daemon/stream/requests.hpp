// Answers the lines clients send (docs/protocol.md, "Requests"): a subscribe
// replaces the client's filter and is confirmed, a stats request is answered
// with the stats line, a snapshot with the process table (snapshot.hpp),
// anything else with an error line.
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
};

void answer_request(Client& client, std::string_view line, const RequestContext& context);

} // namespace execmond
