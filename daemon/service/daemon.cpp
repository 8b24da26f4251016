#include "daemon.hpp"

#include "log.hpp"
#include "record_decoder.hpp"
#include "text.hpp"

#include <csignal>
#include <fstream>
#include <malloc.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace execmond {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::string read_line(const char* path) {
    std::ifstream in(path);
    std::string s;
    std::getline(in, s);
    return s;
}

} // namespace

Daemon::Daemon(Options options)
    : options_(std::move(options)), io_(1), encoder_(clock_, options_.redact),
      clock_steps_(io_, [this] { on_clock_step(); }), signals_(io_, SIGTERM, SIGINT, SIGHUP),
      tick_timer_(io_), watchdog_timer_(io_), shutdown_timer_(io_),
      started_(std::chrono::steady_clock::now()) {}

int Daemon::run() {
    std::signal(SIGPIPE, SIG_IGN);
    // Probes first: privilege and kernel problems are the likeliest failures.
    start_probes();
    SocketConfig socket;
    socket.path = options_.socket_path;
    socket.mode = options_.socket_mode;
    socket.group = options_.socket_group;
    socket.allow_uids = options_.allow_uids;
    socket.allow_gids = options_.allow_gids;
    socket.client_queue_bytes = options_.client_queue_bytes;
    server_ = std::make_unique<SocketServer>(
        io_, socket, [this] { return hello_line(); },
        [this](Client& c, std::string_view line) { on_request(c, line); });
    probes_->attach();
    seed();
    monotonic_to_boottime_ns_ = BootClock::monotonic_to_boottime_ns();
    reader_ = std::make_unique<RingReader>(
        io_, probes_->ring_fd(), probes_->reader_timer_flag(), std::chrono::microseconds(options_.latency_us),
        [this](const void* data, size_t size) { on_record(data, size); }, [this](size_t) { after_drain(); });

    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
        if (!ec)
            shutdown(sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP");
    });
    server_->start();
    reader_->start();
    if (auto why = clock_steps_.start(); !why.empty())
        log::warning(why + ": wall-clock steps are noticed by the 1 s tick only");
    schedule_tick();
    if (auto interval = notifier_.watchdog_interval())
        schedule_watchdog(*interval);

    auto ready_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
    log::notice("ready in " + std::to_string(ready_ms.count()) + " ms: " + std::to_string(table_.size()) +
                    " processes known, probes " + probes_->mode_name() + ", parent path " +
                    to_string(probes_->parent_path()),
                {{"EXECMOND_READY_MS", std::to_string(ready_ms.count())}});
    notifier_.ready(status_text());
    io_.run();

    reader_.reset();
    probes_.reset(); // detaches and destroys every program, link and map
    server_.reset(); // removes the socket file
    log::info("stopped");
    return exit_ok;
}

void Daemon::start_probes() {
    ProbeConfig config;
    config.mode = options_.probe_mode;
    config.btf_path = options_.btf_path;
    config.ring_size = options_.ring_size;
    config.wakeup_bytes = options_.wakeup_bytes;
    config.follow = !options_.follow.empty();
    probes_.emplace(Probes::load(config));
}

void Daemon::seed() {
    if (auto why = pid_namespace_mismatch(); !why.empty()) {
        // /proc's pids are not the probes' pids: seeding from it would give
        // processes the ancestry of strangers that share their numbers.
        log::warning(why + ": the probes report host pids but /proc here shows other pids; not reading "
                           "/proc, so processes started before execmond have no ancestry. Run execmond in "
                           "the host pid namespace (e.g. docker --pid=host).",
                     {{"EXECMOND_PID_NAMESPACE", "mismatch"}});
        table_.disable_proc();
    }
    table_.seed();
    if (probes_->parent_path() == ParentPath::fork_map) {
        // Processes that existed before the probes: the fork probe never saw them.
        ProcReader proc;
        for (Pid pid : proc.list_pids())
            if (const ProcessInfo* p = table_.find(pid))
                probes_->seed_parent(pid, p->ppid);
    }
    for (Pid root : options_.follow) {
        if (!table_.find(root) && kill(static_cast<pid_t>(root), 0) != 0 && errno == ESRCH)
            throw ProbeError("--follow " + std::to_string(root) + ": no such process", exit_usage);
        probes_->follow(root);
        // Already-running descendants; new ones are added by the fork probe.
        if (table_.proc_enabled())
            for (Pid child : ProcReader().descendants(root))
                probes_->follow(child);
        log::info("following pid " + std::to_string(root) + " and its descendants");
    }
}

