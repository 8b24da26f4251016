#include "daemon.hpp"

#include "exposition.hpp"
#include "final_drain.hpp"
#include "log.hpp"
#include "protocol.hpp"
#include "requests.hpp"
#include "restart_gap.hpp"
#include "seeding.hpp"
#include "snapshot.hpp"

#include <csignal>
#include <fstream>
#include <malloc.h>
#include <unistd.h>

namespace execmond {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// How long records still in the ring at SIGTERM are turned into lines, and how
// long clients then get to read them: together well within systemd's patience.
constexpr auto shutdown_drain_time = 300ms;
constexpr auto shutdown_flush_time = 400ms;
// How often the state file is rewritten while running (and at stop): what an
// unclean stop can leave stale.
constexpr unsigned state_every_ticks = 10;

std::string read_line(const char* path) {
    std::ifstream in(path);
    std::string s;
    std::getline(in, s);
    return s;
}

ProbeConfig probe_config(const Options& o) {
    ProbeConfig c;
    c.mode = o.probe_mode;
    c.btf_path = o.btf_path;
    c.ring_size = o.ring_size;
    c.wakeup_bytes = o.wakeup_bytes;
    c.latency_ns = o.latency_us * 1000;
    c.wakeup_timer = o.wakeup_timer;
    c.follow = !o.follow.empty();
    c.exec_failures = o.exec_failures;
    c.env = !o.env.empty();
    return c;
}

SocketConfig socket_config(const Options& o) {
    SocketConfig c;
    c.path = o.socket_path;
    c.mode = o.socket_mode;
    c.group = o.socket_group;
    c.allow_uids = o.allow_uids;
    c.allow_gids = o.allow_gids;
    c.client_queue_bytes = o.client_queue_bytes;
    return c;
}

FileSinkConfig file_sink_config(const Options& o) {
    FileSinkConfig c;
    c.path = o.output_file;
    c.mode = o.output_mode;
    c.group = o.output_group;
    c.max_size = o.output_max_size;
    c.keep = o.output_keep;
    c.compress = o.output_compress;
    c.queue_bytes = o.output_queue_bytes;
    c.subscription = o.output_filter;
    return c;
}

double wall_clock_s() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

} // namespace

Daemon::Daemon(Options options)
    : options_(std::move(options)), io_(1), encoder_(clock_, options_.redact, options_.ancestor_argv),
      stream_(options_.replay_buffer_bytes), boot_id_(read_line("/proc/sys/kernel/random/boot_id")),
      stream_id_(boot_id_ + ":" + std::to_string(BootClock::now_boottime_ns())),
      state_writer_(options_.state_dir), clock_steps_(io_, [this] { on_clock_step(); }),
      signals_(io_, SIGTERM, SIGINT, SIGHUP), tick_timer_(io_), watchdog_timer_(io_), shutdown_deadline_(io_),
      started_(std::chrono::steady_clock::now()), started_wall_s_(wall_clock_s()) {}

int Daemon::run() {
    std::signal(SIGPIPE, SIG_IGN);
    start();
    auto ready_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
    log::notice("ready in " + std::to_string(ready_ms.count()) + " ms: " + std::to_string(table_.size()) +
                    " processes known, probes " + probes_->mode_name() + ", parent path " +
                    to_string(probes_->parent_path()),
                {{"EXECMOND_READY_MS", std::to_string(ready_ms.count())}});
    notifier_.ready(status_text());
    io_.run();

    if (file_sink_) {
        fanout_.remove(*file_sink_);
        file_sink_.reset(); // writes what is still queued, then syncs and closes
    }
    metrics_.reset();
    reader_.reset();
    provenance_.reset(); // joins its threads; results not yet posted are dropped
    probes_.reset();     // detaches and destroys every program, link and map
    server_.reset();     // removes the socket file
    log::info("stopped");
    return exit_ok;
}

