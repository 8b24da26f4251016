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
 * Where the classic tracepoints' fields sit, read from tracefs format files:
 * only the fork-map probes need it, because without any BTF nothing can
 * relocate a tracepoint record's layout.
 */
struct execmond_tp_layout {
	__u32 exec_filename_loc; /* __data_loc of sched_process_exec filename */
	__u32 exec_old_pid;
	__u32 newtask_pid;
	__u32 newtask_clone_flags;
	/* sched_process_exit's group_dead (recent kernels, e.g. 6.18); 0: the kernel
	 * lacks it and the leader's exit stands for the process */
	__u32 exit_group_dead;
};

#endif /* EXECMOND_CONFIG_H */
