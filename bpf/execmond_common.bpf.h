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
const volatile __u64 wakeup_latency_ns = 1000000; /* wake the reader at most this late */
const volatile __u64 wakeup_bytes = 1 << 20;	  /* ... or once this much is queued */
const volatile bool follow_enabled = false;	  /* only report followed subtrees */

/* The time of the last forced wake-up; racy updates only cost an extra wake-up. */
__u64 last_wakeup_ns = 0;

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
 * Wake the reader only when it must: after a quiet spell longer than the
 * latency bound, or when the ring fills past a threshold. Everything else is
 * submitted without a wake-up and collected by the reader's drain timer,
 * which is armed wakeup_latency_ns after any drain that found records.
 */
static __always_inline __u64 submit_flags(__u64 now)
{
	if (now - last_wakeup_ns >= wakeup_latency_ns ||
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes) {
		last_wakeup_ns = now;
		return BPF_RB_FORCE_WAKEUP;
	}
	return BPF_RB_NO_WAKEUP;
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

/* Copies the finished exec record (header + filename + args) into the ring. */
static __always_inline void output_exec(struct exec_scratch *s)
{
	__u32 size = sizeof(s->rec) + s->rec.filename_len + s->rec.args_len;

	if (size > sizeof(*s))
		return;
	s->rec.hdr.size = size;
	if (bpf_ringbuf_output(&events, s, size, submit_flags(s->rec.hdr.ktime_ns)))
		count_drop(EXECMOND_REC_EXEC);
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
