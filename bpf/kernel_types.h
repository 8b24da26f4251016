/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The few kernel types the CO-RE probes read, declared by hand instead of a
 * generated vmlinux.h: the build must not depend on the build host's kernel,
 * and preserve_access_index makes libbpf relocate every field access against
 * the running kernel's BTF at load time (docs/build.md explains the choice).
 * Only the fields we read are declared; their order and offsets here do not
 * matter.
 */
#ifndef EXECMOND_KERNEL_TYPES_H
#define EXECMOND_KERNEL_TYPES_H

typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef short __s16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef int pid_t;
typedef _Bool bool;
#define true 1
#define false 0

/* A map value member the kernel arms (uapi linux/bpf.h): bpf/wake_timer.bpf.h. */
struct bpf_timer {
	__u64 __opaque[2];
} __attribute__((aligned(8)));

/* bpf_helper_defs.h names these; only pointers to them are used. */
struct bpf_map;
struct pt_regs;
struct sk_buff;
struct xdp_md;
struct __sk_buff;
struct bpf_sock;
struct bpf_sock_tuple;
struct bpf_tcp_sock;
struct bpf_sock_addr;
struct bpf_perf_event_value;
struct bpf_spin_lock;
struct bpf_sysctl;
struct sockaddr;
struct bpf_dynptr;
struct bpf_pidns_info;
struct bpf_redir_neigh;
struct btf_ptr;
struct inode;
struct socket;
struct file;
struct path;
struct linux_binprm;
struct task_struct;
struct tcphdr;
struct seq_file;
struct tcp6_sock;
struct tcp_sock;
struct tcp_timewait_sock;
struct tcp_request_sock;
struct udp6_sock;
struct unix_sock;
struct mptcp_sock;
struct cgroup;
struct bpf_insn;
struct bpf_iter_num;
struct ipv6hdr;
struct bpf_fib_lookup;
struct user_namespace;

enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_RINGBUF = 27,
};

/* Flags of bpf_map_update_elem(), bpf_ringbuf_submit() and bpf_ringbuf_query(). */
enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
	BPF_EXIST = 2,
};
enum {
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
};
enum {
	BPF_RB_AVAIL_DATA = 0,
	BPF_RB_RING_SIZE = 1,
	BPF_RB_CONS_POS = 2,
	BPF_RB_PROD_POS = 3,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

typedef struct {
	int counter;
} atomic_t;

typedef struct {
	__u32 val;
} kuid_t;

typedef struct {
	__u32 val;
} kgid_t;

struct ns_common {
	unsigned int inum;
};

struct pid_namespace {
	struct ns_common ns;
};

struct upid {
	int nr;
	struct pid_namespace *ns;
};

struct pid {
	unsigned int level;
	struct upid numbers[1];
};

struct cred {
	kuid_t uid;
	kgid_t gid;
	kuid_t euid;
	kgid_t egid;
};

struct tty_driver {
	int major;
	int minor_start;
};

struct tty_struct {
	struct tty_driver *driver;
	int index;
};

struct signal_struct {
	atomic_t live;
	int group_exit_code;
	unsigned int flags;
	struct tty_struct *tty; /* the controlling terminal, NULL if none */
};

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
};

struct kernfs_node {
	__u64 id;
};

struct cgroup {
	struct kernfs_node *kn;
};

struct css_set {
	struct cgroup *dfl_cgrp;
};

/* What the identity reads walk (bpf/identity.bpf.h): paths, mounts, inodes. */
struct qstr {
	__u64 hash_len; /* little-endian: u32 hash, then u32 len (the high half) */
	const unsigned char *name;
};

struct hlist_bl_node {
	struct hlist_bl_node *next, **pprev;
};

struct dentry {
	struct hlist_bl_node d_hash; /* unhashed: unlinked (d_unlinked()) */
	struct dentry *d_parent;
	struct qstr d_name;
};

struct vfsmount {
	struct dentry *mnt_root;
};

/* The kernel's mount around each vfsmount (fs/mount.h): container_of(). */
struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
};

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
};

struct fs_struct {
	struct path root;
	struct path pwd;
};

struct super_block {
	__u32 s_dev; /* kernel dev_t: major << 20 | minor */
};

struct timespec64 {
	__s64 tv_sec;
	long tv_nsec;
};

/* Linux 6.11 and later: the times as separate seconds and nanoseconds. */
struct inode {
	__u16 i_mode;
	kuid_t i_uid;
	kgid_t i_gid;
	unsigned long i_ino;
	unsigned int i_nlink;
	__s64 i_size;
	struct super_block *i_sb;
	__s64 i_mtime_sec;
	__u32 i_mtime_nsec;
};

/* Up to 6.6 (CO-RE flavours: the suffix is dropped when matching). */
struct inode___timespec {
	struct timespec64 i_mtime;
};

/* 6.7 to 6.10. */
struct inode___hidden_timespec {
	struct timespec64 __i_mtime;
};

struct file {
	struct path f_path;
	struct inode *f_inode;
};

struct task_struct {
	int pid;
	int tgid;
	int exit_code;
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	struct pid *thread_pid;
	__u64 start_time;
	__u64 start_boottime;
	const struct cred *real_cred;
	struct css_set *cgroups;
	struct mm_struct *mm;
	struct signal_struct *signal;
	struct fs_struct *fs;
	kuid_t loginuid;	/* CONFIG_AUDIT */
	unsigned int sessionid; /* CONFIG_AUDIT */
	char comm[16];
};

struct linux_binprm {
	const char *filename;
	const char *interp; /* == filename unless a binfmt (#!, misc) replaced it */
	struct file *file;  /* what the kernel runs now */
	int argc;
	unsigned int secureexec : 1; /* AT_SECURE */
};

/*
 * Only to ask whether this kernel's sched_process_exit passes group_dead
 * (bpf_core_field_exists): its record and its arguments gained the field
 * together. The ___ suffix is a CO-RE flavour, matched without it.
 */
struct trace_event_raw_sched_process_exit___group_dead {
	bool group_dead;
};

#pragma clang attribute pop

#endif /* EXECMOND_KERNEL_TYPES_H */
