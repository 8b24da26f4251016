/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Who and where an exec runs (docs/protocol.md, "identity"): the working
 * directory and the executable's path, walked from their dentries up across
 * mounts the way d_path() does (bpf_d_path() is not allowed on tracepoints);
 * the executable's inode; the #! interpreter; the login uid, audit session
 * and controlling tty. Read by the two BTF program sets only: the fork-map
 * set reads no task fields, its records say EXECMOND_UNKNOWN_IDENT.
 *
 * The strings become the exec record's trailing sections after filename and
 * args: cwd, exe, interp (proto/execmond_event.h).
 */
#ifndef EXECMOND_IDENTITY_BPF_H
#define EXECMOND_IDENTITY_BPF_H

#define IDENT_PATH_TRUNCATED (1 << 16)

/* The highest offset a path section may start at (the exe's). */
#define IDENT_BASE_MAX (EXECMOND_FILENAME_MAX + EXECMOND_ARGS_MAX + EXECMOND_PATH_MAX)

/*
 * An offset into the scratch record's data, checked where it is used: 64-bit
 * and behind a compiler barrier, because 5.10's verifier loses the bounds of
 * a 32-bit sum that clang computed before the check. Returns false if out of
 * bounds (which the checks before it rule out).
 */
static __always_inline bool ident_at(__u64 base, __u64 pos, __u64 *off)
{
	__u64 o = base + pos;

	asm volatile("" : "+r"(o));
	if (o > IDENT_BASE_MAX + EXECMOND_PATH_MAX)
		return false;
	*off = o;
	return true;
}

/*
 * One helper read instead of two where this kernel's struct dentry has the
 * two fields one after the other (every kernel so far: d_hash, d_parent,
 * d_name). A CO-RE constant: the verifier sees only one branch.
 */
#define IDENT_ADJACENT(a, b)                                                                                 \
	(bpf_core_field_offset(struct dentry, b) == bpf_core_field_offset(struct dentry, a) + 8)

struct ident_parent_name {
	__u64 parent;
	struct qstr name;
};

/* Not a NUL-terminated string in the record: how /proc marks a deleted path. */
#define IDENT_DELETED	  " (deleted)"
#define IDENT_DELETED_LEN 10

/* new_encode_dev() of a kernel dev_t: what stat(2) and /proc/PID/stat show. */
static __always_inline __u32 ident_encode_dev(__u32 major, __u32 minor)
{
	return (minor & 0xff) | (major << 8) | ((minor & ~0xffU) << 12);
}

static __always_inline __u64 ident_read_ptr(const void *at)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), at);
	return v;
}

/*
 * A value the verifier may not track: states that differ only in it then
 * prune at the loop head, instead of doubling per iteration.
 */
static __always_inline __u32 ident_forget(struct exec_scratch *s, __u32 v)
{
	*(volatile __u32 *)&s->forget = v;
	return *(volatile __u32 *)&s->forget;
}

/*
 * Writes the path of (dentry, vfsmnt) at s->data[base], no NUL, as d_path()
 * would with `root` (root_dentry 0: the root of the mount tree) and a
 * " (deleted)" suffix for an unlinked dentry. Returns its length, with
 * IDENT_PATH_TRUNCATED when the step bound or EXECMOND_PATH_MAX cut it; or
 * a negative number when nothing could be written.
 *
 * A global function: the verifier checks it once, on its own, with unknown
 * arguments (scalars: 5.10 passes nothing else to a global function),
 * instead of once per call site.
 */
