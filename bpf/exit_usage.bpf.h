/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Resource usage of a process on its exit record, read at sched_process_exit
 * of its last thread (docs/protocol.md, "exit"): what wait4()'s rusage sums
 * for the zombie (kernel/sys.c getrusage(RUSAGE_SELF)), read from the same
 * fields.
 *
 *   CPU: signal->utime/stime/sum_sched_runtime hold the threads already
 *   released (__exit_signal adds them there); every thread still on
 *   signal->thread_head adds its own: the exiting thread, a zombie leader
 *   that left first, and a thread still on its way out. utime/stime are tick
 *   samples; the daemon splits the exact runtime by their ratio as the
 *   kernel's cputime_adjust() does for wait4.
 *   RSS: signal->maxrss, which do_exit() raised to the mm's high-water mark
 *   before this tracepoint (exit_mm() has already run: task->mm is NULL).
 *   Context switches: signal->nvcsw/nivcsw plus the live threads'.
 *
 * The types are CO-RE flavours (___usage) of the kernel's, so that only this
 * file declares the fields it reads. Used by the tp_btf and btf-file sets;
 * fork-map mode reads no task fields and marks the usage unknown.
 */
#ifndef EXECMOND_EXIT_USAGE_BPF_H
#define EXECMOND_EXIT_USAGE_BPF_H

/* More threads than this still on the list at the last one's exit (only
 * threads that are exiting at that very moment are) are not summed. */
#define EXIT_USAGE_MAX_THREADS 64

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct list_head___usage {
	struct list_head___usage *next;
};

struct sched_entity___usage {
	__u64 sum_exec_runtime;
};

struct signal_struct___usage {
	__u64 utime;
	__u64 stime;
	unsigned long long sum_sched_runtime;
	unsigned long nvcsw;
	unsigned long nivcsw;
	unsigned long maxrss;
	struct list_head___usage thread_head;
};

struct task_struct___usage {
	__u64 utime;
	__u64 stime;
	unsigned long nvcsw;
	unsigned long nivcsw;
	__u64 start_time;
	struct sched_entity___usage se;
	struct list_head___usage thread_node;
	struct signal_struct___usage *signal;
};

#pragma clang attribute pop

static __always_inline void usage_add_thread(struct execmond_exit *e, struct task_struct___usage *t)
{
	e->utime_ns += BPF_CORE_READ(t, utime);
	e->stime_ns += BPF_CORE_READ(t, stime);
	e->runtime_ns += BPF_CORE_READ(t, se.sum_exec_runtime);
	e->nvcsw += BPF_CORE_READ(t, nvcsw);
	e->nivcsw += BPF_CORE_READ(t, nivcsw);
}

/* Fills the usage members of an exit record; `now` is its ktime_ns. */
static __always_inline void read_exit_usage(struct execmond_exit *e, void *task, void *leader, __u64 now)
{
	struct task_struct___usage *t = task;
	struct signal_struct___usage *sig = BPF_CORE_READ(t, signal);
	struct list_head___usage *head = &sig->thread_head;
	struct list_head___usage *node;
	__u64 start = BPF_CORE_READ((struct task_struct___usage *)leader, start_time);
	__u64 node_off = bpf_core_field_offset(struct task_struct___usage, thread_node);
	int i;

	e->duration_ns = now > start ? now - start : 0;
	e->utime_ns = BPF_CORE_READ(sig, utime);
	e->stime_ns = BPF_CORE_READ(sig, stime);
	e->runtime_ns = BPF_CORE_READ(sig, sum_sched_runtime);
	e->maxrss_pages = BPF_CORE_READ(sig, maxrss);
	e->nvcsw = BPF_CORE_READ(sig, nvcsw);
	e->nivcsw = BPF_CORE_READ(sig, nivcsw);

	node = BPF_CORE_READ(sig, thread_head.next);
	for (i = 0; i < EXIT_USAGE_MAX_THREADS; i++) {
		if (!node || node == head)
			break;
		usage_add_thread(e, (struct task_struct___usage *)((char *)node - node_off));
		node = BPF_CORE_READ(node, next);
	}
}

/* Fork-map mode: nothing of it can be read (ring memory is not zeroed). */
static __always_inline void clear_exit_usage(struct execmond_exit *e)
{
	e->hdr.unknown |= EXECMOND_UNKNOWN_USAGE;
	e->duration_ns = 0;
	e->utime_ns = 0;
	e->stime_ns = 0;
	e->runtime_ns = 0;
	e->maxrss_pages = 0;
	e->nvcsw = 0;
	e->nivcsw = 0;
}

#endif /* EXECMOND_EXIT_USAGE_BPF_H */
