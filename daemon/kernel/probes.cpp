#include "probes.hpp"

#include "execmond.skel.h"
#include "execmond_config.h"
#include "execmond_event.h"
#include "libbpf_log.hpp"
#include "log.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <linux/capability.h>
#include <sstream>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace execmond {
namespace {

using BtfPtr = std::unique_ptr<btf, decltype(&btf__free)>;

// Lines of a rejected program's verifier log shown at error level: the
// failing instruction and the register state that led to it.
constexpr size_t verifier_tail_lines = 24;

std::string kernel_release() {
    utsname u{};
    return uname(&u) == 0 ? u.release : "(unknown)";
}

std::string errno_text(int err) {
    return std::strerror(err);
}

int exit_code_for(int err) {
    return (err == EPERM || err == EACCES) ? exit_no_permission : exit_failure;
}

// libbpf's last warnings, as context under a failure.
std::string libbpf_context() {
    std::string out;
    for (const auto& l : libbpf_log::warnings())
        out += "\n  libbpf: " + l;
    return out;
}

[[noreturn]] void fail(const std::string& what, int err) {
    std::string msg = what + ": " + errno_text(err);
    if (err == EPERM || err == EACCES)
        msg += " (execmond needs root, or CAP_BPF and CAP_PERFMON)";
    throw ProbeError(msg + libbpf_context(), exit_code_for(err));
}

uint64_t read_proc_number(const char* path, uint64_t fallback) {
    std::ifstream in(path);
    uint64_t v = 0;
    return (in >> v) ? v : fallback;
}

// Also hands back the kernel's BTF, when it has one, so that it is parsed
// once here (libbpf parses it again for the relocations).
KernelFacts probe_kernel(BtfPtr& vmlinux) {
    KernelFacts k;
    k.release = kernel_release();
    k.ring_buffer = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr);
    // What libbpf itself will use (sysfs, then the vmlinux files it knows):
    // a readable but empty /sys/kernel/btf/vmlinux is no BTF.
    vmlinux.reset(btf__load_vmlinux_btf());
    if (vmlinux) {
        k.kernel_btf = true;
    } else {
        // ESRCH: libbpf found none, neither in sysfs nor as a vmlinux file.
        int err = errno;
        k.kernel_btf_error = err == ESRCH || err == ENOENT
                                 ? "none at /sys/kernel/btf/vmlinux; built without CONFIG_DEBUG_INFO_BTF?"
                                 : "/sys/kernel/btf/vmlinux: " + errno_text(err);
    }
    return k;
}

// Whether sched_process_exit passes group_dead on the kernel this BTF
// describes: the same question the probes ask with bpf_core_field_exists().
bool has_group_dead(const btf* b) {
    int id = btf__find_by_name_kind(b, "trace_event_raw_sched_process_exit", BTF_KIND_STRUCT);
    if (id < 0)
        return false;
    const btf_type* t = btf__type_by_id(b, static_cast<__u32>(id));
    const btf_member* m = btf_members(t);
    for (__u16 i = 0; i < btf_vlen(t); ++i, ++m)
        if (const char* name = btf__name_by_offset(b, m->name_off);
            name && std::strcmp(name, "group_dead") == 0)
            return true;
    return false;
}

// The fork-map programs have no CO-RE relocations, but the object's other
// programs do, and libbpf then insists on loading the kernel's BTF unless it
// is given a target BTF file, which it parses but never consults for
// programs that are not loaded. An empty BTF in a memfd is that file.
class EmptyBtfFile {
public:
    EmptyBtfFile() {
        BtfPtr empty(btf__new_empty(), &btf__free);
        __u32 size = 0;
        const void* data = empty ? btf__raw_data(empty.get(), &size) : nullptr;
        fd_ = memfd_create("execmond-empty-btf", MFD_CLOEXEC);
        if (!data || fd_ < 0 || write(fd_, data, size) != static_cast<ssize_t>(size))
            fail("create an empty BTF file for libbpf", errno ? errno : EIO);
        path_ = "/proc/self/fd/" + std::to_string(fd_);
    }
    EmptyBtfFile(const EmptyBtfFile&) = delete;
    EmptyBtfFile& operator=(const EmptyBtfFile&) = delete;
    ~EmptyBtfFile() {
        if (fd_ >= 0)
            close(fd_);
    }
    const std::string& path() const { return path_; }

private:
    int fd_ = -1;
    std::string path_;
};

