#include "pipeline.hpp"

#include "log.hpp"
#include "record_decoder.hpp"

#include <ctime>

namespace execmond {

Pipeline::Pipeline(PipelineConfig config, ProcessTable& table, CgroupPaths& cgroups, Encoder& encoder,
                   const Fanout& fanout)
    : config_(std::move(config)), table_(table), cgroups_(cgroups), encoder_(encoder), fanout_(fanout) {}

void Pipeline::on_record(const void* data, size_t size) {
    auto decoded = decode_record(data, size);
    if (auto* err = std::get_if<DecodeError>(&decoded)) {
        if (counters_.decode_errors++ < 10)
            log::warning("bad record from the kernel: " + err->message);
        return;
    }
    Event& e = std::get<Event>(decoded);
    e.ktime_ns += monotonic_to_boottime_ns_;
    if (discard_armed_ && std::chrono::steady_clock::now() >= discard_deadline_) {
        auto& n = e.kind == EventKind::fork   ? counters_.discarded.fork
                  : e.kind == EventKind::exec ? counters_.discarded.exec
                                              : counters_.discarded.exit;
        ++n;
        return;
    }
    const ProcessInfo* self = update_table(e);
    if (self && !fanout_.empty())
        fan_out(e, *self);
}

const ProcessInfo* Pipeline::update_table(Event& e) {
    if (config_.reparent && e.kind != EventKind::fork) {
        // The fork map holds the parent at fork; an orphan's new parent (init
        // or a subreaper) only /proc knows.
        Pid now = table_.current_parent(e.pid, e.ppid);
        if (now != e.ppid) {
            e.ppid = now;
            if (e.kind == EventKind::exec) // an exit already removed the map entry
                config_.reparent(e.pid, now);
        }
    }
    switch (e.kind) {
    case EventKind::fork:
        ++counters_.fork;
        return &table_.on_fork(e);
    case EventKind::exec:
        ++counters_.exec;
        return &table_.on_exec(e);
    case EventKind::exit:
        break;
    }
    ExitResult exit = table_.on_exit(e);
    if (exit.duplicate) { // threads of one process that died together
        ++counters_.duplicate_exits;
        return nullptr;
    }
    ++counters_.exit;
    return &exit.process;
}

void Pipeline::fan_out(const Event& e, const ProcessInfo& self) {
    Lineage lineage;
    lineage.self = &self;
    lineage.cgroup_path = cgroups_.path_of(e.cgroup_id, e.pid);
    std::string_view filename = e.kind == EventKind::exec ? e.filename : std::string_view(self.filename);

    // Encoded once, for the first subscriber that wants it; shared by the rest.
    Line line;
    fanout_.for_each([&](Subscriber& s) {
        if (!s.subscription().matches(e, filename, lineage.cgroup_path, table_))
            return;
        if (!line) {
            lineage.parent = table_.find(e.ppid);
            if (e.kind == EventKind::exec) {
                table_.ancestors(e.ppid, config_.ancestors_depth, ancestors_);
                lineage.ancestors = &ancestors_;
                if (config_.provenance && config_.provenance->enabled()) {
                    exe_facts_ = config_.provenance->on_exec(e.pid, {}, nullptr, [&] {
                        return PendingExec{self.key(),
                                           e.pid,
                                           e.ppid,
                                           e.uid,
                                           std::string(e.comm),
                                           std::string(e.filename),
                                           std::string(lineage.cgroup_path),
                                           e.cgroup_id};
                    });
                    lineage.exe = &exe_facts_;
                }
            }
            line = share(encoder_.encode(e, lineage));
        }
        s.send(line);
    });
    if (line)
        ++counters_.lines;
}

void Pipeline::on_exe_facts(const PendingExec& p, const ExeFacts& facts) {
    // Matched as its exec was: same process, same filters.
    Event e;
    e.kind = EventKind::exec;
    e.pid = p.pid;
    e.ppid = p.ppid;
    e.uid = p.uid;
    e.comm = p.comm;
    e.filename = p.filename;
    e.cgroup_id = p.cgroup_id;
    Line line;
    fanout_.for_each([&](Subscriber& s) {
        if (!s.subscription().matches(e, p.filename, p.cgroup_path, table_))
            return;
        if (!line) {
            timespec now{};
            clock_gettime(CLOCK_BOOTTIME, &now);
            line = share(encoder_.exe_hash(p, facts,
                                           static_cast<KtimeNs>(now.tv_sec) * 1'000'000'000ull +
                                               static_cast<KtimeNs>(now.tv_nsec)));
        }
        s.send(line);
    });
    if (line)
        ++counters_.exe_hash_lines;
}

} // namespace execmond
