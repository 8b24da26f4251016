// Which of the probe object's three program sets fits this kernel and this
// configuration, from facts libbpf finds at start (no kernel-version
// tables), and the one line that tells a user why a kernel cannot run us.
#pragma once

#include <string>
#include <variant>

namespace execmond {

enum class ProbeMode { automatic, btf, classic };

// What the running kernel offers the probes.
struct KernelFacts {
    std::string release;          // uname -r
    int ring_buffer = 1;          // libbpf_probe_bpf_map_type(RINGBUF): 1 yes, 0 no, < 0 -errno
    bool kernel_btf = false;      // libbpf can load the kernel's own BTF
    std::string kernel_btf_error; // why not, e.g. "/sys/kernel/btf/vmlinux: No such file or directory"
};

// The program sets of bpf/execmond.bpf.c.
enum class ProbeSet {
    tp_btf,   // kernel BTF: tp_btf programs, direct loads
    btf_file, // --btf FILE: raw tracepoints, CO-RE against the file
    fork_map, // neither: classic tracepoints, parents from a fork-filled map
};
const char* to_string(ProbeSet s);

struct ProbePlan {
    ProbeSet set = ProbeSet::tp_btf;
    std::string btf_file; // btf_file: what libbpf relocates against
    std::string why;      // for the log line, e.g. "the kernel has no BTF and --btf was given"
};

struct PlanError {
    std::string message; // one actionable line: kernel release, what is missing, what to do
};

std::variant<ProbePlan, PlanError> plan_probes(ProbeMode mode, const std::string& btf_path,
                                               const KernelFacts& kernel);

} // namespace execmond
