/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Kernel BTF: typed tp_btf programs (no tracefs needed) that read task
 * fields by direct loads through their typed arguments, relocated by CO-RE
 * against the running kernel (/sys/kernel/btf/vmlinux).
 *
 * Direct loads, not bpf_probe_read_kernel() helper calls: the verifier turns
 * each into a fault-safe load, ~10 ns instead of ~80 ns a field here; and
 * times are CLOCK_MONOTONIC (bpf_ktime_get_ns(), ~60 ns; bpf_ktime_get_boot_ns()
 * takes ~300 ns), converted to CLOCK_BOOTTIME by the daemon (docs/benchmarks.md).
 */

/* The cgroup v2 id of a task (what bpf_get_current_cgroup_id() returns for current). */
static __always_inline __u64 btf_cgroup_id(struct task_struct *task)
{
	return task->cgroups->dfl_cgrp->kn->id;
}

/*
 * `task` is the thread the event happened on (credentials, cgroup, parent);
 * `process` the one whose identity the record carries: the same thread for
 * fork and exec, the group leader for exit (which may have gone first).
 */
static __always_inline void btf_fill_header(struct execmond_header *h, struct task_struct *task,
					    struct task_struct *process, __u32 type)
{
	const struct cred *cred = task->real_cred;
	struct pid *pid = process->thread_pid;
	unsigned int level = pid->level;

	h->type = type;
	h->start_boottime_ns = process->start_boottime;
	h->cgroup_id = btf_cgroup_id(task);
	h->pid = task->tgid;
	h->tid = process->pid;
	h->ppid = task->real_parent->tgid;
	h->uid = cred->uid.val;
	h->gid = cred->gid.val;
	if (level == 0) {
		/* The initial pid namespace: a constant offset, direct loads. */
		h->ns_pid = pid->numbers[0].nr;
		h->pidns_id = pid->numbers[0].ns->ns.inum;
	} else {
		/* A variable index into numbers[]: helper reads. */
		struct pid_namespace *ns = NULL;

		h->ns_pid = 0;
		bpf_core_read(&h->ns_pid, sizeof(h->ns_pid), &pid->numbers[level].nr);
		bpf_core_read(&ns, sizeof(ns), &pid->numbers[level].ns);
		h->pidns_id = BPF_CORE_READ(ns, ns.inum);
	}
	h->parent_source = EXECMOND_PARENT_BTF;
	h->unknown = 0;
	__builtin_memcpy(h->comm, process->comm, sizeof(h->comm));
	h->comm[sizeof(h->comm) - 1] = '\0';
}

/*
 * task_newtask, not sched_process_fork: it fires in copy_process() before the
 * child can run, so a child's fork record always precedes its own exec and
 * exit records. sched_process_fork fires before wake_up_new_task() too, but
 * carries no clone flags to tell threads from processes.
 */
SEC("?tp_btf/task_newtask")
int BPF_PROG(fork_btf, struct task_struct *child, __u64 clone_flags)
{
	struct execmond_fork *e;
	__u32 tgid = child->tgid;

	/* A new thread is not a new process. */
	if (clone_flags & CLONE_THREAD)
		return 0;
	/* The real parent: the caller, or the caller's parent with CLONE_PARENT. */
	follow_child(child->real_parent->tgid, tgid);
	if (!is_followed(tgid))
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(EXECMOND_REC_FORK);
		return 0;
	}
	btf_fill_header(&e->hdr, child, child, EXECMOND_REC_FORK);
	e->hdr.size = sizeof(*e);
	/* The child's start (CLOCK_MONOTONIC) is the fork: no clock read needed. */
	e->hdr.ktime_ns = child->start_time;
	e->parent_start_boottime_ns = child->real_parent->start_boottime;
	__builtin_memcpy(e->parent_comm, child->real_parent->comm, sizeof(e->parent_comm));
	e->parent_comm[sizeof(e->parent_comm) - 1] = '\0';
	submit(e);
	return 0;
}

SEC("?tp_btf/sched_process_exec")
int BPF_PROG(exec_btf, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct exec_scratch *s;
	struct mm_struct *mm;
	const struct cred *cred;
	long n;

	if (!is_followed(task->tgid))
		return 0;
	s = scratch();
	if (!s)
		return 0;

	btf_fill_header(&s->rec.hdr, task, task, EXECMOND_REC_EXEC);
	s->rec.hdr.ktime_ns = bpf_ktime_get_ns();
	s->rec.old_tid = old_pid;
	cred = task->real_cred;
	s->rec.euid = cred->euid.val;
	s->rec.egid = cred->egid.val;
	s->rec.argc = bprm->argc;

	n = bpf_probe_read_kernel_str(s->data, EXECMOND_FILENAME_MAX, bprm->filename);
	s->rec.filename_len = n > 0 ? n : 0;

	mm = task->mm;
	read_args(s, mm->arg_start, mm->arg_end);
	IDENT_FILL(s, task, bprm, IDENT_DIRECT);
	read_env(s, mm);
	output_exec(s);
	return 0;
}

/*
 * Once per process, when its last thread exits. Kernels whose tracepoint
 * passes group_dead say so exactly; on the others the candidates are the
 * threads that see signal->live == 0 and the first to claim the process wins.
 * The group_dead argument is read only on a kernel that has it: the branch
 * is a CO-RE constant, so older verifiers never see the access.
 */
SEC("?tp_btf/sched_process_exit")
int BPF_PROG(exit_btf, struct task_struct *task)
{
	struct execmond_exit *e;
	struct signal_struct *sig = task->signal;
	struct task_struct *leader = task->group_leader;
	__u32 tgid = task->tgid;

	if (bpf_core_field_exists(
		    ((struct trace_event_raw_sched_process_exit___group_dead *)0)->group_dead)) {
		if (!(bool)ctx[1])
			return 0;
	} else if (sig->live.counter != 0 || !claim_exit(tgid, leader->start_boottime)) {
		return 0;
	}
	if (!is_followed(tgid))
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		btf_fill_header(&e->hdr, task, leader, EXECMOND_REC_EXIT);
		e->hdr.size = sizeof(*e);
		e->hdr.ktime_ns = bpf_ktime_get_ns();
		e->exit_code = wait_status(sig->flags, sig->group_exit_code, leader->exit_code);
		e->reserved1 = 0;
		read_exit_usage(e, task, leader, e->hdr.ktime_ns);
		submit(e);
	} else {
		count_drop(EXECMOND_REC_EXIT);
	}
	unfollow(tgid);
	return 0;
}
