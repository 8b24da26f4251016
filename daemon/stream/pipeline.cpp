#include "pipeline.hpp"

#include "log.hpp"
#include "record_decoder.hpp"

#include <ctime>

namespace execmond {

Pipeline::Pipeline(PipelineConfig config, ProcessTable& table, CgroupPaths& cgroups, Encoder& encoder,
                   const Fanout& fanout)
    : config_(std::move(config)), table_(table), cgroups_(cgroups), encoder_(encoder), fanout_(fanout),
      log_(config_.log ? *config_.log : own_log_) {}

void Pipeline::on_record(const void* data, size_t size) {
    auto decoded = decode_record(data, size, config_.env_names);
    if (auto* err = std::get_if<DecodeError>(&decoded)) {
        if (counters_.decode_errors++ < 10)
            log::warning("bad record from the kernel: " + err->message);
        return;
    }
    Event& e = std::get<Event>(decoded);
    e.ktime_ns += monotonic_to_boottime_ns_;
    if (discard_armed_ && std::chrono::steady_clock::now() >= discard_deadline_) {
        auto& n = e.kind == EventKind::fork          ? counters_.discarded.fork
                  : e.kind == EventKind::exec        ? counters_.discarded.exec
                  : e.kind == EventKind::exec_failed ? counters_.discarded.exec_failed
                                                     : counters_.discarded.exit;
        ++n;
        return;
    }
    const ProcessInfo* self = update_table(e);
    if (!self)
        return;
    // One seq per record turned into the stream, whether or not anyone wants
    // its line: a consumer's cursor counts the stream, not its own filter.
    uint64_t seq = log_.assign();
    counters_.last_seq = seq;
    if (!fanout_.empty() || log_.keeping())
        fan_out(e, *self, seq);
}

const ProcessInfo* Pipeline::update_table(Event& e) {
    if (e.kind == EventKind::exec_failed) {
        // Nothing changed: the caller goes on as it was. Its parent is the
        // table's (the probe reads no task fields for it).
        ++counters_.exec_failed;
        const ProcessInfo* self = table_.find(e.pid);
        if (self)
            e.ppid = self->ppid;
        return self;
    }
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
    case EventKind::exec_failed:
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

// The parent chain descendants_of looks at (ProcessTable::descends_from),
// as it is now: a replay may come after those processes left the table.
void Pipeline::record_chain(Pid ppid, bool& cut) {
    chain_.clear();
    cut = false;
    for (Pid pid = ppid; pid != 0;) {
        if (chain_.size() == 64) {
            cut = true;
            return;
        }
        chain_.push_back(pid);
        const ProcessInfo* p = table_.find(pid);
        if (p == nullptr || p->pid == p->ppid)
            return;
        pid = p->ppid;
    }
}

void Pipeline::fan_out(const Event& e, const ProcessInfo& self, uint64_t seq) {
    Lineage lineage;
    lineage.self = &self;
    if (const CgroupPaths::Entry* cg = cgroups_.lookup(e.cgroup_id, e.pid)) {
        lineage.cgroup_path = cg->path;
        if (!cg->container.empty())
            lineage.container = &cg->container;
    }
    // An exec_failed line matches by the file it tried to run.
    std::string_view filename = e.kind == EventKind::exec || e.kind == EventKind::exec_failed
                                    ? e.filename
                                    : std::string_view(self.filename);

    // Encoded once, for the replay buffer or the first subscriber that wants
    // it; shared by the rest.
    Line line;
    auto encode = [&] {
        lineage.parent = table_.find(e.ppid);
        if (e.kind == EventKind::exec) {
            table_.ancestors(e.ppid, config_.ancestors_depth, ancestors_);
            lineage.ancestors = &ancestors_;
            if (config_.provenance && config_.provenance->enabled()) {
                // The probes' own view of the file (BTF modes): its path as the
                // kernel resolved it, and its inode to check what is opened.
                RecordedFile recorded;
                bool known = e.identity_known && !e.exe_truncated;
                if (known)
                    recorded = {e.exe_file.ino, static_cast<uint64_t>(e.exe_file.size),
                                e.exe_file.mtime_sec * 1'000'000'000ll + e.exe_file.mtime_nsec};
                exe_facts_ = config_.provenance->on_exec(
                    e.pid, known ? e.exe : std::string_view{}, known ? &recorded : nullptr, [&] {
                        return PendingExec{self.key(),
                                           e.pid,
                                           e.ppid,
                                           e.uid,
                                           std::string(e.comm),
                                           std::string(e.filename),
                                           std::string(lineage.cgroup_path),
                                           e.cgroup_id,
                                           e.ktime_ns};
                    });
                lineage.exe = &exe_facts_;
            }
        }
        line = encoder_.encode_line(e, lineage, seq);
    };
    if (log_.keeping()) {
        encode();
        MatchFacts f = MatchFacts::of(e, filename, lineage.cgroup_path, lineage.container);
        record_chain(e.ppid, f.chain_cut);
        f.chain = std::span<const Pid>(chain_);
        log_.keep(seq, line, f);
    }
    fanout_.for_each([&](Subscriber& s) {
        if (s.replaying() ||
            !s.subscription().matches(e, filename, lineage.cgroup_path, lineage.container, table_))
            return;
        if (!line)
            encode();
        s.deliver(line, seq);
    });
    if (line)
        ++counters_.lines;
}

void Pipeline::on_exe_facts(const PendingExec& p, const ExeFacts& facts) {
    // Numbered and kept like the exec it completes, and matched as it was:
    // same process, same filters.
    uint64_t seq = log_.assign();
    counters_.last_seq = seq;
    Line line;
    auto encode = [&] {
        timespec now{};
        clock_gettime(CLOCK_BOOTTIME, &now);
        line = share(encoder_.exe_hash(
            p, facts, static_cast<KtimeNs>(now.tv_sec) * 1'000'000'000ull + static_cast<KtimeNs>(now.tv_nsec),
            seq));
    };
    MatchFacts f;
    f.kind = EventKind::exec;
    f.uid = p.uid;
    f.pid = p.pid;
    f.ppid = p.ppid;
    f.comm = p.comm;
    f.filename = p.filename;
    f.cgroup_path = p.cgroup_path;
    if (log_.keeping()) {
        encode();
        bool cut = false;
        record_chain(p.ppid, cut);
        f.chain = std::span<const Pid>(chain_);
        f.chain_cut = cut;
        log_.keep(seq, line, f);
        f.chain.reset();
    }
    fanout_.for_each([&](Subscriber& s) {
        if (s.replaying() || !s.subscription().matches(f, table_))
            return;
        if (!line)
            encode();
        s.deliver(line, seq);
    });
    if (line)
        ++counters_.exe_hash_lines;
}

} // namespace execmond
