// task_struct and friends' field offsets, resolved from a BTF file, for the
// classic-tracepoint probes: they have no CO-RE, so they read kernel memory
// at the offsets the daemon writes into their .rodata.
#pragma once

#include "execmond_config.h"

#include <optional>
#include <string>

namespace execmond {

struct BtfOffsetsResult {
    std::optional<execmond_task_offsets> offsets;
    std::string error; // set when offsets is empty: file and missing type/field
};

// Resolves every field of execmond_task_offsets from a BTF file: a vmlinux
// BTF blob (/sys/kernel/btf/vmlinux), a btfhub-style .btf file, or an ELF
// with a .BTF section. On success offsets->valid == 1.
BtfOffsetsResult resolve_task_offsets(const std::string& btf_path);

// One line for the log: "task_struct.tgid=2452 task_struct.real_parent=2456 ...".
std::string describe(const execmond_task_offsets& o);

} // namespace execmond
