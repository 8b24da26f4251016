/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Load-time configuration the daemon writes into the probes' .rodata between
 * skeleton open and load, shared by bpf/ and daemon/.
 */
#ifndef EXECMOND_CONFIG_H
#define EXECMOND_CONFIG_H

#ifndef __BPF__
#include <linux/types.h>
#endif

/*
 * task_struct and friends' field offsets for the classic-tracepoint probes,
 * resolved by the daemon from a BTF file (--btf). `valid` == 0 means none
 * were resolved and the probes fall back to the fork-filled parent map.
 */
struct execmond_task_offsets {
	__u32 valid;
	__u32 task_tgid;
	__u32 task_real_parent;
	__u32 task_start_boottime;
	__u32 task_exit_code;
	__u32 task_signal;
	__u32 task_mm;
	__u32 task_thread_pid;
	__u32 signal_live;
	__u32 signal_flags;
	__u32 signal_group_exit_code;
	__u32 mm_arg_start;
	__u32 mm_arg_end;
	__u32 pid_level;
	__u32 pid_numbers; /* offset of pid.numbers[0] */
	__u32 upid_size;   /* sizeof(struct upid) */
	__u32 upid_nr;
	__u32 upid_ns;
	__u32 pidns_inum; /* offset of pid_namespace.ns.inum */
	__u32 cred_euid;  /* offsets in struct cred, and task.real_cred */
	__u32 cred_egid;
	__u32 task_real_cred;
};

/* Where the classic tracepoints' fields sit, read from tracefs format files. */
struct execmond_tp_layout {
	__u32 exec_filename_loc; /* __data_loc of sched_process_exec filename */
	__u32 exec_old_pid;
	__u32 newtask_pid;
	__u32 newtask_clone_flags;
	/* sched_process_exit's group_dead (recent kernels, e.g. 6.18); 0: the kernel
	 * lacks it and, without offsets, the leader's exit stands for the process */
	__u32 exit_group_dead;
};

#endif /* EXECMOND_CONFIG_H */
