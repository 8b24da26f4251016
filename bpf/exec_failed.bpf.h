/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --exec-failures: execve()/execveat() calls that return an error. The
 * attempted filename and argv are copied at syscall entry (the caller's own
 * memory, before the kernel looked at it) into a per-thread stash; the exit
 * of the same syscall reports the stash if the return is negative. What the
 * entry could not read (a page not faulted in yet) is copied again at exit.
 *
 * Classic syscall tracepoints (tracefs, CONFIG_FTRACE_SYSCALLS): they fire
 * only for these two syscalls, where raw_syscalls' sys_enter/sys_exit would
 * run a program on every syscall of the machine. They read nothing but
 * helpers and the tracepoints' own records, whose layout (the syscall number
 * then six argument words; the return) has not changed since syscall
 * tracepoints came, so the same programs serve every probe mode. Loaded and
 * attached only with --exec-failures (bpf_program__set_autoload); their maps
 * are created only then (bpf_map__set_autocreate). Native syscalls only: the
 * kernel does not trace 32-bit compat syscalls on 64-bit machines.
 */
#ifndef EXECMOND_EXEC_FAILED_BPF_H
#define EXECMOND_EXEC_FAILED_BPF_H

/* What a syscall tracepoint passes: the common header (8 bytes), the
 * syscall number (padded to 8), then the arguments or the return. */
struct syscall_enter_args {
	__u64 common;
	long nr;
	unsigned long args[6];
};

struct syscall_exit_args {
	__u64 common;
	long nr;
	long ret;
};

/* One thread's exec in flight. The data area has room for a whole argument
 * area after the longest filename, and one more so that the verifier can
 * see every read in bounds without relating two offsets. */
struct failed_stash {
	__u32 armed;	    /* set at entry, cleared at exit */
	__u32 faulted;	    /* the entry's copy hit a page not yet faulted in */
	__u64 filename_ptr; /* the caller's pointers, to copy again at exit */
	__u64 argv_ptr;
	struct execmond_exec_failed rec;
	char data[EXECMOND_FILENAME_MAX + 2 * EXECMOND_FAILED_ARGS_MAX];
};

/* tid -> its exec in flight. LRU: a thread that dies inside execve(), or a
 * successful exec from a non-leader thread (which returns as the leader),
 * never clears its entry; eviction only bounds the memory. Entries are
 * reused in place, so only a thread's first exec copies the template. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, struct failed_stash);
} failed_stash SEC(".maps");

/* A zeroed value to create stash entries from (never written). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct failed_stash);
} failed_template SEC(".maps");

static __always_inline struct failed_stash *stash_of(__u32 tid)
{
	struct failed_stash *s = bpf_map_lookup_elem(&failed_stash, &tid);
	__u32 zero = 0;
	void *template;

	if (s)
		return s;
	template = bpf_map_lookup_elem(&failed_template, &zero);
	if (!template)
		return NULL;
	bpf_map_update_elem(&failed_stash, &tid, template, BPF_NOEXIST);
	return bpf_map_lookup_elem(&failed_stash, &tid);
}

static __always_inline void stash_args(struct failed_stash *s, const char *const *argv)
{
	__u32 fn = s->rec.filename_len;
	__u32 off = 0;
	int i;

	s->rec.argc = 0;
	s->rec.args_len = 0;
	if (fn > EXECMOND_FILENAME_MAX || !argv)
		return;
	for (i = 0; i < EXECMOND_FAILED_ARGC_MAX; i++) {
		const char *arg = NULL;
		long n;

		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
			break;
		if (off >= EXECMOND_FAILED_ARGS_MAX) {
			s->rec.flags |= EXECMOND_FAILED_ARGS_TRUNCATED;
			break;
		}
		n = bpf_probe_read_user_str(&s->data[fn + off], EXECMOND_FAILED_ARGS_MAX - off, arg);
		/* Some kernels (5.10) read an empty string as 0 bytes, not 1: its
		 * NUL cannot be told from nothing there, so argv ends here, flagged
		 * cut. (Going on with a second path through the loop body makes
		 * the 5.10-era verifier walk both for every argument: minutes.) */
		if (n == 0) {
			s->rec.flags |= EXECMOND_FAILED_ARGS_TRUNCATED;
			break;
		}
		if (n < 0) {
			/* Not readable now; if the exit's copy fails too, the
			 * line says argv is cut there. */
			s->faulted = 1;
			s->rec.flags |= EXECMOND_FAILED_ARGS_TRUNCATED;
			break;
		}
		off += n;
		s->rec.argc++;
		/* The last string filled what was left: it may have been cut. */
		if (off >= EXECMOND_FAILED_ARGS_MAX) {
			s->rec.flags |= EXECMOND_FAILED_ARGS_TRUNCATED;
			break;
		}
	}
	if (i == EXECMOND_FAILED_ARGC_MAX) {
		const char *more = NULL;

		if (bpf_probe_read_user(&more, sizeof(more), &argv[i]) == 0 && more)
			s->rec.flags |= EXECMOND_FAILED_ARGS_TRUNCATED;
	}
	s->rec.args_len = off > EXECMOND_FAILED_ARGS_MAX ? EXECMOND_FAILED_ARGS_MAX : off;
}