struct Hook {
    const char* tracepoint;
    bpf_program* program;
};

// Fork first: the parent map and follow set must see a child before its exec.
std::vector<Hook> hooks_of(execmond_bpf* skel, ProbeSet set) {
    switch (set) {
    case ProbeSet::tp_btf:
        return {{"task/task_newtask", skel->progs.fork_btf},
                {"sched/sched_process_exec", skel->progs.exec_btf},
                {"sched/sched_process_exit", skel->progs.exit_btf}};
    case ProbeSet::btf_file:
        return {{"task/task_newtask", skel->progs.fork_btf_file},
                {"sched/sched_process_exec", skel->progs.exec_btf_file},
                {"sched/sched_process_exit", skel->progs.exit_btf_file}};
    case ProbeSet::fork_map:
        break;
    }
    return {{"task/task_newtask", skel->progs.fork_fork_map},
            {"sched/sched_process_exec", skel->progs.exec_fork_map},
            {"sched/sched_process_exit", skel->progs.exit_fork_map}};
}

// Kernel-timer wake-ups (bpf/wake_timer.bpf.h): attached after the record
// programs, so that a hook's record is committed before its timer is armed.
std::vector<Hook> wake_timer_hooks(execmond_bpf* skel) {
    return {{"task/task_newtask", skel->progs.wake_fork},
            {"sched/sched_process_exec", skel->progs.wake_exec},
            {"sched/sched_process_exit", skel->progs.wake_exit}};
}

// Can a kernel timer batch the wake-ups? Empty if so, else why not.
std::string timer_wakeups_unavailable(const ProbeConfig& config, ProbeSet set) {
    if (config.latency_ns == 0)
        return "--latency-us 0 wakes the reader for every record";
    if (set != ProbeSet::tp_btf)
        return "the probes of this kernel are not tp_btf programs";
    if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_timer_init, nullptr) != 1)
        return "this kernel has no bpf_timer (Linux 5.15)";
    return "";
}

// --exec-failures (bpf/exec_failed.bpf.h): the same programs in every mode.
std::vector<Hook> exec_failed_hooks(execmond_bpf* skel) {
    return {{"syscalls/sys_exit_execve", skel->progs.exec_failed_exit},
            {"syscalls/sys_exit_execveat", skel->progs.exec_failed_exit_at},
            {"syscalls/sys_enter_execve", skel->progs.exec_failed_enter},
            {"syscalls/sys_enter_execveat", skel->progs.exec_failed_enter_at}};
}

// The programs read the syscall tracepoints' records at fixed offsets (the
// syscall number, then 8-byte argument words): make sure this kernel agrees.
void check_syscall_layout(const std::string& tracefs) {
    struct Field {
        const char* event;
        const char* field;
        uint32_t offset;
    };
    static const Field fields[] = {{"sys_enter_execve", "filename", 16},   {"sys_enter_execve", "argv", 24},
                                   {"sys_enter_execveat", "filename", 24}, {"sys_enter_execveat", "argv", 32},
                                   {"sys_exit_execve", "ret", 16},         {"sys_exit_execveat", "ret", 16}};
    for (const Field& f : fields) {
        uint32_t at = 0;
        try {
            at = field_offset(tracefs, "syscalls", f.event, f.field);
        } catch (const std::exception& e) {
            throw ProbeError(
                std::string("--exec-failures needs the syscall tracepoints (CONFIG_FTRACE_SYSCALLS): ") +
                    e.what(),
                exit_failure);
        }
        if (at != f.offset)
            throw ProbeError(std::string("--exec-failures: syscalls/") + f.event + " has " + f.field +
                                 " at offset " + std::to_string(at) + ", the probes read it at " +
                                 std::to_string(f.offset) + "; report this kernel",
                             exit_failure);
    }
}

const char* set_description(ProbeSet set) {
    switch (set) {
    case ProbeSet::tp_btf:
        return "tp_btf programs, CO-RE against the kernel's BTF";
    case ProbeSet::btf_file:
        return "raw tracepoints, CO-RE against a BTF file";
    case ProbeSet::fork_map:
        break;
    }
    return "classic tracepoints, no task fields";
}