void Daemon::on_record(const void* data, size_t size) {
    auto decoded = decode_record(data, size);
    if (auto* err = std::get_if<DecodeError>(&decoded)) {
        if (counters_.decode_errors++ < 10)
            log::warning("bad record from the kernel: " + err->message);
        return;
    }
    Event& e = std::get<Event>(decoded);
    e.ktime_ns += monotonic_to_boottime_ns_; // the probes stamp CLOCK_MONOTONIC
    if (stopping_ && std::chrono::steady_clock::now() >= drain_deadline_) {
        // Exit within systemd's patience even behind a storm: count, don't encode.
        auto& n = e.kind == EventKind::fork   ? shutdown_lost_.fork
                  : e.kind == EventKind::exec ? shutdown_lost_.exec
                                              : shutdown_lost_.exit;
        ++n;
        return;
    }
    if (probes_->parent_path() == ParentPath::fork_map && e.kind != EventKind::fork)
        correct_parent(e);
    const ProcessInfo* self = nullptr;
    switch (e.kind) {
    case EventKind::fork:
        ++counters_.fork;
        self = &table_.on_fork(e);
        break;
    case EventKind::exec:
        ++counters_.exec;
        self = &table_.on_exec(e);
        break;
    case EventKind::exit: {
        auto exit = table_.on_exit(e);
        if (exit.duplicate) { // threads of one process that died together
            ++counters_.duplicate_exits;
            return;
        }
        ++counters_.exit;
        self = &exit.process;
        break;
    }
    }
    if (server_->client_count() == 0)
        return; // nobody to encode for

    Lineage lineage;
    lineage.self = self;
    lineage.cgroup_path = cgroups_.path_of(e.cgroup_id, e.pid);
    std::string_view filename = e.kind == EventKind::exec ? e.filename : std::string_view(self->filename);

    // Encoded once, for the first client that wants it; shared by the rest.
    Line line;
    server_->for_each_client([&](Client& c) {
        if (!c.subscription().matches(e, filename, lineage.cgroup_path, table_))
            return;
        if (!line) {
            lineage.parent = table_.find(e.ppid);
            if (e.kind == EventKind::exec) {
                table_.ancestors(e.ppid, options_.ancestors_depth, ancestors_);
                lineage.ancestors = &ancestors_;
            }
            line = std::make_shared<const std::string>(encoder_.encode(e, lineage));
        }
        c.send(line);
    });
    if (line)
        ++counters_.lines;
}

void Daemon::correct_parent(Event& e) {
    // The fork map holds the parent at fork; an orphan's new parent (init or
    // a subreaper) only /proc knows.
    Pid now = table_.current_parent(e.pid, e.ppid);
    if (now == e.ppid)
        return;
    e.ppid = now;
    if (e.kind == EventKind::exec) // an exit already removed the map entry
        probes_->update_parent(e.pid, now);
}

void Daemon::after_drain() {
    // Changes only across a suspend: a drain's worth of records at most carries
    // the offset from before it.
    monotonic_to_boottime_ns_ = BootClock::monotonic_to_boottime_ns();
    auto now = std::chrono::steady_clock::now();
    if (now - last_drop_check_ >= 50ms)
        check_kernel_drops();
}