__noinline int ident_path(__u64 dentry, __u64 vfsmnt, __u64 root_dentry, __u64 root_mnt, __u32 base)
{
	struct exec_scratch *s = scratch();
	__u64 mnt_off = bpf_core_field_offset(struct mount, mnt);
	__u64 mnt, mnt_root, parent, pprev;
	bool deleted, truncated = true;
	__u32 i, n, pos = 0;
	__u64 off;

	if (!s || base > IDENT_BASE_MAX)
		return -1;
	if (IDENT_ADJACENT(d_hash.pprev, d_parent)) {
		__u64 two[2] = {};

		bpf_core_read(two, sizeof(two), &((struct dentry *)dentry)->d_hash.pprev);
		pprev = two[0];
		parent = two[1];
	} else {
		pprev = ident_read_ptr(&((struct dentry *)dentry)->d_hash.pprev);
		parent = ident_read_ptr(&((struct dentry *)dentry)->d_parent);
	}
	deleted = pprev == 0 && parent != dentry; /* d_unlinked() */

	/* Up to the root, one component (or one mount crossing, len 0) a step. */
	mnt = vfsmnt - mnt_off;
	mnt_root = ident_read_ptr(&((struct vfsmount *)vfsmnt)->mnt_root);
	for (i = 0; i < EXECMOND_PATH_STEPS; i++) {
		struct qstr name;

		s->path_len[i] = 0;
		if (dentry == root_dentry && vfsmnt == root_mnt) {
			truncated = false;
			break;
		}
		if (dentry == mnt_root) {
			parent = ident_read_ptr(&((struct mount *)mnt)->mnt_parent);
			if (parent == mnt) { /* the mount tree's root */
				truncated = false;
				break;
			}
			dentry = ident_read_ptr(&((struct mount *)mnt)->mnt_mountpoint);
			mnt = parent;
			vfsmnt = mnt + mnt_off;
			mnt_root = ident_read_ptr(&((struct vfsmount *)vfsmnt)->mnt_root);
			continue;
		}
		if (IDENT_ADJACENT(d_parent, d_name)) {
			struct ident_parent_name pn;

			if (bpf_core_read(&pn, sizeof(pn), &((struct dentry *)dentry)->d_parent))
				break;
			parent = pn.parent;
			name = pn.name;
		} else {
			parent = ident_read_ptr(&((struct dentry *)dentry)->d_parent);
			if (bpf_core_read(&name, sizeof(name), &((struct dentry *)dentry)->d_name))
				break;
		}
		if (parent == dentry) {
			truncated = false;
			if (i > 0) /* a root not mounted here: d_path() stops too */
				break;
			/* A pseudo file (memfd, alloc_file_pseudo()): d_path() asks its
			 * simple_dname(), "/NAME (deleted)". */
			s->path_name[0] = (__u64)name.name;
			s->path_len[0] = (__u32)(name.hash_len >> 32);
			deleted = true;
			i = 1;
			break;
		}
		s->path_name[i] = (__u64)name.name;
		s->path_len[i] = (__u32)(name.hash_len >> 32);
		dentry = parent;
	}
	n = ident_forget(s, i);

	/* Down again, writing "/name" per component. */
	for (i = 0; i < EXECMOND_PATH_STEPS; i++) {
		__u32 at = n - 1 - i, len;
		long r;

		if (i >= n)
			break;
		at &= EXECMOND_PATH_STEPS - 1;
		len = s->path_len[at];
		if (len == 0)
			continue;
		if (len >= EXECMOND_PATH_MAX - 1 || pos + 1 + len > EXECMOND_PATH_MAX) {
			truncated = true;
			break;
		}
		if (!ident_at(base, pos, &off))
			return -1;
		s->data[off] = '/';
		/* len + 1 < EXECMOND_PATH_MAX: the mask keeps it, and shows the bound. */
		r = bpf_probe_read_kernel_str(&s->data[off + 1], (len + 1) & (EXECMOND_PATH_MAX - 1),
					      (const void *)s->path_name[at]);
		if (r <= 1)
			break;
		pos = ident_forget(s, pos + r);
		if (pos > EXECMOND_PATH_MAX)
			return -1;
	}
	if (pos == 0) {
		if (!ident_at(base, 0, &off))
			return -1;
		s->data[off] = '/';
		pos = 1;
	}
	if (deleted && pos + IDENT_DELETED_LEN <= EXECMOND_PATH_MAX) {
		if (!ident_at(base, pos, &off))
			return -1;
		__builtin_memcpy(&s->data[off], IDENT_DELETED, IDENT_DELETED_LEN);
		pos += IDENT_DELETED_LEN;
	}
	return pos | (truncated ? IDENT_PATH_TRUNCATED : 0);
}

/* Appends the path of (dentry, mnt) as the next section; returns its length. */
static __always_inline __u16 ident_section(struct exec_scratch *s, struct path *p, struct path *root,
					   __u32 base, __u16 truncated_flag)
{
	int r = ident_path((__u64)p->dentry, (__u64)p->mnt, (__u64)root->dentry, (__u64)root->mnt, base);

	if (r < 0)
		return 0;
	if (r & IDENT_PATH_TRUNCATED)
		s->rec.flags |= truncated_flag;
	return r & 0xffff;
}

/* The #! interpreter (bprm->interp), when a binfmt replaced the filename. */
static __always_inline void ident_interp(struct exec_scratch *s, const char *interp, const char *filename,
					 __u32 base)
{
	long r;

	__u64 off;

	s->rec.interp_len = 0;
	if (interp == filename || !ident_at(base, 0, &off) || off > IDENT_BASE_MAX + EXECMOND_PATH_MAX)
		return;
	r = bpf_probe_read_kernel_str(&s->data[off], EXECMOND_INTERP_MAX, interp);
	if (r > 1)
		s->rec.interp_len = r - 1;
}

/* cwd (stopping at the task's root: right inside a chroot), exe (from the
 * mount tree's root, as readlink /proc/PID/exe shows it) and interp. */
static __always_inline void ident_strings(struct exec_scratch *s, struct fs_struct *fs, struct file *file,
					  const char *interp, const char *filename)
{
	struct path pwd = {}, root = {}, exe = {}, none = {};
	__u32 base = s->rec.filename_len + s->rec.args_len;

	bpf_core_read(&pwd, sizeof(pwd), &fs->pwd);
	bpf_core_read(&root, sizeof(root), &fs->root);
	bpf_core_read(&exe, sizeof(exe), &file->f_path);
	s->rec.cwd_len = pwd.dentry ? ident_section(s, &pwd, &root, base, EXECMOND_EXEC_CWD_TRUNCATED) : 0;
	base += s->rec.cwd_len;
	s->rec.exe_len = exe.dentry ? ident_section(s, &exe, &none, base, EXECMOND_EXEC_EXE_TRUNCATED) : 0;
	base += s->rec.exe_len;
	ident_interp(s, interp, filename, base);
}

