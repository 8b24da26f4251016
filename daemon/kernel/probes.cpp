#include "probes.hpp"

#include "btf_offsets.hpp"
#include "execmond_btf.skel.h"
#include "execmond_classic.skel.h"
#include "execmond_config.h"
#include "execmond_event.h"
#include "log.hpp"

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <deque>
#include <fstream>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace execmond {
namespace {

constexpr const char* kernel_btf = "/sys/kernel/btf/vmlinux";

// libbpf's own messages: kept for error context, logged at debug level.
std::deque<std::string> g_libbpf_tail;

int libbpf_print(libbpf_print_level level, const char* fmt, va_list args) {
    char buf[1024];
    int n = std::vsnprintf(buf, sizeof(buf), fmt, args);
    if (n <= 0)
        return 0;
    std::string line(buf, std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1));
    while (!line.empty() && line.back() == '\n')
        line.pop_back();
    if (level != LIBBPF_DEBUG) {
        g_libbpf_tail.push_back(line);
        if (g_libbpf_tail.size() > 4)
            g_libbpf_tail.pop_front();
    }
    log::debug("libbpf: " + line);
    return 0;
}

std::string libbpf_context() {
    std::string out;
    for (const auto& l : g_libbpf_tail)
        out += "\n  libbpf: " + l;
    return out;
}

int exit_code_for(int err) {
    return (err == EPERM || err == EACCES) ? exit_no_permission : exit_failure;
}

[[noreturn]] void fail(const std::string& what, int err) {
    std::string msg = what + ": " + std::strerror(err);
    if (err == EPERM || err == EACCES)
        msg += " (execmond needs root, or CAP_BPF and CAP_PERFMON)";
    throw ProbeError(msg + libbpf_context(), exit_code_for(err));
}

uint64_t read_proc_number(const char* path, uint64_t fallback) {
    std::ifstream in(path);
    uint64_t v = 0;
    return (in >> v) ? v : fallback;
}

struct Hook {
    const char* program;
    const char* tracepoint;
};
// Fork first: the parent map and follow set must see a child before its exec.
// Forks on task_newtask, which fires before the child can run (so before its
// exec and exit), unlike sched_process_fork.
constexpr Hook btf_hooks[] = {{"handle_fork", "task/task_newtask"},
                              {"handle_exec", "sched/sched_process_exec"},
                              {"handle_exit", "sched/sched_process_exit"}};
constexpr Hook classic_hooks[] = {{"handle_newtask", "task/task_newtask"},
                                  {"handle_exec", "sched/sched_process_exec"},
                                  {"handle_exit", "sched/sched_process_exit"}};

template <typename Skel> void configure_common(Skel* skel, const ProbeConfig& c, uint32_t max_processes) {
    uint64_t wake = c.wakeup_bytes ? c.wakeup_bytes : c.ring_size / 4;
    skel->rodata->wakeup_bytes = std::min<uint64_t>(wake, c.ring_size / 2);
    skel->rodata->follow_enabled = c.follow;
    if (int err = bpf_map__set_max_entries(skel->maps.events, static_cast<uint32_t>(c.ring_size)))
        fail("size ring buffer to " + std::to_string(c.ring_size) + " bytes", -err);
    if (int err = bpf_map__set_max_entries(skel->maps.followed, max_processes))
        fail("size follow map", -err);
}

bool kernel_has_btf() {
    return access(kernel_btf, R_OK) == 0;
}

} // namespace

const char* to_string(ParentPath p) {
    switch (p) {
    case ParentPath::btf:
        return "btf";
    case ParentPath::offsets:
        return "offsets";
    case ParentPath::fork_map:
        return "fork-map";
    }
    return "unknown";
}

std::string missing_capabilities() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (syscall(SYS_capget, &header, data) != 0)
        return "";
    auto has = [&](int cap) {
        return (data[cap / 32].effective >> (cap % 32)) & 1u;
    };
    if (has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)))
        return "";
    std::string missing;
    if (!has(CAP_BPF))
        missing += "CAP_BPF";
    if (!has(CAP_PERFMON))
        missing += std::string(missing.empty() ? "" : " and ") + "CAP_PERFMON";
    return missing;
}