void Daemon::start() {
    // What the previous run left, before this one overwrites it.
    LoadedState previous = load_state(options_.state_dir);
    if (previous.status == "unreadable")
        log::warning("state file ignored: " + previous.problem +
                         "; the gap line cannot say what happened while execmond was down",
                     {{"EXECMOND_STATE_ERROR", previous.problem}});
    // Probes first: privilege and kernel problems are the likeliest failures.
    probes_.emplace(Probes::load(probe_config(options_)));
    PipelineConfig pc;
    pc.ancestors_depth = options_.ancestors_depth;
    pc.log = &stream_;
    pc.env_names = options_.env;
    if (probes_->parent_path() == ParentPath::fork_map)
        pc.reparent = [this](Pid child, Pid parent) {
            probes_->update_parent(child, parent);
        };
    ProvenanceConfig prov;
    prov.sha256 = options_.hash_sha256;
    prov.packages = options_.packages;
    prov.max_size = options_.hash_max_size;
    prov.cache_entries = options_.hash_cache_entries;
    if (prov.sha256 || prov.packages) {
        provenance_ = std::make_unique<ExeProvenance>(
            io_, prov, [this](const PendingExec& p, const ExeFacts& f) { pipeline_->on_exe_facts(p, f); });
        provenance_->start();
        pc.provenance = provenance_.get();
    }
    pipeline_.emplace(std::move(pc), table_, cgroups_, encoder_, fanout_);
    requests_.stats = [this] {
        return stats();
    };
    requests_.snapshot = [this](Subscriber& s) {
        send_snapshot(s, table_, cgroups_, encoder_, clock_);
    };
    requests_.log = &stream_;
    requests_.table = &table_;
    requests_.stream_id = stream_id_;
    if (!options_.output_file.empty()) {
        file_sink_ = std::make_unique<FileSink>(io_, file_sink_config(options_), share(hello()));
        fanout_.add(*file_sink_);
    }
    server_ = std::make_unique<SocketServer>(
        io_, socket_config(options_), fanout_, [this] { return share(hello()); },
        [this](Client& c, std::string_view line) { answer_request(c, line, requests_); });
    server_->on_connect([this](Client& c) {
        if (uint64_t from = connect_point(); from != stream_.last_seq())
            c.resume(from, stream_, table_);
    });
    if (!options_.metrics_address.empty())
        metrics_ = std::make_unique<MetricsServer>(
            io_,
            asio::ip::tcp::endpoint(asio::ip::make_address(options_.metrics_address), options_.metrics_port),
            [this] { return metrics_text(); });
    follow_roots(*probes_, options_.follow);
    probes_->attach();
    seed(*probes_, table_, options_.follow);
    publish_gap(previous);
    save_state(SaveMode::now); // on disk before READY=1: a crash from here on leaves this run's id
    pipeline_->set_monotonic_to_boottime(BootClock::monotonic_to_boottime_ns());
    bool kernel_timer = probes_->timer_wakeups();
    reader_ = std::make_unique<RingReader>(
        io_, probes_->ring_fd(), probes_->reader_timer_flag(), std::chrono::microseconds(options_.latency_us),
        probes_->wakeup_bytes(), [this](const void* data, size_t size) { pipeline_->on_record(data, size); },
        [this](size_t) { on_drained(); }, kernel_timer ? probes_->wake_ring_fd() : -1);

    wait_signal();
    server_->start();
    if (metrics_)
        metrics_->start();
    reader_->start();
    if (auto why = clock_steps_.start(); !why.empty())
        log::warning(why + ": wall-clock steps are noticed by the 1 s tick only");
    schedule_tick();
    if (auto interval = notifier_.watchdog_interval())
        schedule_watchdog(*interval);
}

void Daemon::wait_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
        if (ec)
            return;
        if (sig == SIGHUP) {
            log::info(status_text());
            if (file_sink_)
                file_sink_->reopen(); // for logrotate: a renamed file is closed, PATH opened again
            wait_signal();
            return;
        }
        shutdown(sig == SIGINT ? "SIGINT" : "SIGTERM");
    });
}

void Daemon::on_drained() {
    // Changes only across a suspend: a drain's worth of records at most carries
    // the offset from before it.
    pipeline_->set_monotonic_to_boottime(BootClock::monotonic_to_boottime_ns());
    if (std::chrono::steady_clock::now() - last_drop_check_ >= 50ms)
        report_kernel_drops();
}

