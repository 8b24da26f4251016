/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The record ABI shared by the BPF programs (bpf/) and the daemon (daemon/).
 * Every record starts with struct execmond_header; the kernel writes records
 * into one BPF ring buffer and the daemon decodes them by `type` and `size`.
 * Fixed-width types, no pointers, explicit padding: this layout is an ABI.
 */
#ifndef EXECMOND_EVENT_H
#define EXECMOND_EVENT_H

#ifdef __BPF__
/* BPF side: the kernel types header already provides __u8 .. __u64. */
#else
#include <linux/types.h>
#endif

#define EXECMOND_ABI_VERSION 4

#define EXECMOND_COMM_LEN    16
/* Bytes of the path passed to execve(), including its NUL. */
#define EXECMOND_FILENAME_MAX 4096
/* Bytes of the new image's argument area (NUL-separated argv) kept per exec. */
#define EXECMOND_ARGS_MAX 8192
/* Bytes of the new image's environment area copied per exec with --env (the
 * daemon keeps only the allowlisted names: bpf/env.bpf.h). */
#define EXECMOND_ENV_AREA_MAX 8192
/* Bytes of an exec's working directory and of its executable's path, each
 * (no NUL), and of a #! interpreter's name. */
#define EXECMOND_PATH_MAX   4096
#define EXECMOND_INTERP_MAX 256
/* Path components plus mount crossings one path walk may take: beyond it the
 * path is cut (cwd_truncated) rather than the verifier's budget spent. */
#define EXECMOND_PATH_STEPS 64
/* Highest CPU index the drop counters and scratch buffers are sized for. */
#define EXECMOND_MAX_CPUS 4096

enum execmond_record_type {
	EXECMOND_REC_FORK = 1,
	EXECMOND_REC_EXEC = 2,
	EXECMOND_REC_EXIT = 3,
	EXECMOND_REC_EXEC_FAILED = 4, /* --exec-failures: an execve() that returned an error */
	EXECMOND_REC_TYPE_COUNT = 5,  /* sizes the per-type drop counters */
	/* No event: an 8-byte record whose only job is to wake the reader (the
	 * ring's wake-up policy, bpf/execmond_common.bpf.h). Never decoded. */
	EXECMOND_REC_WAKE = 0x7f,
};

/* How the probe found the parent pid of a record (docs/lineage.md). */
enum execmond_parent_source {
	EXECMOND_PARENT_BTF = 0,      /* CO-RE read of task->real_parent->tgid, kernel BTF */
	EXECMOND_PARENT_BTF_FILE = 1, /* the same read relocated against a BTF file (--btf);
				       * "offsets" on the wire */
	EXECMOND_PARENT_FORK_MAP = 2, /* child->parent map filled by the fork probe */
	EXECMOND_PARENT_UNKNOWN = 3,  /* none of the above knew this task */
};

/*
 * What a record does not know (header `unknown`): the probes without any BTF
 * (fork-map mode) read no task fields, so these members hold 0 and must not be
 * reported as values. 0: everything is known.
 */
enum execmond_unknown {
	EXECMOND_UNKNOWN_START = 1 << 0,     /* start_boottime_ns (and a fork's parent start) */
	EXECMOND_UNKNOWN_NS = 1 << 1,	     /* ns_pid, pidns_id */
	EXECMOND_UNKNOWN_EUID = 1 << 2,	     /* exec: euid, egid */
	EXECMOND_UNKNOWN_ARGS = 1 << 3,	     /* exec: argc and the argument area */
	EXECMOND_UNKNOWN_EXIT_CODE = 1 << 4, /* exit: exit_code */
	EXECMOND_UNKNOWN_IDENT = 1 << 5,     /* exec: cwd, exe, exe_*, interp, tty, flags */
	EXECMOND_UNKNOWN_AUDIT = 1 << 6,     /* exec: auid, session_id (no CONFIG_AUDIT) */
	/* exit: duration and resource usage (high bit: other sets add theirs below) */
	EXECMOND_UNKNOWN_USAGE = 1 << 15,
	EXECMOND_UNKNOWN_ENV = 1 << 14, /* exec: the environment area (fork-map mode) */
};

/* struct execmond_exec `flags`. */
enum execmond_exec_flags {
	EXECMOND_EXEC_CWD_TRUNCATED = 1 << 0, /* the walk's bound cut the cwd */
	EXECMOND_EXEC_EXE_TRUNCATED = 1 << 1, /* ... or the executable's path */
	EXECMOND_EXEC_FILELESS = 1 << 2,      /* the executable has no name on disk (nlink 0) */
	EXECMOND_EXEC_SECURE = 1 << 3,	      /* bprm->secureexec: AT_SECURE */
};

/* Common to all records: who, when, where. 80 bytes. */
struct execmond_header {
	__u32 type;		 /* enum execmond_record_type */
	__u32 size;		 /* bytes of the whole record, header included */
	__u64 ktime_ns;		 /* CLOCK_MONOTONIC of the event (the daemon converts) */
	__u64 start_boottime_ns; /* the process's start (task->start_boottime) */
	__u64 cgroup_id;	 /* cgroup v2 id of the task, 0 if none */
	__u32 pid;		 /* tgid, initial pid namespace */
	__u32 tid;		 /* thread that triggered the event; exit: the process (== pid) */
	__u32 ppid;		 /* tgid of task->real_parent */
	__u32 uid;		 /* real uid */
	__u32 gid;		 /* real gid */
	__u32 ns_pid;		 /* pid in the task's own pid namespace */
	__u32 pidns_id;		 /* inode number of that pid namespace */
	__u16 parent_source;	 /* enum execmond_parent_source */
	__u16 unknown;		 /* enum execmond_unknown bits */
	char comm[EXECMOND_COMM_LEN];
};

