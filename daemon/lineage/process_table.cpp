#include "process_table.hpp"

#include <algorithm>
#include <thread>

namespace execmond {

const char* to_string(KnownFrom k) {
    switch (k) {
    case KnownFrom::proc:
        return "proc";
    case KnownFrom::fork:
        return "fork";
    case KnownFrom::exec:
        return "exec";
    }
    return "proc";
}

std::string ProcessInfo::key() const {
    return std::to_string(pid) + ":" + std::to_string(start_ticks);
}

// Room for an exec storm's processes (exited ones stay 2 s) from the start:
// growing the table rehashes every entry, cache miss by cache miss, while
// the storm waits. 128 KiB of buckets.
ProcessTable::ProcessTable(ProcReader proc) : proc_(std::move(proc)) {
    table_.reserve(16384);
}

void ProcessTable::seed() {
    if (!proc_enabled_)
        return;
    for (const ProcSnapshot& s : proc_.read_all(std::clamp(std::thread::hardware_concurrency(), 2u, 8u)))
        seed_one(s);
}

void ProcessTable::seed_one(const ProcSnapshot& s) {
    // An event may already have described this process more precisely.
    if (auto it = table_.find(s.pid); it != table_.end() && it->second.start_ticks == s.start_ticks)
        return;
    ProcessInfo p;
    p.pid = s.pid;
    p.ppid = s.ppid;
    p.start_ticks = s.start_ticks;
    p.start_ns = s.start_ticks * ns_per_tick();
    p.uid = s.uid;
    p.gid = s.gid;
    p.comm = s.comm;
    p.filename = s.exe;
    p.args = s.cmdline;
    p.args_truncated = s.cmdline_truncated;
    p.kernel_thread = s.kernel_thread;
    p.shared_identity = std::make_shared<const ProcessIdentity>(s.identity);
    p.known_from = KnownFrom::proc;
    table_[s.pid] = std::move(p);
}

uint64_t ProcessTable::ticks_of(const Event& e) const {
    // The same rounding /proc uses, so seeded and probed keys agree.
    return e.start_boottime_ns / ns_per_tick();
}

ProcessInfo& ProcessTable::upsert(Pid pid, uint64_t start_ticks, bool& fresh) {
    auto [it, inserted] = table_.try_emplace(pid);
    ProcessInfo& p = it->second;
    // A different start time is a different process that reused the pid:
    // it must not inherit anything from the old one. Except one tick off
    // for a live entry: the classic probes time a fork at task_newtask, a
    // little after the task's start, and a live pid is never reused.
    uint64_t off = start_ticks > p.start_ticks ? start_ticks - p.start_ticks : p.start_ticks - start_ticks;
    fresh = inserted || (start_ticks != 0 && off != 0 && (off > 1 || p.exited));
    if (fresh && !inserted)
        p = ProcessInfo{};
    p.pid = pid;
    return p;
}

const ProcessInfo& ProcessTable::on_fork(const Event& e) {
    bool fresh = false;
    // Without a start time from the probe (fork-map mode) the fork is the start.
    KtimeNs start = e.start_boottime_ns ? e.start_boottime_ns : e.ktime_ns;
    uint64_t ticks = start / ns_per_tick();
    ProcessInfo& p = upsert(e.pid, ticks, fresh);
    if (!fresh && p.exited) {
        p = ProcessInfo{};
        p.pid = e.pid;
    }
    p.start_ticks = ticks;
    p.start_ns = start;
    p.ppid = e.ppid;
    p.fork_ppid = e.ppid;
    p.uid = e.uid;
    p.cgroup_id = e.cgroup_id;
    p.gid = e.gid;
    p.comm = e.comm;
    p.exited = false;
    p.known_from = KnownFrom::fork;
    // A forked child runs its parent's image until it execs.
    if (const ProcessInfo* parent = find(e.ppid)) {
        p.filename = parent->filename;
        p.args = parent->args;
        p.args_truncated = parent->args_truncated;
        p.shared_identity = parent->shared_identity;
    }
    return p;
}

const ProcessInfo& ProcessTable::on_exec(const Event& e) {
    bool fresh = false;
    ProcessInfo& p = upsert(e.pid, ticks_of(e), fresh);
    if (fresh) {
        p.start_ticks = ticks_of(e);
        p.start_ns = e.start_boottime_ns;
    }
    if (e.ppid != 0 || fresh)
        p.ppid = e.ppid;
    p.uid = e.uid;
    p.cgroup_id = e.cgroup_id;
    p.gid = e.gid;
    p.comm = e.comm;
    p.filename = e.filename;
    p.args.assign(e.args.substr(0, max_cmdline));
    // A cut argument area ends without its NUL, as on exec lines.
    p.args_truncated =
        e.args_truncated || e.args.size() > max_cmdline || (!e.args.empty() && e.args.back() != '\0');
    // Most execs run where and as their parent or the previous exec did (a
    // build, a storm): the identity is shared, not built again, then.
    std::string_view cwd = e.identity_known ? e.cwd : std::string_view();
    std::string_view exe = e.identity_known ? e.exe : std::string_view();
    uint32_t tty_dev = e.identity_known ? e.tty_dev : 0;
    uint32_t auid = e.audit_known ? e.auid : unset_id;
    uint32_t session_id = e.audit_known ? e.session_id : unset_id;
    auto same = [&](const std::shared_ptr<const ProcessIdentity>& id) {
        return id && id->known == e.identity_known && id->cwd == cwd && id->exe == exe &&
               id->tty_dev == tty_dev && id->audit_known == e.audit_known && id->auid == auid &&
               id->session_id == session_id;
    };
    if (!same(p.shared_identity)) {
        if (!same(last_identity_)) {
            ProcessIdentity id;
            id.known = e.identity_known;
            id.cwd.assign(cwd);
            id.exe.assign(exe);
            id.tty_dev = tty_dev;
            id.audit_known = e.audit_known;
            id.auid = auid;
            id.session_id = session_id;
            last_identity_ = std::make_shared<const ProcessIdentity>(std::move(id));
        }
        p.shared_identity = last_identity_;
    }
    p.known_from = KnownFrom::exec;
    p.exited = false;
    return p;
}

ExitResult ProcessTable::on_exit(const Event& e) {
    // Exited already, and the record's task started before that exit: a
    // thread of the same process (a process reusing the pid starts after the
    // old one is gone). Its start time may be the thread's own, so this is
    // decided before upsert() could take it for a new process.
    if (auto it = table_.find(e.pid); it != table_.end() && it->second.exited &&
                                      (e.start_boottime_ns == 0 || e.start_boottime_ns <= it->second.exit_ns))
        return {it->second, true};
    bool fresh = false;
    ProcessInfo& p = upsert(e.pid, ticks_of(e), fresh);
    if (fresh) {
        p.start_ticks = ticks_of(e);
        p.start_ns = e.start_boottime_ns;
        p.comm = e.comm;
    }
    if (e.ppid != 0)
        p.ppid = e.ppid;
    if (!p.exited)
        exits_.push_back({e.ktime_ns, p.pid, p.start_ticks});
    p.exited = true;
    p.exit_ns = e.ktime_ns;
    return {p, false};
}

size_t ProcessTable::evict_expired(KtimeNs now) {
    size_t evicted = 0;
    while (!exits_.empty() && now >= exits_.front().at && now - exits_.front().at >= exit_grace_ns) {
        const PendingExit& x = exits_.front();
        auto it = table_.find(x.pid);
        // Only the process that exited: the pid may have been reused since.
        if (it != table_.end() && it->second.exited && it->second.start_ticks == x.start_ticks) {
            table_.erase(it);
            ++evicted;
        }
        exits_.pop_front();
    }
    return evicted;
}

const ProcessInfo* ProcessTable::find(Pid pid) const {
    auto it = table_.find(pid);
    return it == table_.end() ? nullptr : &it->second;
}

void ProcessTable::refresh_parent(ProcessInfo& child) {
    if (!proc_enabled_)
        return;
    auto s = proc_.read_stat(child.pid);
    if (s && s->start_ticks == child.start_ticks)
        child.ppid = s->ppid;
}

void ProcessTable::ancestors(Pid ppid, unsigned depth, std::vector<const ProcessInfo*>& out) {
    out.clear();
    auto it = table_.find(ppid);
    while (it != table_.end() && out.size() < depth) {
        ProcessInfo& current = it->second;
        out.push_back(&current);
        if (current.pid <= 1 || current.ppid == 0)
            break;
        auto parent = table_.find(current.ppid);
        if ((parent == table_.end() || parent->second.exited) && !current.exited) {
            refresh_parent(current);
            parent = table_.find(current.ppid);
        }
        // Pid reuse cannot make a loop with real start times, but a stale
        // entry could; a parent is never younger than its child.
        if (parent == table_.end() || parent->second.start_ticks > current.start_ticks)
            break;
        for (const ProcessInfo* seen : out)
            if (seen == &parent->second)
                return;
        it = parent;
    }
}

Pid ProcessTable::current_parent(Pid pid, Pid recorded) {
    const ProcessInfo* parent = recorded != 0 ? find(recorded) : nullptr;
    if ((parent != nullptr && !parent->exited) || !proc_enabled_)
        return recorded;
    auto s = proc_.read_stat(pid);
    if (!s)
        return recorded;
    // The same process, not a successor on its pid: a start time read at
    // fork in fork-map mode may be a tick off /proc's.
    if (const ProcessInfo* self = find(pid); self != nullptr && self->start_ticks != 0) {
        uint64_t a = self->start_ticks, b = s->start_ticks;
        if ((a > b ? a - b : b - a) > 1)
            return recorded;
    }
    return s->ppid;
}

bool ProcessTable::descends_from(Pid pid, Pid root) const {
    for (unsigned hops = 0; hops < 4096 && pid != 0; ++hops) {
        if (pid == root)
            return true;
        const ProcessInfo* p = find(pid);
        if (p == nullptr || p->pid == p->ppid)
            return false;
        pid = p->ppid;
    }
    return false;
}

} // namespace execmond
