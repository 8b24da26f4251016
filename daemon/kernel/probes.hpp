// The kernel side's life cycle: find what the kernel offers, enable the
// fitting program set of the one probe object (tp_btf with the kernel's BTF,
// raw tracepoints relocated against a --btf file, or classic tracepoints
// with a fork-filled parent map), configure it, load, attach in order (fork
// first, so every exec's parent is known), and detach everything on
// destruction. Owns every kernel object it creates.
#pragma once

#include "event.hpp"
#include "exit_codes.hpp"
#include "probe_plan.hpp"
#include "tracefs.hpp"

#include <bpf/libbpf.h>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct execmond_bpf;

namespace execmond {

struct ProbeConfig {
    ProbeMode mode = ProbeMode::automatic;
    std::string btf_path; // relocate against this BTF file when the kernel has none
    uint64_t ring_size = 8u << 20;
    uint64_t wakeup_bytes = 0; // 0: a quarter of the ring
    bool follow = false;
    bool exec_failures = false; // load and attach bpf/exec_failed.bpf.h (needs tracefs)
    bool env = false;           // copy each exec's environment area (bpf/env.bpf.h)
    uint32_t max_processes = 0; // sizes the pid-keyed maps; 0: from the kernel's limits
    // How long a record may wait before the reader is woken (--latency-us);
    // 0: every record we have caught up with wakes it.
    uint64_t latency_ns = 1'000'000;
    // Who batches wake-ups by time (--wakeup-timer): a kernel timer
    // (bpf/wake_timer.bpf.h; kernel BTF and Linux 5.15+), the reader's own
    // (RingReader), or the first of these the kernel allows (the default).
    enum class WakeupTimer { automatic, kernel, reader };
    WakeupTimer wakeup_timer = WakeupTimer::automatic;
};

// A failure with the exit code it should end the daemon with.
struct ProbeError : std::runtime_error {
    int exit_code;
    ProbeError(const std::string& what, int code) : std::runtime_error(what), exit_code(code) {}
};

enum class ParentPath { btf, offsets, fork_map };
const char* to_string(ParentPath p);

class Probes {
public:
    // Throws ProbeError with an actionable message; a rejected program's
    // verifier log tail is logged at error level first.
    static Probes load(const ProbeConfig& config);
    Probes(Probes&&) noexcept;
    Probes& operator=(Probes&&) = delete;
    ~Probes();

    void attach();
    void detach();

    int ring_fd() const;
    // The ring of wake records the reader waits on when timer_wakeups().
    int wake_ring_fd() const;
    // The probes' reader_timer_armed flag in their mmap'ed .bss (the wake-up
    // policy, bpf/execmond_common.bpf.h); null if not mapped.
    volatile uint32_t* reader_timer_flag() const;
    // Bytes queued past which the probes force a wake-up (--wakeup-bytes).
    uint64_t wakeup_bytes() const;
    // A kernel timer batches wake-ups: the reader drains whenever woken and
    // keeps no timer of its own.
    bool timer_wakeups() const { return timer_wakeups_; }
    LostCounts drops() const; // cumulative kernel-side reservation failures
    // Adds a process to the kernel's follow set; 0 or the negative errno of
    // the map update (-E2BIG: the set is full).
    int follow(Pid pid);
    void seed_parent(Pid child, Pid parent);   // fork-map path: only if unknown
    void update_parent(Pid child, Pid parent); // fork-map path: after a reparenting

    ParentPath parent_path() const;
    ProbeSet probe_set() const { return set_; }
    // "tp_btf" with the kernel's BTF, "classic" without it (the hello line's probe_mode).
    const char* mode_name() const { return set_ == ProbeSet::tp_btf ? "tp_btf" : "classic"; }

private:
    using SkeletonPtr = std::unique_ptr<execmond_bpf, void (*)(execmond_bpf*)>;
    using LinkPtr = std::unique_ptr<bpf_link, int (*)(bpf_link*)>;
    Probes(SkeletonPtr skel, ProbeSet set, bool exec_failures, bool timer_wakeups,
           std::optional<TracefsMount> tracefs);

    // Declaration order is destruction order in reverse: links go first.
    std::optional<TracefsMount> tracefs_;
    SkeletonPtr skel_;
    ProbeSet set_;
    bool exec_failures_ = false;
    bool timer_wakeups_ = false;
    std::vector<LinkPtr> links_;
};

// Root, or CAP_BPF and CAP_PERFMON (CAP_SYS_ADMIN also does)? Empty if so,
// else what is missing.
std::string missing_capabilities();

// min(pid_max, threads-max) with headroom: how many processes can be live.
uint32_t max_live_processes();

} // namespace execmond