/* A new process (not a thread). The header describes the child. */
struct execmond_fork {
	struct execmond_header hdr;
	__u64 parent_start_boottime_ns;
	char parent_comm[EXECMOND_COMM_LEN];
};

/* A successful execve()/execveat(). Followed by `filename_len` bytes of
 * path (NUL included), `args_len` bytes of NUL-separated argv, then (no NULs)
 * `cwd_len` bytes of working directory, `exe_len` of the executable's path
 * and `interp_len` of the #! interpreter (0: not a script), then `env_len`
 * bytes of the environment area (only with --env). */
struct execmond_exec {
	struct execmond_header hdr;
	__u32 old_tid; /* thread that called execve (sched_process_exec old_pid) */
	__u32 euid;
	__u32 egid;
	__u16 filename_len;
	__u16 args_len;
	__u32 args_full_len; /* size of the whole argument area, to flag truncation */
	__u32 argc;	     /* argument count as the kernel saw it (bprm->argc) */
	__u16 cwd_len;	     /* at most EXECMOND_PATH_MAX */
	__u16 exe_len;	     /* at most EXECMOND_PATH_MAX */
	__u16 interp_len;    /* at most EXECMOND_INTERP_MAX */
	__u16 flags;	     /* enum execmond_exec_flags */
	__u32 auid;	     /* login uid, 4294967295 if unset */
	__u32 session_id;    /* audit session, 4294967295 if unset */
	__u32 tty_dev;	     /* controlling tty as stat's tty_nr (new_encode_dev), 0: none */
	/* The executable (file_inode(bprm->file)), as stat(2) shows it. */
	__u32 exe_dev; /* st_dev, new_encode_dev() */
	__u64 exe_ino;
	__s64 exe_size;
	__s64 exe_mtime_sec;
	__u32 exe_mtime_nsec;
	__u32 exe_mode;
	__u32 exe_uid;
	__u32 exe_gid;
	__u32 exe_nlink;
	__u32 reserved1;
	__u16 env_len; /* bytes of the environment area after interp */
	__u16 env_reserved;
	__u32 env_full_len; /* size of the whole area (0 without --env), to flag truncation */
	/* filename, args, cwd, exe, interp and env follow: at most EXECMOND_EXEC_DATA_MAX */
};

/* Bytes that may follow struct execmond_exec. */
#define EXECMOND_EXEC_DATA_MAX                                                                               \
	(EXECMOND_FILENAME_MAX + EXECMOND_ARGS_MAX + 2 * EXECMOND_PATH_MAX + EXECMOND_INTERP_MAX +           \
	 EXECMOND_ENV_AREA_MAX)

/* The last thread of a process exited: one record per process. The header
 * describes the process (its leader's start, ns_pid and comm), whichever
 * thread ended it. */
struct execmond_exit {
	struct execmond_header hdr;
	__u32 exit_code; /* wait(2) status: (code << 8) | signal | 0x80 core */
	__u32 reserved1;
	/* Resource usage of the whole process, dead threads included
	 * (bpf/exit_usage.bpf.h); all 0 with EXECMOND_UNKNOWN_USAGE. */
	__u64 duration_ns;  /* ktime_ns - the leader's start_time (CLOCK_MONOTONIC) */
	__u64 utime_ns;	    /* tick-sampled user time (what the daemon splits runtime by) */
	__u64 stime_ns;	    /* tick-sampled system time */
	__u64 runtime_ns;   /* the scheduler's exact CPU time (sum_exec_runtime) */
	__u64 maxrss_pages; /* signal->maxrss: peak RSS, in pages */
	__u64 nvcsw;	    /* voluntary context switches */
	__u64 nivcsw;	    /* involuntary context switches */
};

/* Bytes of NUL-separated argv kept per failed exec, and arguments read. */
#define EXECMOND_FAILED_ARGS_MAX 4096
#define EXECMOND_FAILED_ARGC_MAX 64

enum execmond_exec_failed_flags {
	EXECMOND_FAILED_ARGS_TRUNCATED = 1 << 0, /* more arguments or bytes than kept */
};

/* An execve()/execveat() that returned an error (bpf/exec_failed.bpf.h).
 * filename and argv are the caller's, copied at syscall entry. The header
 * has no parent (the daemon's table has it), start time or pid namespace.
 * Followed by `filename_len` bytes of path (NUL included), then `args_len`
 * bytes of NUL-separated argv. */
struct execmond_exec_failed {
	struct execmond_header hdr;
	__s32 error; /* the syscall's return: -errno */
	__u16 filename_len;
	__u16 args_len;
	__u32 argc;  /* arguments copied */
	__u32 flags; /* enum execmond_exec_failed_flags */
};

/* EXECMOND_REC_WAKE: the reader skips it (RingReader). */
struct execmond_wake {
	__u32 type;
	__u32 size;
};

#endif /* EXECMOND_EVENT_H */
