#include "seeding.hpp"

#include "log.hpp"
#include "proc_reader.hpp"

#include <cerrno>
#include <csignal>
#include <string>

namespace execmond {

void follow_roots(Probes& probes, const std::vector<pid_t>& roots) {
    for (pid_t root : roots) {
        if (kill(root, 0) != 0 && errno == ESRCH)
            throw ProbeError("--follow " + std::to_string(root) + ": no such process", exit_usage);
        probes.follow(static_cast<Pid>(root));
        log::info("following pid " + std::to_string(root) + " and its descendants");
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
    // Descendants running before attach(); those forked since, the fork probe adds.
    for (pid_t root : roots)
        for (Pid child : ProcReader().descendants(static_cast<Pid>(root)))
            probes.follow(child);
}

} // namespace execmond