uint32_t max_live_processes() {
    uint64_t pid_max = read_proc_number("/proc/sys/kernel/pid_max", 32768);
    uint64_t threads_max = read_proc_number("/proc/sys/kernel/threads-max", pid_max);
    return static_cast<uint32_t>(std::max<uint64_t>(1024, std::min(pid_max, threads_max)));
}

Probes::Probes(SkeletonPtr skel, bpf_object* obj, bool classic, ParentPath path,
               std::optional<TracefsMount> tracefs)
    : tracefs_(std::move(tracefs)), skel_(std::move(skel)), obj_(obj), classic_(classic), parent_path_(path) {
}

Probes::Probes(Probes&& other) noexcept
    : tracefs_(std::move(other.tracefs_)), skel_(std::move(other.skel_)), obj_(other.obj_),
      classic_(other.classic_), parent_path_(other.parent_path_), links_(std::move(other.links_)) {
    other.obj_ = nullptr;
}

Probes::~Probes() {
    detach();
}

Probes Probes::load(const ProbeConfig& config) {
    libbpf_set_print(libbpf_print);
    if (auto missing = missing_capabilities(); !missing.empty())
        throw ProbeError("loading BPF programs needs root or CAP_BPF and CAP_PERFMON; this process lacks " +
                             missing,
                         exit_no_permission);

    bool has_btf = kernel_has_btf();
    bool classic = config.mode == ProbeMode::classic || (config.mode == ProbeMode::automatic && !has_btf);
    if (config.mode == ProbeMode::btf && !has_btf)
        throw ProbeError(std::string("probe mode btf needs kernel BTF at ") + kernel_btf +
                             " (kernel built without CONFIG_DEBUG_INFO_BTF?); use --probe-mode=classic",
                         exit_failure);
    if (!has_btf && config.mode == ProbeMode::automatic)
        log::notice(std::string("no kernel BTF at ") + kernel_btf + ": using classic tracepoints");

    uint32_t max_processes = config.max_processes ? config.max_processes : max_live_processes();

    if (!classic) {
        execmond_btf* skel = execmond_btf__open();
        if (!skel)
            fail("open BPF object execmond_btf", errno);
        SkeletonPtr owner(skel, [](void* p) { execmond_btf__destroy(static_cast<execmond_btf*>(p)); });
        configure_common(skel, config, max_processes);
        if (int err = execmond_btf__load(skel))
            fail("load BPF programs (tp_btf)", -err);
        // Logged for the journal: which fields CO-RE relocated against.
        auto resolved = resolve_task_offsets(kernel_btf);
        log::info(
            std::string("parent pid: btf (CO-RE task->real_parent->tgid)") +
                (resolved.offsets ? "; " + describe(*resolved.offsets) : ""),
            {{"EXECMOND_PARENT_PATH", "btf"},
             {"EXECMOND_TASK_OFFSETS", resolved.offsets ? describe(*resolved.offsets) : resolved.error}});
        return Probes(std::move(owner), skel->obj, false, ParentPath::btf, std::nullopt);
    }

    std::optional<TracefsMount> tracefs;
    try {
        tracefs = TracefsMount::ensure();
    } catch (const std::exception& e) {
        throw ProbeError(std::string(e.what()) + " (classic tracepoints need tracefs)", exit_failure);
    }
    if (tracefs->mounted_by_us())
        log::info("mounted tracefs on " + tracefs->path() + " for classic tracepoints");

    std::optional<execmond_task_offsets> offsets;
    if (!config.btf_path.empty()) {
        auto r = resolve_task_offsets(config.btf_path);
        if (!r.offsets)
            throw ProbeError(r.error, exit_failure);
        offsets = r.offsets;
    }
    execmond_tp_layout layout{};
    try {
        layout = read_tp_layout(tracefs->path());
    } catch (const std::exception& e) {
        throw ProbeError(e.what(), exit_failure);
    }

    execmond_classic* skel = execmond_classic__open();
    if (!skel)
        fail("open BPF object execmond_classic", errno);
    SkeletonPtr owner(skel, [](void* p) { execmond_classic__destroy(static_cast<execmond_classic*>(p)); });
    configure_common(skel, config, max_processes);
    if (int err = bpf_map__set_max_entries(skel->maps.parents, max_processes))
        fail("size parent map", -err);
    skel->rodata->tp = layout;
    if (offsets)
        skel->rodata->off = *offsets;
    if (int err = execmond_classic__load(skel))
        fail("load BPF programs (classic tracepoints)", -err);

    ParentPath path = offsets ? ParentPath::offsets : ParentPath::fork_map;
    if (offsets)
        log::info("parent pid: offsets from " + config.btf_path + "; " + describe(*offsets),
                  {{"EXECMOND_PARENT_PATH", "offsets"},
                   {"EXECMOND_TASK_OFFSETS", describe(*offsets)},
                   {"EXECMOND_BTF_FILE", config.btf_path}});
    else
        log::info(std::string("parent pid: fork-map (no BTF: parents recorded at fork and seeded from /proc, "
                              "reparented orphans re-read from /proc; no argv); process exit: ") +
                      (layout.exit_group_dead ? "sched_process_exit group_dead"
                                              : "the leader thread's exit (kernel lacks group_dead)"),
                  {{"EXECMOND_PARENT_PATH", "fork-map"}});
    return Probes(std::move(owner), skel->obj, true, path, std::move(tracefs));
}

