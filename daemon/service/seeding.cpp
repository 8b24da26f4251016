#include "seeding.hpp"

#include "log.hpp"
#include "proc_reader.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>

namespace execmond {

namespace {

std::string follow_error(Pid pid, int err) {
    return "--follow: add pid " + std::to_string(pid) +
           " to the kernel's follow set: " + std::strerror(-err) +
           (err == -E2BIG ? " (the set holds as many processes as the system can run)" : "");
}

} // namespace

void follow_roots(Probes& probes, const std::vector<pid_t>& roots) {
    // Descendants running now go in too, before attach: a child that one of
    // them forks once the probes run is then followed from its fork. (Taking
    // them from /proc after attach leaves a window in which such children
    // exec unreported.)
    bool proc_usable = pid_namespace_mismatch().empty();
    for (pid_t root : roots) {
        if (kill(root, 0) != 0 && errno == ESRCH)
            throw ProbeError("--follow " + std::to_string(root) + ": no such process", exit_usage);
        std::vector<Pid> pids{static_cast<Pid>(root)};
        if (proc_usable)
            for (Pid child : ProcReader().descendants(static_cast<Pid>(root)))
                pids.push_back(child);
        for (Pid pid : pids)
            if (int err = probes.follow(pid))
                throw ProbeError(follow_error(pid, err), exit_failure);
        log::info("following pid " + std::to_string(root) + " and its descendants (" +
                  std::to_string(pids.size() - 1) + " running)");
    }
}

void seed(Probes& probes, ProcessTable& table, const std::vector<pid_t>& roots) {
    if (auto why = pid_namespace_mismatch(); !why.empty()) {
        // /proc's pids are not the probes' pids: seeding from it would give
        // processes the ancestry of strangers that share their numbers.
        log::warning(why + ": the probes report host pids but /proc here shows other pids; not reading "
                           "/proc, so processes started before execmond have no ancestry. Run execmond in "
                           "the host pid namespace (e.g. docker --pid=host).",
                     {{"EXECMOND_PID_NAMESPACE", "mismatch"}});
        table.disable_proc();
    }
    table.seed();
    if (probes.parent_path() == ParentPath::fork_map) {
        // Processes that existed before the probes: the fork probe never saw them.
        ProcReader proc;
        for (Pid pid : proc.list_pids())
            if (const ProcessInfo* p = table.find(pid))
                probes.seed_parent(pid, p->ppid);
    }
    if (!table.proc_enabled())
        return;
    // Descendants forked between follow_roots()' scan and attach() were seen
    // by no fork probe: take them from the table just seeded.
    if (roots.empty())
        return;
    table.for_each_live([&](const ProcessInfo& p) {
        for (pid_t root : roots)
            if (table.descends_from(p.pid, static_cast<Pid>(root))) {
                if (int err = probes.follow(p.pid))
                    throw ProbeError(follow_error(p.pid, err), exit_failure);
                return;
            }
    });
}

} // namespace execmond
