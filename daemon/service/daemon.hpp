// Wires the pipeline together and runs it on one Asio loop:
// probes -> ring reader -> process table -> encoder -> socket server.
#pragma once

#include "boot_clock.hpp"
#include "cgroup_paths.hpp"
#include "clock_steps.hpp"
#include "encoder.hpp"
#include "notifier.hpp"
#include "options.hpp"
#include "probes.hpp"
#include "process_table.hpp"
#include "ring_reader.hpp"
#include "socket_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <optional>

namespace execmond {

struct Counters {
    uint64_t fork = 0;
    uint64_t exec = 0;
    uint64_t exit = 0;
    uint64_t decode_errors = 0;
    uint64_t duplicate_exits = 0; // second exit records of one process, dropped
    uint64_t lines = 0;
};

class Daemon {
public:
    explicit Daemon(Options options);
    // Runs until SIGTERM/SIGINT; returns the exit code.
    int run();

private:
    void start_probes();
    void seed();
    void on_record(const void* data, size_t size);
    void correct_parent(Event& e);
    void after_drain();
    void check_kernel_drops();
    void on_request(Client& client, std::string_view line);
    void tick();
    void on_clock_step();
    void schedule_tick();
    void schedule_watchdog(std::chrono::microseconds interval);
    void shutdown(const char* why);
    void poll_flush();
    Line hello_line() const;
    std::string stats_line() const;
    std::string status_text() const;

    Options options_;
    // One thread: completions queue privately instead of interrupting epoll.
    boost::asio::io_context io_;
    Notifier notifier_;
    BootClock clock_;
    ProcessTable table_;
    CgroupPaths cgroups_;
    Encoder encoder_;
    ClockSteps clock_steps_;
    std::optional<Probes> probes_;
    std::unique_ptr<SocketServer> server_;
    std::unique_ptr<RingReader> reader_;
    boost::asio::signal_set signals_;
    boost::asio::steady_timer tick_timer_;
    boost::asio::steady_timer watchdog_timer_;
    boost::asio::steady_timer shutdown_timer_;
    std::chrono::steady_clock::time_point flush_deadline_{};
    std::chrono::steady_clock::time_point drain_deadline_{};
    LostCounts shutdown_lost_{}; // records left in the ring when the drain deadline passed
    std::vector<const ProcessInfo*> ancestors_;
    uint64_t monotonic_to_boottime_ns_ = 0; // records' CLOCK_MONOTONIC -> CLOCK_BOOTTIME
    Counters counters_;
    LostCounts kernel_lost_reported_;
    std::chrono::steady_clock::time_point last_drop_check_{};
    std::chrono::steady_clock::time_point started_;
    unsigned ticks_ = 0;
    size_t evicted_since_trim_ = 0; // table entries evicted since the last malloc_trim
    bool stopping_ = false;
};

} // namespace execmond
