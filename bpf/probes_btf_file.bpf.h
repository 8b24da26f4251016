/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A BTF file (--btf) on a kernel without BTF of its own: raw tracepoints,
 * which get the same arguments as tp_btf (the task, the binprm ...) as plain
 * numbers, and read every field with BPF_CORE_READ. libbpf relocates those
 * reads against the file (bpf_object_open_opts.btf_custom_path), the way
 * libbpf-tools run on btfhub files. Raw tracepoints (4.17) need neither the
 * kernel's BTF nor tracefs.
 */

static __always_inline void core_fill_header(struct execmond_header *h, struct task_struct *task,
					     struct task_struct *process, __u32 type)
{
	struct pid *pid = BPF_CORE_READ(process, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct pid_namespace *ns = NULL;

	h->type = type;
	h->start_boottime_ns = BPF_CORE_READ(process, start_boottime);
	h->cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	h->pid = BPF_CORE_READ(task, tgid);
	h->tid = BPF_CORE_READ(process, pid);
	h->ppid = BPF_CORE_READ(task, real_parent, tgid);
	h->uid = BPF_CORE_READ(task, real_cred, uid.val);
	h->gid = BPF_CORE_READ(task, real_cred, gid.val);
	h->ns_pid = 0;
	bpf_core_read(&h->ns_pid, sizeof(h->ns_pid), &pid->numbers[level].nr);
	bpf_core_read(&ns, sizeof(ns), &pid->numbers[level].ns);
	h->pidns_id = BPF_CORE_READ(ns, ns.inum);
	h->parent_source = EXECMOND_PARENT_BTF_FILE;
	h->unknown = 0;
	bpf_core_read(h->comm, sizeof(h->comm), &process->comm);
	h->comm[sizeof(h->comm) - 1] = '\0';
}

SEC("?raw_tp/task_newtask")
int BPF_PROG(fork_btf_file, struct task_struct *child, __u64 clone_flags)
{
	struct execmond_fork *e;
	struct task_struct *parent;
	__u32 tgid;

	if (clone_flags & CLONE_THREAD)
		return 0;
	tgid = BPF_CORE_READ(child, tgid);
	parent = BPF_CORE_READ(child, real_parent);
	follow_child(BPF_CORE_READ(parent, tgid), tgid);
	if (!is_followed(tgid))
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(EXECMOND_REC_FORK);
		return 0;
	}
	core_fill_header(&e->hdr, child, child, EXECMOND_REC_FORK);
	e->hdr.size = sizeof(*e);
	e->hdr.ktime_ns = BPF_CORE_READ(child, start_time);
	e->parent_start_boottime_ns = BPF_CORE_READ(parent, start_boottime);
	bpf_core_read(e->parent_comm, sizeof(e->parent_comm), &parent->comm);
	e->parent_comm[sizeof(e->parent_comm) - 1] = '\0';
	submit(e);
	return 0;
}

SEC("?raw_tp/sched_process_exec")
int BPF_PROG(exec_btf_file, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct exec_scratch *s;
	struct mm_struct *mm;
	long n;

	if (!is_followed(BPF_CORE_READ(task, tgid)))
		return 0;
	s = scratch();
	if (!s)
		return 0;

	core_fill_header(&s->rec.hdr, task, task, EXECMOND_REC_EXEC);
	s->rec.hdr.ktime_ns = bpf_ktime_get_ns();
	s->rec.old_tid = old_pid;
	s->rec.euid = BPF_CORE_READ(task, real_cred, euid.val);
	s->rec.egid = BPF_CORE_READ(task, real_cred, egid.val);
	s->rec.argc = BPF_CORE_READ(bprm, argc);

	n = bpf_probe_read_kernel_str(s->data, EXECMOND_FILENAME_MAX, BPF_CORE_READ(bprm, filename));
	s->rec.filename_len = n > 0 ? n : 0;

	mm = BPF_CORE_READ(task, mm);
	read_args(s, BPF_CORE_READ(mm, arg_start), BPF_CORE_READ(mm, arg_end));
	IDENT_FILL(s, task, bprm, BPF_CORE_READ);
	read_env(s, mm);
	output_exec(s);
	return 0;
}

/* As exit_btf (probes_tp_btf.bpf.h); a raw tracepoint may read only the
 * arguments its kernel passes, hence the same CO-RE guard for group_dead. */
SEC("?raw_tp/sched_process_exit")
int BPF_PROG(exit_btf_file, struct task_struct *task)
{
	struct execmond_exit *e;
	struct signal_struct *sig = BPF_CORE_READ(task, signal);
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);
	__u32 tgid = BPF_CORE_READ(task, tgid);

	if (bpf_core_field_exists(
		    ((struct trace_event_raw_sched_process_exit___group_dead *)0)->group_dead)) {
		if (!(bool)ctx[1])
			return 0;
	} else if (BPF_CORE_READ(sig, live.counter) != 0 ||
		   !claim_exit(tgid, BPF_CORE_READ(leader, start_boottime))) {
		return 0;
	}
	if (!is_followed(tgid))
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		core_fill_header(&e->hdr, task, leader, EXECMOND_REC_EXIT);
		e->hdr.size = sizeof(*e);
		e->hdr.ktime_ns = bpf_ktime_get_ns();
		e->exit_code = wait_status(BPF_CORE_READ(sig, flags), BPF_CORE_READ(sig, group_exit_code),
					   BPF_CORE_READ(leader, exit_code));
		e->reserved1 = 0;
		read_exit_usage(e, task, leader, e->hdr.ktime_ns);
		submit(e);
	} else {
		count_drop(EXECMOND_REC_EXIT);
	}
	unfollow(tgid);
	return 0;
}

/*
 * Run once by the daemon before anything is attached (BPF_PROG_TEST_RUN runs
 * it in the daemon's own context): reads the daemon's own task through the
 * BTF file's relocations and compares with what helpers and /proc say. A file
 * made for another kernel build relocates to other offsets. Returns 0 if all
 * agree, else the number of the first check that failed (Probes::load names
 * the field).
 */
SEC("?raw_tp")
int BPF_PROG(check_btf_file, __u64 arg_start, __u64 start_ticks, __u64 ns_per_tick)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	if (BPF_CORE_READ(t, tgid) != (__u32)(pid_tgid >> 32))
		return 1;
	if (BPF_CORE_READ(t, pid) != (__u32)pid_tgid)
		return 2;
	if (BPF_CORE_READ(t, real_cred, uid.val) != (__u32)uid_gid)
		return 3;
	if (BPF_CORE_READ(t, mm, arg_start) != arg_start)
		return 4;
	if (ns_per_tick == 0 || BPF_CORE_READ(t, group_leader, start_boottime) / ns_per_tick != start_ticks)
		return 5;
	if (BPF_CORE_READ(t, group_leader, tgid) != (__u32)(pid_tgid >> 32))
		return 6;
	return 0;
}
