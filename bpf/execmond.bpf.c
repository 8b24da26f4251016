// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * execmond's probes: one CO-RE object for Linux 5.8 (the BPF ring buffer) and
 * later. It holds three sets of programs on the same three hooks, all
 * optional (SEC("?...")); the daemon enables one set at load time
 * (bpf_program__set_autoload) from what it finds:
 *
 *   kernel BTF                tp_btf, direct loads          probes_tp_btf.bpf.h
 *   a BTF file (--btf)        raw_tp, BPF_CORE_READ         probes_btf_file.bpf.h
 *   neither                   classic tracepoints, fork map probes_fork_map.bpf.h
 *
 * Hooks, in attach order: task_newtask (fork; first, so that every exec's
 * parent is known), sched_process_exec, sched_process_exit. What differs
 * between kernels is decided by libbpf at load, never by version numbers:
 * CO-RE relocations against the kernel's (or the file's) BTF, and
 * bpf_core_field_exists() for sched_process_exit's group_dead argument.
 * With kernel BTF and bpf_timer, three more programs on the same hooks batch
 * the reader's wake-ups (wake_timer.bpf.h).
 */
#include "execmond_common.bpf.h"
#include "exit_usage.bpf.h"
#include "exec_failed.bpf.h"
#include "env.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#include "identity.bpf.h"
#include "probes_tp_btf.bpf.h"
#include "probes_btf_file.bpf.h"
#include "probes_fork_map.bpf.h"
#include "wake_timer.bpf.h"