void Daemon::report_kernel_drops() {
    last_drop_check_ = std::chrono::steady_clock::now();
    LostCounts now = probes_->drops();
    LostCounts delta{now.fork - kernel_lost_reported_.fork, now.exec - kernel_lost_reported_.exec,
                     now.exit - kernel_lost_reported_.exit,
                     now.exec_failed - kernel_lost_reported_.exec_failed};
    if (delta.total() == 0)
        return;
    kernel_lost_reported_ = now;
    log::warning("kernel ring full: " + std::to_string(delta.total()) + " records lost (" +
                     std::to_string(delta.exec) + " exec, " + std::to_string(delta.fork) + " fork, " +
                     std::to_string(delta.exit) + " exit); consider a larger --ring-size",
                 {{"EXECMOND_LOST", std::to_string(delta.total())}});
    publish_to_all(stream_, fanout_,
                   [&](uint64_t seq) { return records_lost_line(clock_, delta, "kernel_ring_full", seq); });
}

void Daemon::publish_gap(const LoadedState& previous) {
    GapFacts g = compute_gap(previous, boot_id_, table_, [](Pid pid, bool& truncated) {
        return read_cmdline("/proc", pid, 8192, truncated); // as much argv as an exec line keeps
    });
    g.now_boottime_ns = BootClock::now_boottime_ns();
    g.now_realtime_ns = clock_.realtime_ns(g.now_boottime_ns);
    gap_seq_ = publish_to_all(stream_, fanout_, [&](uint64_t seq) {
        return gap_line(clock_, g, seq, [this](std::string_view arg) { return encoder_.redacts(arg); });
    });
    if (g.previous)
        log::info("previous run (stream " + g.previous->stream_id + ") stopped " +
                  (g.previous->clean ? "cleanly" : "uncleanly") + (g.rebooted ? " before a reboot" : "") +
                  ": " + std::to_string(g.started.size()) + " processes started meanwhile, " +
                  std::to_string(g.exited.size()) + " known ones exited");
}

void Daemon::save_state(SaveMode mode) {
    if (options_.state_dir.empty())
        return;
    SavedState s;
    s.stream_id = stream_id_;
    s.boot_id = boot_id_;
    s.last_seq = stream_.last_seq();
    s.written_boottime_ns = BootClock::now_boottime_ns();
    s.written_realtime_ns = clock_.realtime_ns(s.written_boottime_ns);
    s.clean = mode == SaveMode::final;
    s.processes = live_keys(table_);
    switch (mode) {
    case SaveMode::background:
        state_writer_.write_async(serialize_state(s));
        break;
    case SaveMode::now:
        state_writer_.write_sync(serialize_state(s));
        break;
    case SaveMode::final:
        state_writer_.write_now(serialize_state(s));
        break;
    }
}

// Where a new client's stream starts: at the end of the stream, except that
// a client connecting before anything but the gap line was made (one waiting
// at start, as under socket activation) gets the gap line too.
uint64_t Daemon::connect_point() const {
    if (gap_seq_ != 0 && stream_.last_seq() == gap_seq_ && stream_.find(gap_seq_))
        return gap_seq_ - 1;
    return stream_.last_seq();
}

std::string Daemon::hello() const {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    HelloFacts h;
    h.hostname = host;
    h.boot_id = boot_id_;
    h.boot_realtime_ns = clock_.boot_realtime_ns();
    h.probe_mode = probes_->mode_name();
    h.parent_path = to_string(probes_->parent_path());
    h.stream_id = stream_id_;
    h.last_seq = connect_point();
    return hello_line(h);
}

StatsFacts Daemon::stats_facts() const {
    const PipelineCounters& n = pipeline_->counters();
    StatsFacts f;
    f.now_boottime_ns = BootClock::now_boottime_ns();
    f.uptime_s =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count();
    f.fork = n.fork;
    f.exec = n.exec;
    f.exit = n.exit;
    f.exec_failed = n.exec_failed;
    f.kernel_lost = probes_->drops();
    f.client_lost = server_->lines_dropped_total();
    server_->for_each_client([&](const Client& c) {
        f.clients.push_back(
            {c.id(), c.peer().pid, c.peer().uid, c.lines_sent(), c.lines_dropped(), c.queued_bytes()});
    });
    f.process_table = table_.size();
    f.ring_size = reader_->capacity();
    f.ring_queued = reader_->queued_bytes();
    f.wakeups = reader_->wakeups();
    f.timer_drains = reader_->timer_drains();
    f.decode_errors = n.decode_errors;
    f.duplicate_exits = n.duplicate_exits;
    f.last_seq = stream_.last_seq();
    f.replay_limit = stream_.capacity();
    f.replay_bytes = stream_.bytes();
    f.replay_lines = stream_.lines();
    f.replay_first_seq = stream_.first_kept();
    if (file_sink_) {
        FileSinkCounters c = file_sink_->counters();
        f.file =
            FileStats{file_sink_->path(), c.written, c.lost_slow, c.lost_error, c.queued_bytes, c.rotations};
    }
    if (provenance_)
        f.provenance = provenance_->stats();
    return f;
}

