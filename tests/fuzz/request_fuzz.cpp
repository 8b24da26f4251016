// libFuzzer target: one line a client sends, handled as the daemon does
// (parse_request, then the answer line) and the resulting filter applied to
// an event. The answer must always be one line of valid JSON.
#include "protocol.hpp"
#include "subscription.hpp"

#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

using namespace execmond;

namespace {

void check_line(const std::string& line) {
    if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1)
        std::abort();
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("type"))
        std::abort();
}

const ProcessTable& table() {
    static ProcessTable t{ProcReader("/nonexistent")};
    return t;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view line(reinterpret_cast<const char*>(data), size);
    Request r = parse_request(line);
    if (auto* sub = std::get_if<SubscribeRequest>(&r)) {
        check_line(subscribed_line(sub->subscription));
        Event e;
        e.kind = EventKind::exec;
        e.pid = 42;
        e.ppid = 1;
        e.uid = 1000;
        e.comm = "bash";
        e.filename = "/usr/bin/bash";
        (void)sub->subscription.matches(e, e.filename, "/user.slice/user-1000.slice", nullptr, table());
        e.kind = EventKind::exit;
        (void)sub->subscription.matches(e, "", "", nullptr, table());
    } else if (auto* err = std::get_if<RequestError>(&r)) {
        if (err->message.empty())
            std::abort();
        check_line(error_line(err->message));
    }
    return 0;
}
