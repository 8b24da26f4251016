/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Neither kernel BTF nor a BTF file: classic tracepoints (tracefs) and only
 * what helpers and the tracepoints' own records give, with no task fields and
 * no CO-RE relocations at all. The record fields' positions come from tracefs
 * format files (the daemon writes them into `tp`). The parent comes from a
 * map the fork probe fills (and the daemon seeds from /proc). Start times,
 * pid namespaces, euid/egid, argv and exit codes cannot be read: records mark
 * them unknown instead of inventing values.
 */

const volatile struct execmond_tp_layout tp = {};

/* tgid -> parent tgid at fork time. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* sized by the daemon */
	__uint(map_flags, 1 /* BPF_F_NO_PREALLOC */);
	__type(key, __u32);
	__type(value, __u32);
} parents SEC(".maps");

#define FORK_MAP_UNKNOWN (EXECMOND_UNKNOWN_START | EXECMOND_UNKNOWN_NS)

static __always_inline __u32 fork_map_parent(__u32 tgid, __u16 *source)
{
	__u32 *ppid = bpf_map_lookup_elem(&parents, &tgid);

	*source = ppid ? EXECMOND_PARENT_FORK_MAP : EXECMOND_PARENT_UNKNOWN;
	return ppid ? *ppid : 0;
}

/* Header of the current task; the fork probe overwrites the child's fields. */
static __always_inline void fork_map_fill_header(struct execmond_header *h, __u32 type, __u64 now)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	h->type = type;
	h->ktime_ns = now;
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->uid = (__u32)uid_gid;
	h->gid = uid_gid >> 32;
	h->ppid = fork_map_parent(h->pid, &h->parent_source);
	h->unknown = FORK_MAP_UNKNOWN;
	h->start_boottime_ns = 0;
	h->ns_pid = 0;
	h->pidns_id = 0;
	bpf_get_current_comm(&h->comm, sizeof(h->comm));
}

/*
 * sched_process_fork's classic arguments carry no clone flags, so threads
 * could not be told apart; task_newtask (same copy_process() call, before
 * the child can run) has them. current is the parent here.
 */
SEC("?tracepoint/task/task_newtask")
int fork_fork_map(void *ctx)
{
	struct execmond_fork *e;
	__u64 flags = 0;
	__u32 child = 0, parent_tgid = bpf_get_current_pid_tgid() >> 32, ppid;
	struct exit_key claim = {};
	__u16 source;

	bpf_probe_read_kernel(&flags, sizeof(flags), (const char *)ctx + tp.newtask_clone_flags);
	if (flags & CLONE_THREAD)
		return 0;
	bpf_probe_read_kernel(&child, sizeof(child), (const char *)ctx + tp.newtask_pid);

	/* CLONE_PARENT makes the child a sibling of the caller. */
	ppid = parent_tgid;
	if (flags & CLONE_PARENT)
		ppid = fork_map_parent(parent_tgid, &source);
	bpf_map_update_elem(&parents, &child, &ppid, BPF_ANY);
	/* A new process on this pid: the exit claim of the last one is spent. */
	claim.tgid = child;
	bpf_map_delete_elem(&exit_claims, &claim);
	follow_child(parent_tgid, child);
	if (!is_followed(child))
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(EXECMOND_REC_FORK);
		return 0;
	}
	fork_map_fill_header(&e->hdr, EXECMOND_REC_FORK, bpf_ktime_get_ns());
	__builtin_memcpy(e->parent_comm, e->hdr.comm, sizeof(e->parent_comm));
	e->parent_start_boottime_ns = 0;
	e->hdr.size = sizeof(*e);
	e->hdr.pid = child;
	e->hdr.tid = child;
	e->hdr.ppid = ppid;
	e->hdr.parent_source = EXECMOND_PARENT_FORK_MAP;
	submit(e);
	return 0;
}

SEC("?tracepoint/sched/sched_process_exec")
int exec_fork_map(void *ctx)
{
	struct exec_scratch *s;
	__u32 loc = 0;
	long n;

	if (!is_followed(bpf_get_current_pid_tgid() >> 32))
		return 0;
	s = scratch();
	if (!s)
		return 0;

	fork_map_fill_header(&s->rec.hdr, EXECMOND_REC_EXEC, bpf_ktime_get_ns());
	s->rec.hdr.unknown |= EXECMOND_UNKNOWN_EUID | EXECMOND_UNKNOWN_ARGS;
	bpf_probe_read_kernel(&s->rec.old_tid, sizeof(s->rec.old_tid), (const char *)ctx + tp.exec_old_pid);
	s->rec.euid = 0;
	s->rec.egid = 0;
	s->rec.argc = 0;
	s->rec.args_len = 0;
	s->rec.args_full_len = 0;
	s->rec.env_len = 0;
	s->rec.env_full_len = 0;
	if (env_enabled)
		s->rec.hdr.unknown |= EXECMOND_UNKNOWN_ENV;

	/* __data_loc: low 16 bits offset from the record start, high 16 length. */
	bpf_probe_read_kernel(&loc, sizeof(loc), (const char *)ctx + tp.exec_filename_loc);
	n = bpf_probe_read_kernel_str(s->data, EXECMOND_FILENAME_MAX, (const char *)ctx + (loc & 0xffff));
	s->rec.filename_len = n > 0 ? n : 0;
	ident_unknown(s);
	output_exec(s);
	return 0;
}

/*
 * Without task fields signal->live cannot be read. Kernels whose tracepoint
 * has group_dead say when the process ends; on the others the leader
 * thread's exit stands for it, claimed once per pid (until a new process
 * takes the pid) because after an execve() from another thread the retired
 * leader and later the new one both exit under the tgid. Either way the
 * report can come early: when the leader thread ends before the others.
 */
SEC("?tracepoint/sched/sched_process_exit")
int exit_fork_map(void *ctx)
{
	struct execmond_exit *e;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;

	if (tp.exit_group_dead) {
		__u8 group_dead = 0;

		bpf_probe_read_kernel(&group_dead, sizeof(group_dead),
				      (const char *)ctx + tp.exit_group_dead);
		if (!group_dead)
			return 0;
	} else if ((__u32)pid_tgid != tgid || !claim_exit(tgid, 0)) {
		return 0;
	}

	if (is_followed(tgid)) {
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (e) {
			fork_map_fill_header(&e->hdr, EXECMOND_REC_EXIT, bpf_ktime_get_ns());
			e->hdr.size = sizeof(*e);
			e->hdr.tid = tgid;
			e->hdr.unknown |= EXECMOND_UNKNOWN_EXIT_CODE;
			e->exit_code = 0;
			e->reserved1 = 0;
			clear_exit_usage(e);
			submit(e);
		} else {
			count_drop(EXECMOND_REC_EXIT);
		}
	}
	unfollow(tgid);
	bpf_map_delete_elem(&parents, &tgid);
	return 0;
}