/* Copies filename and argv from the caller's memory into the stash. */
static __always_inline void copy_exec_args(struct failed_stash *s, const char *filename,
					   const char *const *argv)
{
	long n;

	s->faulted = 0;
	s->rec.flags = 0;
	n = bpf_probe_read_user_str(s->data, EXECMOND_FILENAME_MAX, filename);
	if (n == 0) { /* an empty path, on kernels that read it as 0 bytes */
		s->data[0] = '\0';
		n = 1;
	}
	s->rec.filename_len = n > 0 ? n : 0;
	if (n < 0)
		s->faulted = 1;
	stash_args(s, argv);
}

static __always_inline int stash_exec(const char *filename, const char *const *argv)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct failed_stash *s;

	if (!is_followed(pid_tgid >> 32))
		return 0;
	s = stash_of((__u32)pid_tgid);
	if (!s) {
		count_drop(EXECMOND_REC_EXEC_FAILED);
		return 0;
	}
	s->filename_ptr = (__u64)filename;
	s->argv_ptr = (__u64)argv;
	copy_exec_args(s, filename, argv);
	s->armed = 1;
	return 0;
}

static __always_inline int report_exec_failed(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();
	__u32 tid = (__u32)pid_tgid;
	struct failed_stash *s = bpf_map_lookup_elem(&failed_stash, &tid);
	struct execmond_header *h;
	__u32 size;
	__u64 flags;

	if (!s || !s->armed)
		return 0;
	s->armed = 0;
	if (ret >= 0)
		return 0;
	/* BPF cannot fault pages in: a string the caller had not touched (a
	 * literal of a freshly forked static binary) reads as nothing at entry.
	 * The kernel has read them since, and a failed exec leaves the caller's
	 * memory as it was: copy them again. */
	if (s->faulted)
		copy_exec_args(s, (const char *)s->filename_ptr, (const char *const *)s->argv_ptr);

	h = &s->rec.hdr;
	h->type = EXECMOND_REC_EXEC_FAILED;
	h->ktime_ns = bpf_ktime_get_ns();
	h->start_boottime_ns = 0;
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->pid = pid_tgid >> 32;
	h->tid = tid;
	h->ppid = 0;
	h->uid = (__u32)uid_gid;
	h->gid = uid_gid >> 32;
	h->ns_pid = 0;
	h->pidns_id = 0;
	h->parent_source = EXECMOND_PARENT_UNKNOWN;
	h->unknown = EXECMOND_UNKNOWN_START | EXECMOND_UNKNOWN_NS;
	bpf_get_current_comm(&h->comm, sizeof(h->comm));
	s->rec.error = (__s32)ret;

	size = sizeof(s->rec) + s->rec.filename_len + s->rec.args_len;
	if (size > sizeof(s->rec) + EXECMOND_FILENAME_MAX + EXECMOND_FAILED_ARGS_MAX)
		return 0;
	h->size = size;
	flags = wake_flags();
	if (bpf_ringbuf_output(&events, &s->rec, size, flags)) {
		count_drop(EXECMOND_REC_EXEC_FAILED);
		return 0;
	}
	after_commit_untimed(flags);
	return 0;
}

SEC("?tracepoint/syscalls/sys_enter_execve")
int exec_failed_enter(struct syscall_enter_args *ctx)
{
	return stash_exec((const char *)ctx->args[0], (const char *const *)ctx->args[1]);
}

SEC("?tracepoint/syscalls/sys_enter_execveat")
int exec_failed_enter_at(struct syscall_enter_args *ctx)
{
	return stash_exec((const char *)ctx->args[1], (const char *const *)ctx->args[2]);
}

SEC("?tracepoint/syscalls/sys_exit_execve")
int exec_failed_exit(struct syscall_exit_args *ctx)
{
	return report_exec_failed(ctx->ret);
}

SEC("?tracepoint/syscalls/sys_exit_execveat")
int exec_failed_exit_at(struct syscall_exit_args *ctx)
{
	return report_exec_failed(ctx->ret);
}

#endif /* EXECMOND_EXEC_FAILED_BPF_H */
