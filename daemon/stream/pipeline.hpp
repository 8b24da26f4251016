// One record's way from the ring to the clients: decode, correct the parent
// (fork-map mode), update the process table, match each subscription, build
// the lineage and encode once for all who want it, fan out. No kernel and no
// sockets here: the daemon feeds it the ring, unit tests feed it recorded
// record bytes, and bench/encode_bench times it.
#pragma once

#include "cgroup_paths.hpp"
#include "encoder.hpp"
#include "event.hpp"
#include "fanout.hpp"
#include "process_table.hpp"
#include "stream_log.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace execmond {

struct PipelineConfig {
    unsigned ancestors_depth = 64;
    std::vector<std::string> env_names; // --env: kept of each exec's environment
    // Fork-map mode: the probes' parents are those at fork; take the current
    // one from the table and tell the kernel's map through this (else empty).
    std::function<void(Pid child, Pid parent)> reparent;
    // --hash / --packages: exec lines say what is known of the file run.
    ExeProvenance* provenance = nullptr;
    // Numbers every record's line and keeps it for replay (null: the
    // pipeline numbers its lines itself and keeps none).
    StreamLog* log = nullptr;
};

struct PipelineCounters {
    uint64_t fork = 0;
    uint64_t exec = 0;
    uint64_t exit = 0;
    uint64_t exec_failed = 0;
    uint64_t decode_errors = 0;
    uint64_t duplicate_exits = 0; // second exit records of one process, dropped
    uint64_t lines = 0;           // event lines encoded (each once, whatever the clients)
    uint64_t exe_hash_lines = 0;  // exe_hash lines encoded
    uint64_t last_seq = 0;        // the seq of the last record turned into the stream
    LostCounts discarded;         // records counted, not encoded, past discard_from()'s deadline
};

class Pipeline {
public:
    Pipeline(PipelineConfig config, ProcessTable& table, CgroupPaths& cgroups, Encoder& encoder,
             const Fanout& fanout);

    void on_record(const void* data, size_t size);
    // The worker's result for an exec whose line went out without it: an
    // exe_hash line, to the subscribers whose filters the exec passes.
    void on_exe_facts(const PendingExec& exec, const ExeFacts& facts);

    // CLOCK_BOOTTIME - CLOCK_MONOTONIC: the probes stamp CLOCK_MONOTONIC.
    void set_monotonic_to_boottime(uint64_t ns) { monotonic_to_boottime_ns_ = ns; }
    // Records handled at or after `deadline` are only counted (in
    // counters().discarded): a shutdown drain must end within systemd's patience.
    void discard_from(std::chrono::steady_clock::time_point deadline) {
        discard_deadline_ = deadline;
        discard_armed_ = true;
    }

    const PipelineCounters& counters() const { return counters_; }

private:
    // Null for a record that says nothing new (a second exit of one process).
    const ProcessInfo* update_table(Event& e);
    void fan_out(const Event& e, const ProcessInfo& self, uint64_t seq);
    void record_chain(Pid ppid, bool& cut);

    PipelineConfig config_;
    ProcessTable& table_;
    CgroupPaths& cgroups_;
    Encoder& encoder_;
    const Fanout& fanout_;
    StreamLog own_log_;
    StreamLog& log_;
    std::vector<const ProcessInfo*> ancestors_; // reused by every exec
    ExeFacts exe_facts_;                        // likewise
    std::vector<Pid> chain_;                    // reused by every kept line
    uint64_t monotonic_to_boottime_ns_ = 0;
    std::chrono::steady_clock::time_point discard_deadline_{};
    bool discard_armed_ = false;
    PipelineCounters counters_;
};

} // namespace execmond
