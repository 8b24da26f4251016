/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Maps and policy shared by the three program sets of bpf/execmond.bpf.c: the
 * ring buffer and its wake-up policy, the drop counters, the per-CPU exec
 * scratch record, the once-per-process exit claim and the --follow filter.
 *
 * Everything here runs on Linux 5.8 (the BPF ring buffer): no BPF atomics
 * (5.12), no dynptrs (5.19), no helper newer than 5.8.
 */
#ifndef EXECMOND_COMMON_BPF_H
#define EXECMOND_COMMON_BPF_H

#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "execmond_event.h"
#include "execmond_config.h"

#define CLONE_PARENT	  0x00008000
#define CLONE_THREAD	  0x00010000
#define SIGNAL_GROUP_EXIT 0x00000004

/* Set by the daemon before load (skel->rodata). */
const volatile __u64 wakeup_bytes = 1 << 20; /* force a wake-up once this much is queued */
const volatile bool follow_enabled = false;  /* only report followed subtrees */

/*
 * Non-zero while the reader's drain timer is armed: the daemon writes it
 * through the mmap'ed .bss (RingReader). Records submitted meanwhile do not
 * wake the reader; its timer collects them within the latency bound.
 */
__u32 reader_timer_armed = 0;

/*
 * Wake-ups by a kernel timer instead (bpf/wake_timer.bpf.h, Linux 5.15+): no
 * record wakes the reader; the first one committed while no timer is armed
 * raises wake_pending, the hook's next program arms a timer for
 * wake_period_ns, and the timer's expiry wakes the reader once for all that
 * came meanwhile. Set by the daemon before load.
 */
const volatile bool timer_wakeups = false;
const volatile __u64 wake_period_ns = 1000000;
__u32 wake_pending = 0; /* a record waits and no timer is armed for it */
__u32 wake_armed = 0;	/* the timer is armed and has not fired yet */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by the daemon (--ring-size) */
} events SEC(".maps");

/*
 * With timer_wakeups the reader waits on this ring instead of on `events`,
 * and only 8-byte wake records are written to it: records waiting in
 * `events` for their period's end then do not make the reader's wait ready
 * (Asio re-registers the descriptor for every wait, and the kernel reports
 * pending data at once). One page, the smallest ring.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} wakes SEC(".maps");

/* Records that could not be reserved, per CPU and per record type. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EXECMOND_REC_TYPE_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/*
 * An exec record is too large for the BPF stack: built here, then copied.
 * `data` has one EXECMOND_PATH_MAX of slack: a path section is written at a
 * bounded offset with a bounded size, which the verifier checks separately.
 * The path walk (bpf/identity.bpf.h) keeps its components after it.
 */
struct exec_scratch {
	struct execmond_exec rec;
	/* Room for the identity walks' last write past their base (a path) and
	 * for the environment area after them. */
	char data[EXECMOND_EXEC_DATA_MAX + 8];
	__u64 path_name[EXECMOND_PATH_STEPS];
	__u32 path_len[EXECMOND_PATH_STEPS];
	__u32 forget;
};
/* A per-CPU map value may not exceed 32 KiB (PCPU_MIN_UNIT_SIZE). */
_Static_assert(sizeof(struct exec_scratch) <= 32768, "exec scratch too large for a per-CPU map value");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_scratch);
} exec_scratch SEC(".maps");

/* tgids being followed (--follow); children inherit membership at fork. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* sized by the daemon from pid_max/threads-max */
	__uint(map_flags, 1 /* BPF_F_NO_PREALLOC */);
	__type(key, __u32);
	__type(value, __u8);
} followed SEC(".maps");

/*
 * Processes whose exit was reported, for kernels whose sched_process_exit has
 * no group_dead argument. There the last thread is the one that sees
 * signal->live == 0, but a thread that decremented it earlier and reaches the
 * tracepoint later sees 0 too: several threads can qualify. The first to
 * insert the process's key wins; the insert is atomic under the map's bucket
 * lock, so no BPF atomics are needed. Keys carry the start time, so a stale
 * entry never matches a later process: LRU only bounds the memory.
 */
struct exit_key {
	__u32 tgid;
	__u32 zero;
	__u64 start; /* the leader's start_boottime; 0 in fork-map mode (see there) */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192); /* 1 when the kernel passes group_dead (the daemon) */
	__type(key, struct exit_key);
	__type(value, __u8);
} exit_claims SEC(".maps");

/* Raised by the first drop: until then the daemon reads no counters (each
 * read is a syscall per record type; it checks every 50 ms while busy). */
__u32 drops_seen = 0;

static __always_inline void count_drop(__u32 type)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &type);

	if (n)
		*n += 1;
	*(volatile __u32 *)&drops_seen = 1;
}

/* True for the first caller with this key, false for every later one. */
static __always_inline bool claim_exit(__u32 tgid, __u64 start)
{
	struct exit_key key = {.tgid = tgid, .zero = 0, .start = start};
	__u8 one = 1;

	return bpf_map_update_elem(&exit_claims, &key, &one, BPF_NOEXIST) == 0;
}

/*
 * The wake-up policy (docs/benchmarks.md, "wake-ups"): wake the reader only
 * when it is idle. While its drain timer is armed, commit without a wake-up;
 * when it is not, commit with flag 0, which wakes it only if it had consumed
 * everything before this record (so a burst wakes it once). A ring filling
 * past wakeup_bytes always forces a wake-up.
 */