// What to try when the verifier rejects a program of this set.
const char* load_advice(ProbeSet set) {
    switch (set) {
    case ProbeSet::tp_btf:
        return "try --probe-mode classic --btf /sys/kernel/btf/vmlinux (raw tracepoints) or a newer kernel, "
               "and report this log";
    case ProbeSet::btf_file:
        return "the --btf file must describe this very kernel build (e.g. btfhub's file for this release); "
               "else try a newer kernel, and report this log";
    case ProbeSet::fork_map:
        break;
    }
    return "try a newer kernel, and report this log";
}

// The verifier's reasons at error level, then the one actionable line.
[[noreturn]] void fail_load(ProbeSet set, const std::string& release, int err) {
    std::string what = std::string("load BPF programs (") + to_string(set) + ") on Linux " + release;
    if (auto v = libbpf_log::last_verifier_log()) {
        auto tail = libbpf_log::tail_lines(v->text, verifier_tail_lines);
        for (const auto& line : tail)
            log::error("verifier (" + v->program + "): " + line,
                       {{"EXECMOND_BPF_PROGRAM", v->program}, {"EXECMOND_KERNEL", release}});
        // The reason is the last line before the verifier's statistics.
        std::string reason;
        for (auto it = tail.rbegin(); it != tail.rend() && reason.empty(); ++it)
            if (!it->starts_with("processed ") && !it->starts_with("verification time"))
                reason = *it;
        what += ": the kernel's verifier rejected " + v->program + (reason.empty() ? "" : ": " + reason) +
                " (" + errno_text(err) + "); " + load_advice(set);
        throw ProbeError(what, exit_failure);
    }
    what += ": " + errno_text(err);
    if (err == EPERM || err == EACCES) {
        what += " (execmond needs root, or CAP_BPF and CAP_PERFMON)";
        throw ProbeError(what + libbpf_context(), exit_no_permission);
    }
    throw ProbeError(what + "; " + load_advice(set) + libbpf_context(), exit_failure);
}

// This process's arg_start and start time in clock ticks, from /proc/self/stat.
std::optional<std::pair<uint64_t, uint64_t>> self_stat() {
    std::ifstream in("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t paren = text.rfind(')');
    if (paren == std::string::npos)
        return std::nullopt;
    std::istringstream fields(text.substr(paren + 1));
    std::vector<std::string> f{std::istream_iterator<std::string>(fields),
                               std::istream_iterator<std::string>()};
    // f[0] is field 3 (state): starttime is field 22, arg_start field 48.
    if (f.size() < 46)
        return std::nullopt;
    return std::pair{std::stoull(f[45]), std::stoull(f[19])};
}

// A --btf file for another kernel build relocates the probes' reads to wrong
// offsets and every line would be garbage: read this process's own task
// through it (check_btf_file) and compare before attaching anything.
void check_btf_file(execmond_bpf* skel, const std::string& file, const std::string& release) {
    static const char* const fields[] = {"",
                                         "task_struct.tgid",
                                         "task_struct.pid",
                                         "task_struct.real_cred -> cred.uid",
                                         "task_struct.mm -> mm_struct.arg_start",
                                         "task_struct.start_boottime",
                                         "task_struct.group_leader"};
    auto self = self_stat();
    long hz = sysconf(_SC_CLK_TCK);
    if (!self || hz <= 0) {
        log::warning("--btf " + file + ": not checked against this kernel (/proc/self/stat unreadable)");
        return;
    }
    __u64 args[3] = {self->first, self->second, static_cast<__u64>(1'000'000'000 / hz)};
    LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = args, .ctx_size_in = sizeof(args));
    if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.check_btf_file), &run) != 0) {
        // Test runs of raw tracepoints came with Linux 5.10.
        log::warning("--btf " + file + ": not checked against Linux " + release + " (" + errno_text(errno) +
                     "); it must be this kernel build's own");
        return;
    }
    if (run.retval == 0)
        return;
    std::string field = run.retval < std::size(fields) ? fields[run.retval] : "a field";
    throw ProbeError("--btf " + file + " does not describe this kernel (Linux " + release + "): " + field +
                         " read through it is not this process's; give the BTF file of this very kernel "
                         "build (e.g. btfhub's file for " +
                         release + ")",
                     exit_failure);
}