void Daemon::check_kernel_drops() {
    last_drop_check_ = std::chrono::steady_clock::now();
    LostCounts now = probes_->drops();
    LostCounts delta{now.fork - kernel_lost_reported_.fork, now.exec - kernel_lost_reported_.exec,
                     now.exit - kernel_lost_reported_.exit};
    if (delta.total() == 0)
        return;
    kernel_lost_reported_ = now;
    log::warning("kernel ring full: " + std::to_string(delta.total()) + " records lost (" +
                     std::to_string(delta.exec) + " exec, " + std::to_string(delta.fork) + " fork, " +
                     std::to_string(delta.exit) + " exit); consider a larger --ring-size",
                 {{"EXECMOND_LOST", std::to_string(delta.total())}});
    auto line = std::make_shared<const std::string>(encoder_.lost(delta, "kernel_ring_full"));
    server_->for_each_client([&](Client& c) { c.send(line); });
}

void Daemon::on_request(Client& client, std::string_view line) {
    if (line.empty()) {
        client.send(std::make_shared<const std::string>(error_line(
            "request longer than " + std::to_string(Client::max_request_bytes) + " bytes ignored")));
        return;
    }
    auto request = parse_request(line);
    if (auto* sub = std::get_if<SubscribeRequest>(&request)) {
        client.subscription() = sub->subscription;
        client.next_stats =
            std::chrono::steady_clock::now() + std::chrono::seconds(sub->subscription.stats_interval_s);
        client.send(std::make_shared<const std::string>(subscribed_line(sub->subscription)));
    } else if (std::holds_alternative<StatsRequest>(request)) {
        client.send(std::make_shared<const std::string>(stats_line()));
    } else {
        client.send(std::make_shared<const std::string>(error_line(std::get<RequestError>(request).message)));
    }
}

Line Daemon::hello_line() const {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    nlohmann::ordered_json j;
    j["type"] = "hello";
    j["protocol"] = 1;
    j["version"] = EXECMOND_VERSION;
    // Any bytes may be set as a host name: escape like kernel strings, so a
    // non-UTF-8 one cannot make dump() throw on every connection.
    std::string hostname;
    bool escaped = append_json_text(hostname, host);
    j["hostname"] = hostname;
    if (escaped)
        j["hostname_escaped"] = true;
    j["boot_id"] = read_line("/proc/sys/kernel/random/boot_id");
    j["boot_time"] = BootClock::format_rfc3339(clock_.boot_realtime_ns());
    j["probe_mode"] = probes_->mode_name();
    j["parent_path"] = to_string(probes_->parent_path());
    return std::make_shared<const std::string>(j.dump() + "\n");
}

std::string Daemon::stats_line() const {
    LostCounts k = probes_->drops();
    nlohmann::ordered_json j;
    j["type"] = "stats";
    j["time"] = clock_.rfc3339(BootClock::now_boottime_ns());
    j["uptime_s"] =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count();
    j["events"] = {{"fork", counters_.fork}, {"exec", counters_.exec}, {"exit", counters_.exit}};
    j["kernel_lost"] = {{"fork", k.fork}, {"exec", k.exec}, {"exit", k.exit}, {"total", k.total()}};
    j["client_lost"] = server_->lines_dropped_total();
    j["clients"] = server_->client_count();
    auto per_client = nlohmann::ordered_json::array();
    server_->for_each_client([&](const Client& c) {
        per_client.push_back({{"id", c.id()},
                              {"pid", c.peer().pid},
                              {"uid", c.peer().uid},
                              {"sent", c.lines_sent()},
                              {"lost", c.lines_dropped()},
                              {"queued_bytes", c.queued_bytes()}});
    });
    j["per_client"] = std::move(per_client);
    j["process_table"] = table_.size();
    j["ring"] = {{"size", reader_->capacity()}, {"queued", reader_->queued_bytes()}};
    j["wakeups"] = reader_->wakeups();
    j["timer_drains"] = reader_->timer_drains();
    j["decode_errors"] = counters_.decode_errors;
    j["duplicate_exits"] = counters_.duplicate_exits;
    return j.dump() + "\n";
}

std::string Daemon::status_text() const {
    return "streaming: " + std::to_string(counters_.exec) + " execs, " + std::to_string(counters_.fork) +
           " forks, " + std::to_string(counters_.exit) + " exits; " +
           std::to_string(kernel_lost_reported_.total()) + " lost; " +
           std::to_string(server_ ? server_->client_count() : 0) + " clients";
}

