// pid -> what we know of each live process: its parents (current and at
// fork), identity across pid reuse (pid + start time), and what it runs.
// Fed by fork/exec/exit events, seeded from /proc before the probes report.
#pragma once

#include "event.hpp"
#include "proc_reader.hpp"

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace execmond {

// How the table learned what a process runs.
enum class KnownFrom : uint8_t { proc, fork, exec };
const char* to_string(KnownFrom k);

struct ProcessInfo {
    Pid pid = 0;
    Pid ppid = 0;      // current parent (reparenting shows here)
    Pid fork_ppid = 0; // parent at fork time; 0 if the fork was not seen
    uint64_t start_ticks = 0;
    KtimeNs start_ns = 0; // start_boottime in ns (tick precision when seeded)
    KtimeNs exit_ns = 0;  // when its exit was seen (exited only)
    uint32_t uid = 0;
    uint64_t cgroup_id = 0;
    std::string comm;
    std::string filename; // last exec'd path, or /proc/PID/exe when seeded
    std::string args;     // NUL-separated argv as last known, at most max_cmdline bytes
    bool args_truncated = false;
    // Shared: a forked child points at its parent's until it execs, so the
    // churn of forks allocates nothing for it.
    std::shared_ptr<const ProcessIdentity> shared_identity;
    const ProcessIdentity& identity() const {
        static const ProcessIdentity none;
        return shared_identity ? *shared_identity : none;
    }
    uint32_t gid = 0;
    KnownFrom known_from = KnownFrom::proc;
    bool kernel_thread = false;
    bool exited = false;

    std::string key() const; // "pid:start_ticks", stable across pid reuse
};

// What on_exit() made of an exit record.
struct ExitResult {
    const ProcessInfo& process;
    // The process's exit was already seen: several of its threads reached the
    // exit tracepoint together. Not to be reported again.
    bool duplicate = false;
};

class ProcessTable {
public:
    // How long an exited process stays listed, so that records produced
    // around its exit (children's execs racing the reparenting) still
    // resolve it. Bounded memory: exits are evicted in order.
    static constexpr KtimeNs exit_grace_ns = 2'000'000'000;

    explicit ProcessTable(ProcReader proc = ProcReader());

    // Fills the table with every live process from /proc.
    void seed();
    void seed_one(const ProcSnapshot& s);

    const ProcessInfo& on_fork(const Event& e);
    const ProcessInfo& on_exec(const Event& e);
    // The process stays until exit_grace_ns after its exit. A second exit of
    // the same process changes nothing and comes back as a duplicate.
    ExitResult on_exit(const Event& e);
    // Returns how many entries it removed.
    size_t evict_expired(KtimeNs now);

    const ProcessInfo* find(Pid pid) const;
    // Every process not known to have exited, in no particular order.
    template <typename Fn> void for_each_live(Fn&& fn) const {
        for (const auto& [pid, p] : table_)
            if (!p.exited)
                fn(p);
    }
    // Nearest parent first, up to pid 1 or `depth` entries; stops at unknown
    // pids and loops. A parent that has exited or vanished is re-read from
    // /proc for the child above it, so reparented orphans show their new
    // parent.
    void ancestors(Pid ppid, unsigned depth, std::vector<const ProcessInfo*>& out);
    // Is `pid` `root` or below it?
    bool descends_from(Pid pid, Pid root) const;
    // The fork-map path only knows the parent a process had at fork. Once
    // that parent has exited (or was never seen), the process was reparented
    // to init or a subreaper: returns its parent per /proc then, else
    // `recorded`.
    Pid current_parent(Pid pid, Pid recorded);

    // When /proc numbers processes differently from the probes (execmond in
    // a child pid namespace), never read it: seed() and the parent refreshes
    // become no-ops.
    void disable_proc() { proc_enabled_ = false; }
    bool proc_enabled() const { return proc_enabled_; }

    // Every entry, exited ones included (in no particular order).
    template <typename Fn> void for_each(Fn&& fn) const {
        for (const auto& [pid, p] : table_)
            fn(p);
    }

    size_t size() const { return table_.size(); }
    size_t pending_evictions() const { return exits_.size(); }

private:
    ProcessInfo& upsert(Pid pid, uint64_t start_ticks, bool& fresh);
    uint64_t ticks_of(const Event& e) const;
    void refresh_parent(ProcessInfo& child);

    ProcReader proc_;
    bool proc_enabled_ = true;
    std::unordered_map<Pid, ProcessInfo> table_;
    std::shared_ptr<const ProcessIdentity> last_identity_; // the last one on_exec() made
    struct PendingExit {
        KtimeNs at;
        Pid pid;
        uint64_t start_ticks;
    };
    std::deque<PendingExit> exits_;
};

} // namespace execmond
