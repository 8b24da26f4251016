/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Wake-ups batched by a kernel timer (timer_wakeups, Linux 5.15+: bpf_timer).
 *
 * With the reader's own timer (RingReader), a lone process costs the daemon
 * two wake-ups: one when its fork record arrives, one when the drain timer
 * the daemon then arms expires. Here the kernel holds the timer: records are
 * committed without a wake-up (wake_flags()), the first one while no timer
 * is armed raises wake_pending (after_commit()), and one of the programs
 * below, attached after the record programs on the same hooks, arms the
 * timer. Its expiry wakes the reader once, for everything committed since,
 * through a wake record in the `wakes` ring the reader waits on.
 *
 * Separate programs, loaded only where the kernel has bpf_timer: a program
 * that names a timer callback does not load before 5.13 (BPF_PSEUDO_FUNC),
 * and the record programs of the other sets are types that may not use a
 * map holding a timer. They share only .bss with this file.
 */
#ifndef EXECMOND_WAKE_TIMER_BPF_H
#define EXECMOND_WAKE_TIMER_BPF_H

#define CLOCK_MONOTONIC 1

struct wake_timer {
	struct bpf_timer timer;
	__u32 ready; /* initialised, callback set */
	__u32 reserved;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wake_timer);
} wake_timers SEC(".maps");

/*
 * The period is over: lower wake_armed first, so that a record committed
 * from here on arms the next period, then wake the reader. A record whose
 * commit saw wake_armed still up was committed before this runs, and the
 * reader, woken after the output below, finds it.
 */
static int period_end(void *map, __u32 *key, struct wake_timer *t)
{
	*(volatile __u32 *)&wake_armed = 0;
	wake_reader(BPF_RB_FORCE_WAKEUP);
	return 0;
}

#define EBUSY 16

static __always_inline int arm_wake_timer(void)
{
	struct wake_timer *t;
	__u32 zero = 0;

	if (!*(volatile __u32 *)&wake_pending || *(volatile __u32 *)&wake_armed)
		return 0;
	if (*(volatile __u32 *)&reader_timer_armed) {
		/* The reader's own timer holds this period (a stream). */
		*(volatile __u32 *)&wake_pending = 0;
		return 0;
	}
	t = bpf_map_lookup_elem(&wake_timers, &zero);
	if (!t)
		return 0;
	*(volatile __u32 *)&wake_armed = 1;
	*(volatile __u32 *)&wake_pending = 0;
	if (!t->ready) {
		/* -EBUSY on a second CPU that raced here: the timer is set up. */
		long err = bpf_timer_init(&t->timer, &wake_timers, CLOCK_MONOTONIC);

		if ((err == 0 || err == -EBUSY) && bpf_timer_set_callback(&t->timer, period_end) == 0)
			t->ready = 1;
	}
	if (!t->ready || bpf_timer_start(&t->timer, wake_period_ns, 0)) {
		/* No timer: wake the reader now rather than leave the record waiting. */
		*(volatile __u32 *)&wake_armed = 0;
		wake_reader(BPF_RB_FORCE_WAKEUP);
	}
	return 0;
}

SEC("?tp_btf/task_newtask")
int BPF_PROG(wake_fork)
{
	return arm_wake_timer();
}

SEC("?tp_btf/sched_process_exec")
int BPF_PROG(wake_exec)
{
	return arm_wake_timer();
}

SEC("?tp_btf/sched_process_exit")
int BPF_PROG(wake_exit)
{
	return arm_wake_timer();
}

#endif /* EXECMOND_WAKE_TIMER_BPF_H */