std::string exit_rule(ProbeSet set, bool group_dead) {
    if (group_dead)
        return "sched_process_exit's group_dead";
    if (set == ProbeSet::fork_map)
        return "the leader thread's exit (the kernel's sched_process_exit lacks group_dead)";
    return "the last thread (signal->live), claimed once per process";
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

Probes::Probes(SkeletonPtr skel, ProbeSet set, bool exec_failures, bool timer_wakeups,
               std::optional<TracefsMount> tracefs)
    : tracefs_(std::move(tracefs)), skel_(std::move(skel)), set_(set), exec_failures_(exec_failures),
      timer_wakeups_(timer_wakeups) {}

Probes::Probes(Probes&& other) noexcept
    : tracefs_(std::move(other.tracefs_)), skel_(std::move(other.skel_)), set_(other.set_),
      exec_failures_(other.exec_failures_), timer_wakeups_(other.timer_wakeups_),
      links_(std::move(other.links_)) {}

Probes::~Probes() {
    detach();
}

Probes Probes::load(const ProbeConfig& config) {
    libbpf_log::install();
    libbpf_log::clear();
    if (auto missing = missing_capabilities(); !missing.empty())
        throw ProbeError("loading BPF programs needs root or CAP_BPF and CAP_PERFMON; this process lacks " +
                             missing,
                         exit_no_permission);

    BtfPtr vmlinux(nullptr, &btf__free);
    const KernelFacts kernel = probe_kernel(vmlinux);
    auto planned = plan_probes(config.mode, config.btf_path, kernel);
    if (auto* err = std::get_if<PlanError>(&planned))
        throw ProbeError(err->message, exit_failure);
    const ProbePlan plan = std::get<ProbePlan>(planned);

    // The BTF the probes are relocated against, read here too: a bad --btf
    // file is reported as such, and the log says how exits are found.
    bool group_dead = false;
    if (plan.set == ProbeSet::tp_btf) {
        group_dead = vmlinux && has_group_dead(vmlinux.get());
    } else if (plan.set == ProbeSet::btf_file) {
        if (access(plan.btf_file.c_str(), R_OK) != 0)
            throw ProbeError("--btf " + plan.btf_file + ": " + errno_text(errno), exit_failure);
        BtfPtr file(btf__parse(plan.btf_file.c_str(), nullptr), &btf__free);
        if (!file)
            throw ProbeError(
                "--btf " + plan.btf_file +
                    ": not a BTF file (raw BTF such as /sys/kernel/btf/vmlinux or btfhub's, or an "
                    "ELF with a .BTF section): " +
                    errno_text(errno),
                exit_failure);
        group_dead = has_group_dead(file.get());
    }
    vmlinux.reset();

    std::optional<TracefsMount> tracefs;
    std::optional<EmptyBtfFile> empty_btf;
    execmond_tp_layout layout{};
    if (plan.set == ProbeSet::fork_map) {
        try {
            tracefs = TracefsMount::ensure();
            layout = read_tp_layout(tracefs->path());
        } catch (const std::exception& e) {
            throw ProbeError(std::string(e.what()) + " (classic tracepoints need tracefs)", exit_failure);
        }
        if (tracefs->mounted_by_us())
            log::info("mounted tracefs on " + tracefs->path() + " for classic tracepoints");
        group_dead = layout.exit_group_dead != 0;
        empty_btf.emplace();
    }
    if (config.exec_failures) {
        if (!tracefs) {
            try {
                tracefs = TracefsMount::ensure();
            } catch (const std::exception& e) {
                throw ProbeError(std::string(e.what()) +
                                     " (--exec-failures uses syscall tracepoints, which need tracefs)",
                                 exit_failure);
            }
            if (tracefs->mounted_by_us())
                log::info("mounted tracefs on " + tracefs->path() +
                          " for the syscall tracepoints of --exec-failures");
        }
        check_syscall_layout(tracefs->path());
    }

    using WakeupTimer = ProbeConfig::WakeupTimer;
    std::string no_timer = config.wakeup_timer == WakeupTimer::reader
                               ? "--wakeup-timer reader"
                               : timer_wakeups_unavailable(config, plan.set);
    if (config.wakeup_timer == WakeupTimer::kernel && !no_timer.empty())
        throw ProbeError("--wakeup-timer kernel: " + no_timer, exit_failure);

    // Opens, sizes and loads the object; 0 or the negative errno of the load.
    SkeletonPtr skel(nullptr, &execmond_bpf__destroy);
    auto open_and_load = [&](bool timer_wakeups) {
        LIBBPF_OPTS(bpf_object_open_opts, open_opts);
        if (plan.set == ProbeSet::btf_file)
            open_opts.btf_custom_path = plan.btf_file.c_str();
        else if (empty_btf)
            open_opts.btf_custom_path = empty_btf->path().c_str();
        execmond_bpf* raw = execmond_bpf__open_opts(&open_opts);
        if (!raw)
            fail("open BPF object execmond", errno);
        skel.reset(raw);

        for (const Hook& h : hooks_of(raw, plan.set))
            bpf_program__set_autoload(h.program, true);
        if (plan.set == ProbeSet::btf_file)
            bpf_program__set_autoload(raw->progs.check_btf_file, true);
        for (const Hook& h : exec_failed_hooks(raw))
            bpf_program__set_autoload(h.program, config.exec_failures);
        for (const Hook& h : wake_timer_hooks(raw))
            bpf_program__set_autoload(h.program, timer_wakeups);
        // Without --exec-failures its stash (~6 MiB) is not even created.
        bpf_map__set_autocreate(raw->maps.failed_stash, config.exec_failures);
        bpf_map__set_autocreate(raw->maps.failed_template, config.exec_failures);
        bpf_map__set_autocreate(raw->maps.wake_timers, timer_wakeups);

        uint32_t max_processes = config.max_processes ? config.max_processes : max_live_processes();
        uint64_t wake = config.wakeup_bytes ? config.wakeup_bytes : config.ring_size / 4;
        raw->rodata->wakeup_bytes = std::min<uint64_t>(wake, config.ring_size / 2);
        raw->rodata->follow_enabled = config.follow;
        raw->rodata->env_enabled = config.env;
        raw->rodata->tp = layout;
        raw->rodata->timer_wakeups = timer_wakeups;
        raw->rodata->wake_period_ns = config.latency_ns;
        if (int err = bpf_map__set_max_entries(raw->maps.events, static_cast<uint32_t>(config.ring_size)))
            fail("size ring buffer to " + std::to_string(config.ring_size) + " bytes", -err);
        // Without --follow the programs never look at the set: one entry, not
        // megabytes of buckets sized from pid_max.
        if (int err = bpf_map__set_max_entries(raw->maps.followed, config.follow ? max_processes : 1))
            fail("size follow map", -err);
        if (int err = bpf_map__set_max_entries(raw->maps.parents,
                                               plan.set == ProbeSet::fork_map ? max_processes : 1))
            fail("size parent map", -err);
        if (group_dead)
            if (int err = bpf_map__set_max_entries(raw->maps.exit_claims, 1))
                fail("size exit claim map", -err);
        return execmond_bpf__load(raw);
    };
    bool timer_wakeups = no_timer.empty();
    int err = open_and_load(timer_wakeups);
    if (err && timer_wakeups && config.wakeup_timer == WakeupTimer::automatic) {
        // A kernel whose verifier refuses the timer programs: the reader's timer does the same job.
        no_timer = "the kernel refused the timer programs (" + errno_text(-err) + ")";
        log::warning("wake-ups: " + no_timer + "; the reader's own timer batches them");
        libbpf_log::clear();
        timer_wakeups = false;
        err = open_and_load(false);
    }
    if (err)
        fail_load(plan.set, kernel.release, -err);
    execmond_bpf* raw = skel.get();
    if (plan.set == ProbeSet::btf_file)
        check_btf_file(raw, plan.btf_file, kernel.release);

    ParentPath path = plan.set == ProbeSet::tp_btf     ? ParentPath::btf
                      : plan.set == ProbeSet::btf_file ? ParentPath::offsets
                                                       : ParentPath::fork_map;
    std::string against = plan.set == ProbeSet::btf_file ? " " + plan.btf_file : "";
    std::string message = std::string("parent pid: ") + to_string(path) +
                          "; probes: " + set_description(plan.set) + against + " (" + plan.why + "), Linux " +
                          kernel.release + "; process exit: " + exit_rule(plan.set, group_dead);
    if (plan.set == ProbeSet::fork_map)
        message += "; parents recorded at fork and seeded from /proc, reparented orphans re-read from /proc; "
                   "no argv, euid/egid, exit codes, start times or pid namespaces";
    log::info(message, {{"EXECMOND_PARENT_PATH", to_string(path)},
                        {"EXECMOND_PROBE_SET", to_string(plan.set)},
                        {"EXECMOND_KERNEL", kernel.release},
                        {"EXECMOND_EXIT_RULE", group_dead ? "group_dead" : "claim"},
                        {"EXECMOND_BTF_FILE", plan.btf_file}});
    if (config.latency_ns != 0)
        log::info(timer_wakeups ? "wake-ups: batched by a kernel timer (bpf_timer) every " +
                                      std::to_string(config.latency_ns / 1000) + " us"
                                : "wake-ups: batched by the reader's timer (" + no_timer + ")",
                  {{"EXECMOND_WAKEUP_TIMER", timer_wakeups ? "kernel" : "reader"}});
    return Probes(std::move(skel), plan.set, config.exec_failures, timer_wakeups, std::move(tracefs));
}

ParentPath Probes::parent_path() const {
    switch (set_) {
    case ProbeSet::tp_btf:
        return ParentPath::btf;
    case ProbeSet::btf_file:
        return ParentPath::offsets;
    case ProbeSet::fork_map:
        break;
    }
    return ParentPath::fork_map;
}

void Probes::attach() {
    std::vector<Hook> hooks = hooks_of(skel_.get(), set_);
    if (exec_failures_)
        for (const Hook& h : exec_failed_hooks(skel_.get()))
            hooks.push_back(h);
    if (timer_wakeups_)
        for (const Hook& h : wake_timer_hooks(skel_.get()))
            hooks.push_back(h);
    for (const Hook& h : hooks) {
        bpf_link* link = bpf_program__attach(h.program);
        if (!link)
            fail(std::string("attach ") + h.tracepoint + " (" + bpf_program__name(h.program) + ") on Linux " +
                     kernel_release(),
                 errno);
        links_.emplace_back(link, &bpf_link__destroy);
        log::info(std::string("attached ") + h.tracepoint + " (" + mode_name() + ")",
                  {{"EXECMOND_TRACEPOINT", h.tracepoint},
                   {"EXECMOND_PROGRAM", bpf_program__name(h.program)},
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

volatile uint32_t* Probes::reader_timer_flag() const {
    return skel_ && skel_->bss ? &skel_->bss->reader_timer_armed : nullptr;
}

uint64_t Probes::wakeup_bytes() const {
    return skel_ && skel_->rodata ? skel_->rodata->wakeup_bytes : 0;
}

int Probes::ring_fd() const {
    return bpf_map__fd(skel_->maps.events);
}

int Probes::wake_ring_fd() const {
    return bpf_map__fd(skel_->maps.wakes);
}

LostCounts Probes::drops() const {
    // Nothing was ever dropped: the counters are all 0 (the probes' drops_seen).
    if (skel_ && skel_->bss && *static_cast<volatile uint32_t*>(&skel_->bss->drops_seen) == 0)
        return {};
    static const int ncpu = libbpf_num_possible_cpus();
    std::vector<uint64_t> values(static_cast<size_t>(ncpu > 0 ? ncpu : 1));
    auto sum = [&](uint32_t key) {
        uint64_t total = 0;
        if (bpf_map__lookup_elem(skel_->maps.drops, &key, sizeof(key), values.data(),
                                 values.size() * sizeof(uint64_t), 0) == 0)
            for (uint64_t v : values)
                total += v;
        return total;
    };
    return LostCounts{sum(EXECMOND_REC_FORK), sum(EXECMOND_REC_EXEC), sum(EXECMOND_REC_EXIT),
                      sum(EXECMOND_REC_EXEC_FAILED)};
}

int Probes::follow(Pid pid) {
    uint8_t one = 1;
    return bpf_map__update_elem(skel_->maps.followed, &pid, sizeof(pid), &one, sizeof(one), BPF_ANY);
}

void Probes::seed_parent(Pid child, Pid parent) {
    if (set_ == ProbeSet::fork_map)
        bpf_map__update_elem(skel_->maps.parents, &child, sizeof(child), &parent, sizeof(parent),
                             BPF_NOEXIST);
}

void Probes::update_parent(Pid child, Pid parent) {
    if (set_ == ProbeSet::fork_map)
        bpf_map__update_elem(skel_->maps.parents, &child, sizeof(child), &parent, sizeof(parent), BPF_EXIST);
}

} // namespace execmond
