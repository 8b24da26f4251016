// The start every command shares: connect, send a subscribe request and wait
// for its answer, turning a refusal into a sentence.
#pragma once

#include "connection.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace execmon {

// How long a command waits for the daemon to answer a request.
constexpr int answer_timeout_ms = 10000;

// Parsed line, or a discarded value when it is not JSON (the daemon never
// writes such a line; a proxy in between might).
nlohmann::json parse_line(const std::string& line);

// Sends `request` and reads up to its `subscribed` answer. Lines before it
// were matched against the previous filter: they are dropped. Throws
// ClientError if the daemon refuses the filter.
void subscribe(Connection& c, const std::string& request, std::string* answer_line = nullptr);

// The daemon's refusal of a request as a sentence: a member or request type
// this daemon does not know is a feature it lacks, said as such.
std::string refusal_message(const Connection& c, const std::string& daemon_message);

} // namespace execmon
