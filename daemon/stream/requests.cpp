#include "requests.hpp"

#include "protocol.hpp"
#include "subscription.hpp"

namespace execmond {

void answer_request(Client& client, std::string_view line, const RequestContext& context) {
    if (line.empty()) { // what Client passes for a line over its limit
        client.send(share(error_line("request longer than " + std::to_string(Client::max_request_bytes) +
                                     " bytes ignored")));
        return;
    }
    auto request = parse_request(line);
    if (auto* sub = std::get_if<SubscribeRequest>(&request)) {
        client.subscription() = sub->subscription;
        client.next_stats =
            std::chrono::steady_clock::now() + std::chrono::seconds(sub->subscription.stats_interval_s);
        client.send(share(subscribed_line(sub->subscription)));
    } else if (std::holds_alternative<StatsRequest>(request)) {
        client.send(share(context.stats()));
    } else if (std::holds_alternative<SnapshotRequest>(request)) {
        context.snapshot(client);
    } else {
        client.send(share(error_line(std::get<RequestError>(request).message)));
    }
}

} // namespace execmond
