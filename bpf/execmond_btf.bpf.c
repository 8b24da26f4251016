// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Probes for kernels with BTF: typed tp_btf programs (no tracefs needed) that
 * read task fields with CO-RE, relocated against the running kernel at load.
 */
#define EXECMOND_CORE_TYPES
#include "execmond_common.bpf.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

static __always_inline void fill_header(struct execmond_header *h, struct task_struct *task, __u32 type,
					__u64 now)
{
	const struct cred *cred = BPF_CORE_READ(task, real_cred);
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct pid_namespace *ns = NULL;

	h->type = type;
	h->ktime_ns = now;
	h->start_boottime_ns = BPF_CORE_READ(task, start_boottime);
	h->pid = BPF_CORE_READ(task, tgid);
	h->tid = BPF_CORE_READ(task, pid);
	h->ppid = BPF_CORE_READ(task, real_parent, tgid);
	h->uid = BPF_CORE_READ(cred, uid.val);
	h->gid = BPF_CORE_READ(cred, gid.val);
	h->ns_pid = 0;
	bpf_core_read(&h->ns_pid, sizeof(h->ns_pid), &pid->numbers[level].nr);
	bpf_core_read(&ns, sizeof(ns), &pid->numbers[level].ns);
	h->pidns_id = BPF_CORE_READ(ns, ns.inum);
	h->parent_source = EXECMOND_PARENT_BTF;
	h->reserved0 = 0;
	BPF_CORE_READ_STR_INTO(&h->comm, task, comm);
}

/*
 * task_newtask, not sched_process_fork: it fires in copy_process() before the
 * child can run, so a child's fork record always precedes its own exec and
 * exit records. sched_process_fork fires after wake_up_new_task(): a
 * short-lived child on another CPU could exit first, and the fork record
 * arriving after the exit brought the process back to life in the table.
 */
SEC("tp_btf/task_newtask")
int BPF_PROG(handle_fork, struct task_struct *child, __u64 clone_flags)
{
	struct execmond_fork *e;
	__u32 tgid = BPF_CORE_READ(child, tgid);
	__u64 now;

	/* A new thread is not a new process. */
	if (clone_flags & CLONE_THREAD)
		return 0;
	/* The real parent: the caller, or the caller's parent with CLONE_PARENT. */
	follow_child(BPF_CORE_READ(child, real_parent, tgid), tgid);
	if (!is_followed(tgid))
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(EXECMOND_REC_FORK);
		return 0;
	}
	now = bpf_ktime_get_boot_ns();
	fill_header(&e->hdr, child, EXECMOND_REC_FORK, now);
	e->hdr.size = sizeof(*e);
	e->hdr.cgroup_id = bpf_get_current_cgroup_id(); /* the child starts in its parent's cgroup */
	e->parent_start_boottime_ns = BPF_CORE_READ(child, real_parent, start_boottime);
	BPF_CORE_READ_STR_INTO(&e->parent_comm, child, real_parent, comm);
	bpf_ringbuf_submit(e, submit_flags(now));
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct exec_scratch *s;
	struct mm_struct *mm;
	const struct cred *cred;
	long n;

	if (!is_followed(BPF_CORE_READ(task, tgid)))
		return 0;
	s = scratch();
	if (!s)
		return 0;

	fill_header(&s->rec.hdr, task, EXECMOND_REC_EXEC, bpf_ktime_get_boot_ns());
	s->rec.hdr.cgroup_id = bpf_get_current_cgroup_id();
	s->rec.old_tid = old_pid;
	cred = BPF_CORE_READ(task, real_cred);
	s->rec.euid = BPF_CORE_READ(cred, euid.val);
	s->rec.egid = BPF_CORE_READ(cred, egid.val);
	s->rec.argc = BPF_CORE_READ(bprm, argc);

	n = bpf_probe_read_kernel_str(s->data, EXECMOND_FILENAME_MAX, BPF_CORE_READ(bprm, filename));
	s->rec.filename_len = n > 0 ? n : 0;

	mm = BPF_CORE_READ(task, mm);
	read_args(s, BPF_CORE_READ(mm, arg_start), BPF_CORE_READ(mm, arg_end));
	output_exec(s);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	struct execmond_exit *e;
	struct signal_struct *sig = BPF_CORE_READ(task, signal);
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u64 now;

	/*
	 * Report the process once, when its last thread goes (signal->live has
	 * already been decremented here); works on kernels whose tracepoint
	 * lacks the group_dead argument.
	 */
	if (BPF_CORE_READ(sig, live.counter) != 0)
		return 0;
	if (!is_followed(tgid))
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		now = bpf_ktime_get_boot_ns();
		fill_header(&e->hdr, task, EXECMOND_REC_EXIT, now);
		e->hdr.size = sizeof(*e);
		e->hdr.cgroup_id = bpf_get_current_cgroup_id();
		e->exit_code = (BPF_CORE_READ(sig, flags) & SIGNAL_GROUP_EXIT)
				       ? BPF_CORE_READ(sig, group_exit_code)
				       : BPF_CORE_READ(task, exit_code);
		e->reserved1 = 0;
		bpf_ringbuf_submit(e, submit_flags(now));
	} else {
		count_drop(EXECMOND_REC_EXIT);
	}
	unfollow(tgid);
	return 0;
}
