// The live view: subscribe once with the filters, then one line out per
// line in, flushed after each batch the socket had ready.
#include "commands.hpp"
#include "event_format.hpp"
#include "live_tree.hpp"
#include "request.hpp"
#include "session.hpp"
#include "terminal.hpp"

#include <cstdio>
#include <unistd.h>

namespace execmon {

namespace {

constexpr size_t batch_lines = 1024; // flush at least this often under a storm

class View {
public:
    View(const Options& o, Output& out)
        : options_(o), out_(out), format_(users_, o.utc, sysconf(_SC_CLK_TCK)), tree_(format_) {}

    // Once per batch: a resized terminal takes effect at the next line.
    void measure() { columns_ = out_.columns(); }

    void heading() {
        if (out_.tty() && !options_.json)
            emit(format_.heading(options_.tree));
    }

    void on_line(const std::string& line) {
        if (options_.json) {
            out_.line(line);
            return;
        }
        auto j = parse_line(line);
        if (!j.is_object()) {
            if (!warned_) {
                std::fprintf(stderr, "execmon: ignoring a line from execmond that is not a JSON object\n");
                warned_ = true;
            }
            return;
        }
        std::string type = j.value("type", "");
        if (type == "exec") {
            if (options_.tree)
                emit(tree_.exec(j));
            else
                emit(format_.exec(j));
        } else if (type == "exit") {
            if (options_.tree)
                emit(tree_.exit(j));
            else
                emit(format_.exit(j));
        } else if (type == "fork") {
            if (!options_.tree)
                emit(format_.fork(j));
        } else if (type == "lost") {
            emit(format_.lost(j));
        } else if (type == "error") {
            std::fprintf(stderr, "execmon: execmond: %s\n", j.value("message", "").c_str());
        }
        // Other types (stats, lines of later versions) are not for this view.
    }

private:
    void emit(const StyledLine& l) { out_.line(render(l, columns_, out_.colour())); }
    void emit(const std::vector<StyledLine>& ls) {
        for (const auto& l : ls)
            emit(l);
    }

    const Options& options_;
    Output& out_;
    UserNames users_;
    EventFormatter format_;
    LiveTree tree_;
    size_t columns_ = 0;
    bool warned_ = false;
};

} // namespace

int run_watch(const Options& o) {
    Connection c(socket_path(o.socket));
    Output out(o);
    std::string answer;
    subscribe(c, subscribe_request(o.filters, view_events(o)), &answer);
    View view(o, out);
    if (o.json) {
        out.line(c.hello_line());
        out.line(answer);
    }
    view.measure();
    view.heading();
    out.flush();
    std::string line;
    while (true) {
        if (c.next_line(line, -1) == Connection::Read::closed)
            break;
        view.measure();
        view.on_line(line);
        for (size_t n = 1; n < batch_lines && c.next_line(line, 0) == Connection::Read::line; ++n)
            view.on_line(line);
        out.flush();
    }
    out.flush();
    throw ClientError("execmond closed the connection (stopped or restarted?)");
}

} // namespace execmon