static __always_inline __u64 wake_flags(void)
{
	if (timer_wakeups)
		return BPF_RB_NO_WAKEUP; /* the reader waits on `wakes` (after_commit()) */
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	if (*(volatile __u32 *)&reader_timer_armed)
		return BPF_RB_NO_WAKEUP;
	return 0;
}

/* With timer_wakeups: a wake record in `wakes`, which the reader waits on. */
static __always_inline void wake_reader(__u64 flags)
{
	struct execmond_wake wake = {.type = EXECMOND_REC_WAKE, .size = sizeof(wake)};

	bpf_ringbuf_output(&wakes, &wake, sizeof(wake), flags);
}

/*
 * Call after every commit with the flags it used. The reader goes idle by
 * clearing the flag, fencing, then looking for reserved data
 * (RingReader::on_timer). The kernel's commit ends with a fully ordered
 * xchg() of the record's header, so reading the flag again here pairs with
 * the reader's fence: either the reader sees this record, or this read sees
 * the flag clear. In that second (rare) case a NO_WAKEUP record would wait
 * for the next one, so an 8-byte record forces the wake-up instead.
 */
static __always_inline void after_commit(__u64 flags)
{
	struct execmond_wake wake = {.type = EXECMOND_REC_WAKE, .size = sizeof(wake)};

	if (timer_wakeups) {
		if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
			wake_reader(BPF_RB_FORCE_WAKEUP);
		/* After the commit: a timer armed for this flag finds the record
		 * (the reader's own timer, while its flag is up, does too). */
		else if (!*(volatile __u32 *)&reader_timer_armed && !*(volatile __u32 *)&wake_armed)
			*(volatile __u32 *)&wake_pending = 1;
		return;
	}
	if (flags == BPF_RB_NO_WAKEUP && !*(volatile __u32 *)&reader_timer_armed)
		bpf_ringbuf_output(&events, &wake, sizeof(wake), BPF_RB_FORCE_WAKEUP);
}

/*
 * after_commit() for a program after which no wake-timer program runs (the
 * syscall programs of --exec-failures): with timer_wakeups its record wakes
 * the reader unless the reader has a wake record it has not consumed yet
 * (flag 0), so it never waits for a timer nobody arms.
 */
static __always_inline void after_commit_untimed(__u64 flags)
{
	if (timer_wakeups)
		wake_reader(0);
	else
		after_commit(flags);
}

/* Commits a reserved fixed-size record under the wake-up policy. */
static __always_inline void submit(void *rec)
{
	__u64 flags = wake_flags();

	bpf_ringbuf_submit(rec, flags);
	after_commit(flags);
}

static __always_inline bool is_followed(__u32 tgid)
{
	return !follow_enabled || bpf_map_lookup_elem(&followed, &tgid);
}

static __always_inline void follow_child(__u32 parent_tgid, __u32 child_tgid)
{
	__u8 one = 1;

	if (follow_enabled && bpf_map_lookup_elem(&followed, &parent_tgid))
		bpf_map_update_elem(&followed, &child_tgid, &one, BPF_ANY);
}

static __always_inline void unfollow(__u32 tgid)
{
	if (follow_enabled)
		bpf_map_delete_elem(&followed, &tgid);
}

static __always_inline struct exec_scratch *scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&exec_scratch, &zero);
}

/*
 * Copies the finished exec record (header + filename, args, cwd, exe and
 * interp) into the ring.
 * bpf_ringbuf_output (5.8) takes a variable size, so the record is exactly as
 * long as its contents, and its commit is followed by after_commit() like
 * every other record's.
 */
static __always_inline void output_exec(struct exec_scratch *s)
{
	__u32 size = sizeof(s->rec) + s->rec.filename_len + s->rec.args_len + s->rec.cwd_len +
		     s->rec.exe_len + s->rec.interp_len + s->rec.env_len;
	__u64 flags;

	if (size > sizeof(s->rec) + EXECMOND_EXEC_DATA_MAX)
		return;
	s->rec.hdr.size = size;
	flags = wake_flags();
	if (bpf_ringbuf_output(&events, s, size, flags)) {
		count_drop(EXECMOND_REC_EXEC);
		return;
	}
	after_commit(flags);
}

/* Reads the argument area [start, end) of the new image after the filename. */
static __always_inline void read_args(struct exec_scratch *s, unsigned long start, unsigned long end)
{
	__u32 fn = s->rec.filename_len;
	unsigned long full = end > start ? end - start : 0;
	__u32 len = full > EXECMOND_ARGS_MAX ? EXECMOND_ARGS_MAX : full;

	s->rec.args_full_len = full > 0xffffffffUL ? 0xffffffffU : full;
	s->rec.args_len = 0;
	if (fn > EXECMOND_FILENAME_MAX || len == 0)
		return;
	/* Keeps the bounds visible to the verifier after clang's rewrites. */
	asm volatile("" : "+r"(len));
	if (len > EXECMOND_ARGS_MAX)
		return;
	if (bpf_probe_read_user(&s->data[fn], len, (const void *)start) == 0)
		s->rec.args_len = len;
}

/* The wait(2) status of a process whose last thread is exiting. */
static __always_inline __u32 wait_status(__u32 signal_flags, __u32 group_exit_code, __u32 leader_exit_code)
{
	/* What wait_task_zombie() reports: the group's code after exit_group()
	 * or a fatal signal, else the leader's own. */
	return (signal_flags & SIGNAL_GROUP_EXIT) ? group_exit_code : leader_exit_code;
}

#endif /* EXECMOND_COMMON_BPF_H */
