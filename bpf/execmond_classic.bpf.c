// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Probes for kernels without BTF: classic tracepoints (tracefs), no CO-RE
 * relocations at all. Task fields are read at offsets the daemon resolved
 * from a BTF file (--btf); without them the parent comes from a map the fork
 * probe fills (and the daemon seeds from /proc), and argv is not available.
 * Tracepoint field positions come from tracefs format files, not constants.
 */
#include "execmond_common.bpf.h"

const volatile struct execmond_task_offsets off = {};
const volatile struct execmond_tp_layout tp = {};

/* tgid -> parent tgid at fork time, for when no offsets are known. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* sized by the daemon */
	__uint(map_flags, 1 /* BPF_F_NO_PREALLOC */);
	__type(key, __u32);
	__type(value, __u32);
} parents SEC(".maps");

#define CLONE_PARENT 0x00008000

static __always_inline __u64 read_u64(const void *base, __u32 field)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), (const char *)base + field);
	return v;
}

static __always_inline __u32 read_u32(const void *base, __u32 field)
{
	__u32 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), (const char *)base + field);
	return v;
}

static __always_inline const void *read_ptr(const void *base, __u32 field)
{
	return (const void *)read_u64(base, field);
}

static __always_inline __u32 parent_of(const void *task, __u32 tgid, __u16 *source)
{
	__u32 *ppid;

	if (off.valid) {
		*source = EXECMOND_PARENT_OFFSETS;
		return read_u32(read_ptr(task, off.task_real_parent), off.task_tgid);
	}
	ppid = bpf_map_lookup_elem(&parents, &tgid);
	*source = ppid ? EXECMOND_PARENT_FORK_MAP : EXECMOND_PARENT_UNKNOWN;
	return ppid ? *ppid : 0;
}

