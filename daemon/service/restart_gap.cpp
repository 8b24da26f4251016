#include "restart_gap.hpp"

#include <algorithm>
#include <fcntl.h>
#include <unistd.h>
#include <unordered_map>

namespace execmond {

namespace {

// Seeded keys come from /proc, keys of processes seen forking from the probes'
// start time with /proc's rounding; in fork-map mode that start is the fork's
// time, a tick off at most. A live pid is never reused within a tick.
bool same_start(uint64_t a, uint64_t b) {
    return (a > b ? a - b : b - a) <= 1;
}

} // namespace

std::optional<std::string> read_cmdline(const std::string& proc_root, Pid pid, size_t max, bool& truncated) {
    truncated = false;
    std::string path = proc_root + "/" + std::to_string(pid) + "/cmdline";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return std::nullopt;
    std::string out(max + 1, '\0');
    size_t got = 0;
    while (got < out.size()) {
        ssize_t n = ::read(fd, out.data() + got, out.size() - got);
        if (n <= 0)
            break;
        got += static_cast<size_t>(n);
    }
    ::close(fd);
    if (got > max) {
        truncated = true;
        got = max;
    }
    out.resize(got);
    return out;
}

std::vector<ProcessKey> live_keys(const ProcessTable& table) {
    std::vector<ProcessKey> keys;
    keys.reserve(table.size());
    table.for_each([&](const ProcessInfo& p) {
        if (!p.exited)
            keys.push_back({p.pid, p.start_ticks});
    });
    std::sort(keys.begin(), keys.end(),
              [](const ProcessKey& a, const ProcessKey& b) { return a.pid < b.pid; });
    return keys;
}

GapFacts compute_gap(const LoadedState& loaded, std::string_view boot_id, const ProcessTable& table,
                     const CmdlineReader& cmdline) {
    GapFacts g;
    g.state = loaded.status;
    if (!loaded.state)
        return g; // nothing known of the previous run: nothing to compare
    const SavedState& s = *loaded.state;
    g.previous = PreviousRun{s.stream_id,           s.boot_id, s.last_seq, s.written_realtime_ns,
                             s.written_boottime_ns, s.clean};
    if (s.boot_id != boot_id) {
        // Every process it knew ended with that boot, and every process now
        // started since: the lists would only repeat /proc.
        g.rebooted = true;
        return g;
    }
    std::unordered_map<Pid, uint64_t> known;
    known.reserve(s.processes.size());
    for (const ProcessKey& k : s.processes)
        known.emplace(k.pid, k.start_ticks);

    std::vector<const ProcessInfo*> fresh;
    table.for_each([&](const ProcessInfo& p) {
        if (p.exited)
            return;
        auto it = known.find(p.pid);
        if (it == known.end() || !same_start(it->second, p.start_ticks))
            fresh.push_back(&p);
    });
    std::sort(fresh.begin(), fresh.end(), [](const ProcessInfo* a, const ProcessInfo* b) {
        return a->start_ticks != b->start_ticks ? a->start_ticks < b->start_ticks : a->pid < b->pid;
    });
    for (const ProcessInfo* p : fresh) {
        if (g.started.size() == gap_limit) {
            g.truncated = true;
            break;
        }
        GapProcess gp;
        gp.pid = p->pid;
        gp.ppid = p->ppid;
        gp.start_ticks = p->start_ticks;
        gp.start_boottime_ns = p->start_ns;
        gp.uid = p->uid;
        gp.comm = p->comm;
        gp.filename = p->filename;
        if (const ProcessInfo* parent = table.find(p->ppid); parent && !parent->exited)
            gp.parent_start_ticks = parent->start_ticks;
        if (cmdline) {
            auto args = cmdline(p->pid, gp.args_truncated);
            if (!args)
                continue; // exited since the table was seeded
            gp.args = std::move(*args);
        }
        g.started.push_back(std::move(gp));
    }

    for (const ProcessKey& k : s.processes) {
        const ProcessInfo* now = table.find(k.pid);
        if (now && !now->exited && same_start(now->start_ticks, k.start_ticks))
            continue;
        if (g.exited.size() == gap_limit) {
            g.truncated = true;
            break;
        }
        g.exited.push_back(std::to_string(k.pid) + ":" + std::to_string(k.start_ticks));
    }
    return g;
}

} // namespace execmond