/* The executable's modification time, wherever this kernel keeps it. */
#define IDENT_MTIME(ip, READ, sec, nsec)                                                                     \
	do {                                                                                                 \
		if (bpf_core_field_exists(((struct inode *)0)->i_mtime_sec)) {                               \
			sec = READ((struct inode *)(ip), i_mtime_sec);                                       \
			nsec = READ((struct inode *)(ip), i_mtime_nsec);                                     \
		} else if (bpf_core_field_exists(((struct inode___hidden_timespec *)0)->__i_mtime)) {        \
			sec = READ((struct inode___hidden_timespec *)(ip), __i_mtime.tv_sec);                \
			nsec = READ((struct inode___hidden_timespec *)(ip), __i_mtime.tv_nsec);              \
		} else {                                                                                     \
			sec = READ((struct inode___timespec *)(ip), i_mtime.tv_sec);                         \
			nsec = READ((struct inode___timespec *)(ip), i_mtime.tv_nsec);                       \
		}                                                                                            \
	} while (0)

/* Direct loads (tp_btf) or helper reads (a BTF file): the same fields. */
#define IDENT_DIRECT(p, field) ((p)->field)

/*
 * Everything but the strings, from `task` and `bprm` with READ (IDENT_DIRECT
 * or BPF_CORE_READ). The audit fields exist with CONFIG_AUDIT only.
 */
#define IDENT_FILL(s, task, bprm, READ)                                                                      \
	do {                                                                                                 \
		struct file *file_ = READ(bprm, file);                                                       \
		struct inode *inode_ = READ(file_, f_inode);                                                 \
		struct signal_struct *sig_ = READ(task, signal);                                             \
		struct tty_struct *tty_ = READ(sig_, tty);                                                   \
		struct super_block *sb_ = READ(inode_, i_sb);                                                \
		__u32 sdev_ = READ(sb_, s_dev);                                                              \
		__s64 sec_ = 0;                                                                              \
		long nsec_ = 0;                                                                              \
                                                                                                             \
		(s)->rec.flags = 0;                                                                          \
		(s)->rec.exe_dev = ident_encode_dev(sdev_ >> 20, sdev_ & 0xfffff);                           \
		(s)->rec.exe_ino = READ(inode_, i_ino);                                                      \
		(s)->rec.exe_size = READ(inode_, i_size);                                                    \
		(s)->rec.exe_mode = READ(inode_, i_mode);                                                    \
		(s)->rec.exe_uid = READ(inode_, i_uid.val);                                                  \
		(s)->rec.exe_gid = READ(inode_, i_gid.val);                                                  \
		(s)->rec.exe_nlink = READ(inode_, i_nlink);                                                  \
		IDENT_MTIME(inode_, READ, sec_, nsec_);                                                      \
		(s)->rec.exe_mtime_sec = sec_;                                                               \
		(s)->rec.exe_mtime_nsec = nsec_;                                                             \
		if ((s)->rec.exe_nlink == 0)                                                                 \
			(s)->rec.flags |= EXECMOND_EXEC_FILELESS;                                            \
		if (BPF_CORE_READ_BITFIELD_PROBED(bprm, secureexec))                                         \
			(s)->rec.flags |= EXECMOND_EXEC_SECURE;                                              \
		(s)->rec.tty_dev = 0;                                                                        \
		if (tty_) {                                                                                  \
			struct tty_driver *drv_ = READ(tty_, driver);                                        \
			(s)->rec.tty_dev = ident_encode_dev(READ(drv_, major),                               \
							    READ(drv_, minor_start) + READ(tty_, index));    \
		}                                                                                            \
		if (bpf_core_field_exists((task)->loginuid)) {                                               \
			(s)->rec.auid = READ(task, loginuid.val);                                            \
			(s)->rec.session_id = READ(task, sessionid);                                         \
		} else {                                                                                     \
			(s)->rec.auid = 0xffffffffU;                                                         \
			(s)->rec.session_id = 0xffffffffU;                                                   \
			(s)->rec.hdr.unknown |= EXECMOND_UNKNOWN_AUDIT;                                      \
		}                                                                                            \
		(s)->rec.reserved1 = 0;                                                                      \
		struct fs_struct *fs_ = READ(task, fs);                                                      \
		ident_strings(s, fs_, file_, READ(bprm, interp), READ(bprm, filename));                      \
	} while (0)

/* The fork-map set: nothing of this is readable there. */
static __always_inline void ident_unknown(struct exec_scratch *s)
{
	__builtin_memset(&s->rec.cwd_len, 0, sizeof(s->rec) - offsetof(struct execmond_exec, cwd_len));
	s->rec.hdr.unknown |= EXECMOND_UNKNOWN_IDENT | EXECMOND_UNKNOWN_AUDIT;
}

#endif /* EXECMOND_IDENTITY_BPF_H */
