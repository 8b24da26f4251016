// Answers the lines clients send (docs/protocol.md, "Requests"): a subscribe
// replaces the client's filter and is confirmed, a stats request is answered
// with the stats line, anything else with an error line.
#pragma once

#include "client.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace execmond {

using StatsSource = std::function<std::string()>;

void answer_request(Client& client, std::string_view line, const StatsSource& stats);

} // namespace execmond
