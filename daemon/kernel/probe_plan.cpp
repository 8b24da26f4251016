#include "probe_plan.hpp"

#include <cstring>

namespace execmond {

const char* to_string(ProbeSet s) {
    switch (s) {
    case ProbeSet::tp_btf:
        return "tp_btf";
    case ProbeSet::btf_file:
        return "btf-file";
    case ProbeSet::fork_map:
        return "fork-map";
    }
    return "unknown";
}

std::variant<ProbePlan, PlanError> plan_probes(ProbeMode mode, const std::string& btf_path,
                                               const KernelFacts& kernel) {
    const std::string on = "Linux " + kernel.release;
    if (kernel.ring_buffer == 0)
        return PlanError{on + " has no BPF ring buffer (BPF_MAP_TYPE_RINGBUF, Linux 5.8): execmond cannot "
                              "run on this kernel; use Linux 5.8 or newer"};
    if (kernel.ring_buffer < 0)
        return PlanError{"cannot probe " + on + " for BPF features: " + std::strerror(-kernel.ring_buffer) +
                         " (is the bpf() system call filtered, e.g. by a container's seccomp profile?)"};

    const std::string no_btf = "the kernel has no BTF (" + kernel.kernel_btf_error + ")";
    switch (mode) {
    case ProbeMode::btf:
        if (!kernel.kernel_btf)
            return PlanError{"--probe-mode btf on " + on + ": " + no_btf +
                             "; use --btf FILE with a BTF file for this kernel (e.g. from btfhub), or "
                             "--probe-mode auto for the fork-map mode without one"};
        return ProbePlan{ProbeSet::tp_btf, {}, "--probe-mode btf"};
    case ProbeMode::classic:
        if (!btf_path.empty())
            return ProbePlan{ProbeSet::btf_file, btf_path, "--probe-mode classic with --btf"};
        return ProbePlan{ProbeSet::fork_map, {}, "--probe-mode classic without --btf"};
    case ProbeMode::automatic:
        break;
    }
    if (kernel.kernel_btf)
        return ProbePlan{ProbeSet::tp_btf,
                         {},
                         btf_path.empty() ? "the kernel has BTF"
                                          : "the kernel has BTF, so --btf " + btf_path + " is not used"};
    if (!btf_path.empty())
        return ProbePlan{ProbeSet::btf_file, btf_path, no_btf + ", --btf given"};
    return ProbePlan{ProbeSet::fork_map,
                     {},
                     no_btf + " and no --btf FILE: give a BTF file for this kernel (e.g. from "
                              "btfhub) for argv, euid/egid, exit codes, start times and pid namespaces"};
}

} // namespace execmond
