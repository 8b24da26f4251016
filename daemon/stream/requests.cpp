#include "requests.hpp"

#include "protocol.hpp"
#include "subscription.hpp"

#include <optional>
#include <variant>

namespace execmond {

namespace {

// Where a resuming client's stream continues, or an error.
std::variant<uint64_t, std::string> resume_point(const SubscribeRequest& sub, const RequestContext& context) {
    if (!context.log || !context.table)
        return std::string("since: this daemon does not number its stream");
    // Another stream (the daemon restarted since): all of this one is new to
    // the client, from its first line (the gap line) on.
    if (sub.stream_id != context.stream_id)
        return uint64_t{0};
    if (*sub.since > context.log->last_seq())
        return "since " + std::to_string(*sub.since) + " is ahead of stream " + context.stream_id +
               " (its last seq is " + std::to_string(context.log->last_seq()) + ")";
    return *sub.since;
}

} // namespace

void answer_request(Client& client, std::string_view line, const RequestContext& context) {
    if (line.empty()) { // what Client passes for a line over its limit
        client.send(share(error_line("request longer than " + std::to_string(Client::max_request_bytes) +
                                     " bytes ignored")));
        return;
    }
    auto request = parse_request(line);
    if (auto* sub = std::get_if<SubscribeRequest>(&request)) {
        std::optional<uint64_t> after;
        if (sub->since) {
            auto point = resume_point(*sub, context);
            if (auto* why = std::get_if<std::string>(&point)) {
                client.send(share(error_line(*why)));
                return;
            }
            after = std::get<uint64_t>(point);
        }
        client.subscription() = sub->subscription;
        client.next_stats =
            std::chrono::steady_clock::now() + std::chrono::seconds(sub->subscription.stats_interval_s);
        if (after) {
            client.send(share(subscribed_line(sub->subscription, *after)));
            client.resume(*after, *context.log, *context.table);
        } else {
            client.send(share(subscribed_line(sub->subscription)));
        }
    } else if (std::holds_alternative<StatsRequest>(request)) {
        client.send(share(context.stats()));
    } else if (std::holds_alternative<SnapshotRequest>(request)) {
        context.snapshot(client);
    } else {
        client.send(share(error_line(std::get<RequestError>(request).message)));
    }
}

} // namespace execmond
