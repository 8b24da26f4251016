// The daemon's life cycle on one Asio loop: start the stages in order
// (probes -> ring reader -> process table -> pipeline -> output file, socket
// server, metrics endpoint),
// housekeeping and watchdog timers, and a bounded shutdown that ends when the
// last client has been flushed or a deadline passes. The per-record work is
// the Pipeline's (stream/pipeline.hpp); every line's text is the protocol's.
#pragma once

#include "boot_clock.hpp"
#include "cgroup_paths.hpp"
#include "clock_steps.hpp"
#include "encoder.hpp"
#include "fanout.hpp"
#include "file_sink.hpp"
#include "metrics_server.hpp"
#include "notifier.hpp"
#include "options.hpp"
#include "pipeline.hpp"
#include "probes.hpp"
#include "process_table.hpp"
#include "requests.hpp"
#include "ring_reader.hpp"
#include "socket_server.hpp"
#include "state_file.hpp"
#include "stream_log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <optional>

namespace execmond {

class Daemon {
public:
    explicit Daemon(Options options);
    // Runs until SIGTERM/SIGINT; returns the exit code.
    int run();

private:
    void start();
    void wait_signal();
    void on_drained();
    void report_kernel_drops();
    void on_clock_step();
    void tick();
    void schedule_tick();
    void schedule_watchdog(std::chrono::microseconds interval);
    void shutdown(const char* why);
    void drain_for_shutdown();
    void publish_gap(const LoadedState& previous);
    enum class SaveMode { background, now, final };
    void save_state(SaveMode mode);
    uint64_t connect_point() const;
    std::string hello() const;
    StatsFacts stats_facts() const;
    std::string stats() const;
    std::string metrics_text() const;
    std::string status_text() const;

    Options options_;
    // One thread: completions queue privately instead of interrupting epoll.
    boost::asio::io_context io_;
    Notifier notifier_;
    BootClock clock_;
    ProcessTable table_;
    CgroupPaths cgroups_;
    Encoder encoder_;
    Fanout fanout_;
    // The stream's numbering and replay buffer, and its name (hello.stream_id).
    StreamLog stream_;
    std::string boot_id_;
    std::string stream_id_;
    uint64_t gap_seq_ = 0;
    StateWriter state_writer_;
    std::optional<Probes> probes_;
    std::unique_ptr<ExeProvenance> provenance_; // --hash / --packages
    std::optional<Pipeline> pipeline_;
    RequestContext requests_;
    std::unique_ptr<FileSink> file_sink_;
    std::unique_ptr<SocketServer> server_;
    std::unique_ptr<MetricsServer> metrics_;
    std::unique_ptr<RingReader> reader_;
    ClockSteps clock_steps_;
    boost::asio::signal_set signals_;
    boost::asio::steady_timer tick_timer_;
    boost::asio::steady_timer watchdog_timer_;
    boost::asio::steady_timer shutdown_deadline_;
    LostCounts kernel_lost_reported_;
    std::chrono::steady_clock::time_point last_drop_check_{};
    std::chrono::steady_clock::time_point started_;
    double started_wall_s_ = 0;
    unsigned ticks_ = 0;
    size_t evicted_since_trim_ = 0; // table entries evicted since the last malloc_trim
    bool stopping_ = false;
};

} // namespace execmond
