/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Maps and policy shared by both probe objects (tp_btf/CO-RE and classic):
 * the ring buffer and its wake-up policy, the drop counters, the per-CPU exec
 * scratch record and the --follow subtree filter.
 */
#ifndef EXECMOND_COMMON_BPF_H
#define EXECMOND_COMMON_BPF_H

#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include "execmond_event.h"
#include "execmond_config.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

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

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by the daemon (--ring-size) */
} events SEC(".maps");

/* Records that could not be reserved, per CPU and per record type. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EXECMOND_REC_TYPE_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* An exec record is too large for the BPF stack: built here, then copied. */
struct exec_scratch {
	struct execmond_exec rec;
	char data[EXECMOND_FILENAME_MAX + EXECMOND_ARGS_MAX];
};

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

static __always_inline void count_drop(__u32 type)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &type);

	if (n)
		*n += 1;
}

/*
 * Wake the reader only when it is idle (docs/benchmarks.md, "wake-ups"):
 * while its drain timer is armed, submit without a wake-up; when it is not,
 * submit with flag 0, which wakes it only if it had consumed everything
 * before this record (so a burst wakes it once). A ring filling past
 * wakeup_bytes always forces a wake-up.
 *
 * Call after the record is reserved, passing a 64-bit field of it and the
 * value to store there: the atomic exchange is a full barrier, so our
 * reservation is visible before we read the flag. The reader clears the
 * flag, fences, then checks for reserved data (RingReader::on_timer): either
 * it sees this record, or this record sees the flag clear. No record is ever
 * left behind without a wake-up or a timer to collect it.
 */
static __always_inline __u64 submit_flags(__u64 *field, __u64 value)
{
	__sync_lock_test_and_set(field, value);
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	if (*(volatile __u32 *)&reader_timer_armed)
		return BPF_RB_NO_WAKEUP;
	return 0;
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
 * Copies the finished exec record (header + filename + args) into the ring.
 * A dynptr reservation (not bpf_ringbuf_output) so that the wake-up decision
 * comes after the reservation, as submit_flags() requires.
 */
static __always_inline void output_exec(struct exec_scratch *s)
{
	__u32 size = sizeof(s->rec) + s->rec.filename_len + s->rec.args_len;
	struct bpf_dynptr rec;
	__u64 flags;

	if (size > sizeof(*s))
		return;
	s->rec.hdr.size = size;
	if (bpf_ringbuf_reserve_dynptr(&events, size, 0, &rec)) {
		bpf_ringbuf_discard_dynptr(&rec, 0);
		count_drop(EXECMOND_REC_EXEC);
		return;
	}
	flags = submit_flags(&s->rec.hdr.ktime_ns, s->rec.hdr.ktime_ns);
	bpf_dynptr_write(&rec, 0, s, size, 0);
	bpf_ringbuf_submit_dynptr(&rec, flags);
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

#endif /* EXECMOND_COMMON_BPF_H */