std::string Daemon::stats() const {
    return stats_line(clock_, stats_facts());
}

std::string Daemon::metrics_text() const {
    MetricsFacts m;
    m.stats = stats_facts();
    m.version = EXECMOND_VERSION;
    m.probe_mode = probes_->mode_name();
    m.parent_path = to_string(probes_->parent_path());
    m.start_time_s = started_wall_s_;
    return prometheus_text(m);
}

std::string Daemon::status_text() const {
    const PipelineCounters& n = pipeline_->counters();
    return "streaming: " + std::to_string(n.exec) + " execs, " + std::to_string(n.fork) + " forks, " +
           std::to_string(n.exit) + " exits; " + std::to_string(kernel_lost_reported_.total()) + " lost; " +
           std::to_string(server_->client_count()) + " clients";
}

void Daemon::on_clock_step() {
    if (!clock_.resample())
        return;
    // Every time and hello.boot_time from now on follow the new wall clock.
    encoder_.clock_changed();
    std::string was = BootClock::format_rfc3339(clock_.previous_boot_realtime_ns());
    std::string now = BootClock::format_rfc3339(clock_.boot_realtime_ns());
    log::notice("wall clock stepped: boot time " + was + " -> " + now, {{"EXECMOND_BOOT_TIME", now}});
    // Numbered and kept like lost and gap lines: a resuming client learns of it too.
    publish_to_all(stream_, fanout_, [&](uint64_t seq) { return clock_line(clock_, seq); });
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
    report_kernel_drops();
    server_->reap_stuck(std::chrono::seconds(options_.client_timeout_s));
    auto now = std::chrono::steady_clock::now();
    server_->for_each_client([&](Client& c) {
        unsigned every = c.subscription().stats_interval_s;
        if (every != 0 && now >= c.next_stats) {
            c.next_stats = now + std::chrono::seconds(every);
            c.send(share(stats()));
        }
    });
    if (file_sink_) {
        file_sink_->tick(now);
        unsigned every = file_sink_->subscription().stats_interval_s;
        if (every != 0 && now >= file_sink_->next_stats) {
            file_sink_->next_stats = now + std::chrono::seconds(every);
            file_sink_->send(share(stats()));
        }
    }
    if (ticks_ % 5 == 0)
        notifier_.status(status_text());
    if (ticks_ % state_every_ticks == 0)
        save_state(SaveMode::background);
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
    if (stopping_)
        return;
    stopping_ = true;
    log::info(std::string(why) + ": stopping");
    notifier_.stopping();
    server_->stop_accepting();
    if (metrics_)
        metrics_->stop();
    drain_for_shutdown();
    reader_->stop();
    clock_steps_.stop();
    save_state(SaveMode::final); // after the stream's last line
    tick_timer_.cancel();
    watchdog_timer_.cancel();
    // Done when the last client has read everything queued for it; a client
    // that does not read must not hold the exit past systemd's patience.
    server_->flush_and_close([this] { io_.stop(); });
    shutdown_deadline_.expires_after(shutdown_flush_time);
    shutdown_deadline_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec)
            io_.stop();
    });
}

void Daemon::drain_for_shutdown() {
    LostCounts lost = final_drain(*pipeline_,
                                  {.detach = [this] { probes_->detach(); },
                                   .drain_all =
                                       [this] {
                                           reader_->drain_all();
                                       }},
                                  shutdown_drain_time);
    report_kernel_drops();
    if (lost.total() == 0)
        return;
    log::warning("stopping: " + std::to_string(lost.total()) + " records still in the ring were not sent (" +
                     std::to_string(lost.exec) + " exec, " + std::to_string(lost.fork) + " fork, " +
                     std::to_string(lost.exit) + " exit)",
                 {{"EXECMOND_LOST", std::to_string(lost.total())}});
    publish_to_all(stream_, fanout_,
                   [&](uint64_t seq) { return records_lost_line(clock_, lost, "shutdown", seq); });
}

} // namespace execmond