void Daemon::schedule_tick() {
    tick_timer_.expires_after(1s);
    tick_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping_)
            return;
        tick();
        schedule_tick();
    });
}

void Daemon::on_clock_step() {
    if (!clock_.resample())
        return;
    // Every time and hello.boot_time from now on follow the new wall clock.
    encoder_.clock_changed();
    std::string was = BootClock::format_rfc3339(clock_.previous_boot_realtime_ns());
    std::string now = BootClock::format_rfc3339(clock_.boot_realtime_ns());
    log::notice("wall clock stepped: boot time " + was + " -> " + now, {{"EXECMOND_BOOT_TIME", now}});
    auto line = std::make_shared<const std::string>(encoder_.clock_line());
    server_->for_each_client([&](Client& c) { c.send(line); });
}

void Daemon::tick() {
    ++ticks_;
    on_clock_step(); // also catches a step the timerfd could not report
    // After a burst of exits, hand the freed entries' pages back to the
    // system, so RSS follows the table down instead of staying at its peak:
    // once the burst's evictions are done, or every 65,536 under endless churn.
    evicted_since_trim_ += table_.evict_expired(BootClock::now_boottime_ns());
    if (evicted_since_trim_ >= 65536 || (evicted_since_trim_ >= 4096 && table_.pending_evictions() == 0)) {
        malloc_trim(0);
        evicted_since_trim_ = 0;
    }
    check_kernel_drops();
    server_->reap_stuck(std::chrono::seconds(options_.client_timeout_s));
    auto now = std::chrono::steady_clock::now();
    server_->for_each_client([&](Client& c) {
        unsigned every = c.subscription().stats_interval_s;
        if (every != 0 && now >= c.next_stats) {
            c.next_stats = now + std::chrono::seconds(every);
            c.send(std::make_shared<const std::string>(stats_line()));
        }
    });
    if (ticks_ % 5 == 0)
        notifier_.status(status_text());
}

void Daemon::schedule_watchdog(std::chrono::microseconds interval) {
    notifier_.watchdog();
    watchdog_timer_.expires_after(interval);
    watchdog_timer_.async_wait([this, interval](const boost::system::error_code& ec) {
        if (!ec && !stopping_)
            schedule_watchdog(interval);
    });
}

void Daemon::shutdown(const char* why) {
    if (std::string_view(why) == "SIGHUP") {
        log::info(status_text());
        signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
            if (!ec)
                shutdown(sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP");
        });
        return;
    }
    if (stopping_)
        return;
    stopping_ = true;
    log::info(std::string(why) + ": stopping");
    notifier_.stopping();
    server_->stop_accepting();
    // No new records once detached; what is in the ring still goes out.
    probes_->detach();
    drain_deadline_ = std::chrono::steady_clock::now() + 300ms;
    reader_->drain_all();
    check_kernel_drops();
    if (shutdown_lost_.total() > 0) {
        log::warning("stopping: " + std::to_string(shutdown_lost_.total()) +
                         " records still in the ring were not sent (" + std::to_string(shutdown_lost_.exec) +
                         " exec, " + std::to_string(shutdown_lost_.fork) + " fork, " +
                         std::to_string(shutdown_lost_.exit) + " exit)",
                     {{"EXECMOND_LOST", std::to_string(shutdown_lost_.total())}});
        auto line = std::make_shared<const std::string>(encoder_.lost(shutdown_lost_, "shutdown"));
        server_->for_each_client([&](Client& c) { c.send(line); });
    }
    reader_->stop();
    tick_timer_.cancel();
    clock_steps_.stop();
    watchdog_timer_.cancel();
    server_->flush_and_close();
    // A client that does not read must not hold the exit past systemd's patience.
    flush_deadline_ = std::chrono::steady_clock::now() + 400ms;
    poll_flush();
}

void Daemon::poll_flush() {
    if (server_->all_flushed() || std::chrono::steady_clock::now() >= flush_deadline_) {
        io_.stop();
        return;
    }
    shutdown_timer_.expires_after(5ms);
    shutdown_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec)
            poll_flush();
    });
}

} // namespace execmond
