#include "snapshot.hpp"

#include "protocol.hpp"

namespace execmond {

void send_snapshot(Subscriber& to, const ProcessTable& table, CgroupPaths& cgroups, const Encoder& encoder,
                   const BootClock& clock) {
    uint64_t count = 0;
    std::string answer;
    table.for_each_live([&](const ProcessInfo& p) {
        const ProcessInfo* parent = p.ppid != 0 ? table.find(p.ppid) : nullptr;
        const CgroupPaths::Entry* cg = p.cgroup_id != 0 ? cgroups.lookup(p.cgroup_id, p.pid) : nullptr;
        answer += encoder.process(p, parent, cg ? std::string_view(cg->path) : std::string_view{},
                                  cg && !cg->container.empty() ? &cg->container : nullptr);
        ++count;
    });
    answer += snapshot_end_line(clock, BootClock::now_boottime_ns(), count);
    to.send_whole(share(std::move(answer)));
}

} // namespace execmond