/* Header of the current task; the fork probe overwrites the child's fields. */
static __always_inline void fill_header(struct execmond_header *h, __u32 type, __u64 now)
{
	const void *task = (const void *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	h->type = type;
	h->ktime_ns = now;
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->uid = (__u32)uid_gid;
	h->gid = uid_gid >> 32;
	h->ppid = parent_of(task, h->pid, &h->parent_source);
	h->reserved0 = 0;
	h->start_boottime_ns = 0;
	h->ns_pid = 0;
	h->pidns_id = 0;
	if (off.valid) {
		const void *pid = read_ptr(task, off.task_thread_pid);
		__u32 level = read_u32(pid, off.pid_level);
		const char *upid = (const char *)pid + off.pid_numbers + (__u64)level * off.upid_size;

		h->start_boottime_ns = read_u64(task, off.task_start_boottime);
		h->ns_pid = read_u32(upid, off.upid_nr);
		h->pidns_id = read_u32(read_ptr(upid, off.upid_ns), off.pidns_inum);
	}
	bpf_get_current_comm(&h->comm, sizeof(h->comm));
}

/*
 * sched_process_fork's classic arguments carry no clone flags, so threads
 * could not be told apart; task_newtask (same copy_process() call, before
 * the child can run) has them. current is the parent here.
 */
SEC("tracepoint/task/task_newtask")
int handle_newtask(void *ctx)
{
	struct execmond_fork *e;
	__u64 flags = 0;
	__u32 child = 0, parent_tgid = bpf_get_current_pid_tgid() >> 32, ppid;
	__u16 source;
	__u64 now;

	bpf_probe_read_kernel(&flags, sizeof(flags), (const char *)ctx + tp.newtask_clone_flags);
	if (flags & CLONE_THREAD)
		return 0;
	bpf_probe_read_kernel(&child, sizeof(child), (const char *)ctx + tp.newtask_pid);

	/* CLONE_PARENT makes the child a sibling of the caller. */
	ppid = parent_tgid;
	if (flags & CLONE_PARENT)
		ppid = parent_of((const void *)bpf_get_current_task(), parent_tgid, &source);
	bpf_map_update_elem(&parents, &child, &ppid, BPF_ANY);
	follow_child(parent_tgid, child);
	if (!is_followed(child))
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(EXECMOND_REC_FORK);
		return 0;
	}
	now = bpf_ktime_get_ns();
	fill_header(&e->hdr, EXECMOND_REC_FORK, now);
	__builtin_memcpy(e->parent_comm, e->hdr.comm, sizeof(e->parent_comm));
	e->parent_start_boottime_ns = e->hdr.start_boottime_ns;
	e->hdr.size = sizeof(*e);
	e->hdr.pid = child;
	e->hdr.tid = child;
	e->hdr.ppid = ppid;
	e->hdr.parent_source = off.valid ? EXECMOND_PARENT_OFFSETS : EXECMOND_PARENT_FORK_MAP;
	/* The child starts now; its pid-namespace view is not known yet. */
	e->hdr.start_boottime_ns = off.valid ? bpf_ktime_get_boot_ns() : 0;
	e->hdr.ns_pid = 0;
	e->hdr.pidns_id = 0;
	bpf_ringbuf_submit(e, submit_flags(&e->hdr.ktime_ns, now));
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int handle_exec(void *ctx)
{
	struct exec_scratch *s;
	__u32 loc = 0;
	long n;

	if (!is_followed(bpf_get_current_pid_tgid() >> 32))
		return 0;
	s = scratch();
	if (!s)
		return 0;

	fill_header(&s->rec.hdr, EXECMOND_REC_EXEC, bpf_ktime_get_ns());
	bpf_probe_read_kernel(&s->rec.old_tid, sizeof(s->rec.old_tid), (const char *)ctx + tp.exec_old_pid);
	s->rec.euid = s->rec.hdr.uid;
	s->rec.egid = s->rec.hdr.gid;
	s->rec.argc = 0;
	s->rec.args_len = 0;
	s->rec.args_full_len = 0;

	/* __data_loc: low 16 bits offset from the record start, high 16 length. */
	bpf_probe_read_kernel(&loc, sizeof(loc), (const char *)ctx + tp.exec_filename_loc);
	n = bpf_probe_read_kernel_str(s->data, EXECMOND_FILENAME_MAX, (const char *)ctx + (loc & 0xffff));
	s->rec.filename_len = n > 0 ? n : 0;

	if (off.valid) {
		const void *mm = read_ptr((const void *)bpf_get_current_task(), off.task_mm);

		read_args(s, read_u64(mm, off.mm_arg_start), read_u64(mm, off.mm_arg_end));
		s->rec.euid = read_u32(read_ptr((const void *)bpf_get_current_task(), off.task_real_cred),
				       off.cred_euid);
		s->rec.egid = read_u32(read_ptr((const void *)bpf_get_current_task(), off.task_real_cred),
				       off.cred_egid);
	}
	output_exec(s);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int handle_exit(void *ctx)
{
	struct execmond_exit *e;
	const void *task = (const void *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	const void *sig = NULL;
	__u64 now;

	if (off.valid) {
		sig = read_ptr(task, off.task_signal);
		if (read_u32(sig, off.signal_live) != 0)
			return 0;
	} else if (tp.exit_group_dead) {
		/*
		 * The last thread of the process. Not the leader's exit: after an
		 * exec from another thread, de_thread() retires the old leader
		 * while the process lives on under the same tgid.
		 */
		__u8 group_dead = 0;

		bpf_probe_read_kernel(&group_dead, sizeof(group_dead), (const char *)ctx + tp.exit_group_dead);
		if (!group_dead)
			return 0;
	} else if ((__u32)pid_tgid != tgid) {
		return 0; /* the leader's exit stands for the process (wrong after an exec by another thread) */
	}

	if (is_followed(tgid)) {
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (e) {
			now = bpf_ktime_get_ns();
			fill_header(&e->hdr, EXECMOND_REC_EXIT, now);
			e->hdr.size = sizeof(*e);
			e->exit_code = 0;
			if (off.valid)
				e->exit_code = (read_u32(sig, off.signal_flags) & SIGNAL_GROUP_EXIT)
						       ? read_u32(sig, off.signal_group_exit_code)
						       : read_u32(task, off.task_exit_code);
			e->reserved1 = 0;
			bpf_ringbuf_submit(e, submit_flags(&e->hdr.ktime_ns, now));
		} else {
			count_drop(EXECMOND_REC_EXIT);
		}
	}
	unfollow(tgid);
	bpf_map_delete_elem(&parents, &tgid);
	return 0;
}