void Probes::attach() {
    const auto& hooks = classic_ ? classic_hooks : btf_hooks;
    for (const Hook& h : hooks) {
        bpf_program* prog = bpf_object__find_program_by_name(obj_, h.program);
        if (!prog)
            throw ProbeError(std::string("attach ") + h.tracepoint + ": program " + h.program + " missing",
                             exit_failure);
        bpf_link* link = bpf_program__attach(prog);
        if (!link)
            fail(std::string("attach ") + h.tracepoint, errno);
        links_.emplace_back(link, &bpf_link__destroy);
        log::info(std::string("attached ") + h.tracepoint + " (" + mode_name() + ")",
                  {{"EXECMOND_TRACEPOINT", h.tracepoint},
                   {"EXECMOND_PROGRAM", h.program},
                   {"EXECMOND_PROBE_MODE", mode_name()}});
    }
}

void Probes::detach() {
    if (links_.empty())
        return;
    size_t n = links_.size();
    links_.clear();
    log::info("detached " + std::to_string(n) + " probes");
}

bpf_map* Probes::map(const char* name) const {
    return bpf_object__find_map_by_name(obj_, name);
}

volatile uint32_t* Probes::reader_timer_flag() const {
    if (!skel_)
        return nullptr;
    if (classic_) {
        auto* skel = static_cast<execmond_classic*>(skel_.get());
        return skel->bss ? &skel->bss->reader_timer_armed : nullptr;
    }
    auto* skel = static_cast<execmond_btf*>(skel_.get());
    return skel->bss ? &skel->bss->reader_timer_armed : nullptr;
}

int Probes::ring_fd() const {
    return bpf_map__fd(map("events"));
}

LostCounts Probes::drops() const {
    static const int ncpu = libbpf_num_possible_cpus();
    std::vector<uint64_t> values(static_cast<size_t>(ncpu > 0 ? ncpu : 1));
    auto sum = [&](uint32_t key) {
        uint64_t total = 0;
        if (bpf_map__lookup_elem(map("drops"), &key, sizeof(key), values.data(),
                                 values.size() * sizeof(uint64_t), 0) == 0)
            for (uint64_t v : values)
                total += v;
        return total;
    };
    return LostCounts{sum(EXECMOND_REC_FORK), sum(EXECMOND_REC_EXEC), sum(EXECMOND_REC_EXIT)};
}

void Probes::follow(Pid pid) {
    uint8_t one = 1;
    bpf_map__update_elem(map("followed"), &pid, sizeof(pid), &one, sizeof(one), BPF_ANY);
}

void Probes::seed_parent(Pid child, Pid parent) {
    if (bpf_map* m = map("parents"))
        bpf_map__update_elem(m, &child, sizeof(child), &parent, sizeof(parent), BPF_NOEXIST);
}

void Probes::update_parent(Pid child, Pid parent) {
    if (bpf_map* m = map("parents"))
        bpf_map__update_elem(m, &child, sizeof(child), &parent, sizeof(parent), BPF_EXIST);
}

} // namespace execmond
