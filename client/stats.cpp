// execmon stats: ask for the stats line, show it with rates since the
// previous call (kept in a small state file), and with -i keep showing it.
#include "commands.hpp"
#include "request.hpp"
#include "session.hpp"
#include "stats_format.hpp"
#include "stats_state.hpp"
#include "terminal.hpp"

#include <unistd.h>

namespace execmon {

int run_stats(const Options& o) {
    Connection c(socket_path(o.socket));
    Output out(o);
    // No events; with -i the daemon itself sends a stats line every interval.
    subscribe(c, subscribe_request({}, {}, o.interval));
    c.send(stats_request());

    std::string state = stats_state_path();
    std::optional<StatsSample> previous = load_sample(state, c.path());
    UserNames users;
    bool first = true;
    std::string line;
    while (true) {
        int timeout =
            o.interval ? static_cast<int>(o.interval) * 1000 + answer_timeout_ms : answer_timeout_ms;
        switch (c.next_line(line, timeout)) {
        case Connection::Read::timeout:
            throw ClientError("execmond at " + c.path() + " did not answer the stats request");
        case Connection::Read::closed:
            throw ClientError("execmond at " + c.path() + " closed the connection");
        case Connection::Read::line:
            break;
        }
        auto j = parse_line(line);
        if (!j.is_object() || j.value("type", "") != "stats")
            continue;
        if (o.json) {
            out.line(line);
        } else {
            if (!first)
                out.line("");
            size_t columns = out.columns();
            for (const auto& l : render_stats(j, c.hello(), previous, getpid(), users))
                out.line(render(l, columns, out.colour()));
        }
        out.flush();
        first = false;
        if (auto now = sample_of(j, c.hello())) {
            save_sample(state, c.path(), *now);
            previous = now;
        }
        if (!o.interval)
            return exit_ok;
    }
}

} // namespace execmon
