#include "session.hpp"

namespace execmon {

nlohmann::json parse_line(const std::string& line) {
    return nlohmann::json::parse(line, nullptr, false);
}

std::string refusal_message(const Connection& c, const std::string& message) {
    std::string protocol = " (protocol " + std::to_string(c.protocol()) + ")";
    for (const char* member : {"auid", "container_id"})
        if (message.find(std::string("unknown key '") + member + "'") != std::string::npos)
            return std::string("this execmond cannot filter by ") +
                   (member[0] == 'a' ? "login user (--auid)" : "container (--container)") + protocol;
    if (message.find("unknown request type 'snapshot'") != std::string::npos)
        return "this execmond does not support snapshots" + protocol;
    return "execmond refused the request: " + message;
}

void subscribe(Connection& c, const std::string& request, std::string* answer_line) {
    c.send(request);
    std::string line;
    while (true) {
        switch (c.next_line(line, answer_timeout_ms)) {
        case Connection::Read::timeout:
            throw ClientError("execmond at " + c.path() +
                              " did not answer the subscribe request within 10 s");
        case Connection::Read::closed:
            throw ClientError("execmond at " + c.path() + " closed the connection");
        case Connection::Read::line:
            break;
        }
        auto j = parse_line(line);
        if (!j.is_object())
            continue;
        std::string type = j.value("type", "");
        if (type == "subscribed") {
            if (answer_line)
                *answer_line = line;
            return;
        }
        if (type == "error")
            throw ClientError(refusal_message(c, j.value("message", "")));
    }
}

} // namespace execmon
