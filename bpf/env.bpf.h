/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --env NAME: the new image's environment area (mm->env_start..env_end), a
 * bounded copy after the exec record's argv. Matching names in BPF would be
 * a byte loop over kilobytes that the 5.10 verifier walks instruction by
 * instruction; the daemon's decoder keeps only the allowlisted names and
 * drops the rest of the area before anything else sees it
 * (daemon/common/env_filter.cpp). Copied only when the daemon set
 * env_enabled (an allowlist was given); fork-map mode cannot read mm.
 */
#ifndef EXECMOND_ENV_BPF_H
#define EXECMOND_ENV_BPF_H

const volatile bool env_enabled = false;

/* A CO-RE flavour of mm_struct: only this file declares the fields. */
struct mm_struct___env {
	unsigned long env_start;
	unsigned long env_end;
} __attribute__((preserve_access_index));

/* Appends up to EXECMOND_ENV_AREA_MAX bytes of the new image's environment
 * area after the exec record's other sections (argv, then the identity
 * strings): call it last. */
static __always_inline void read_env(struct exec_scratch *s, void *mm_ptr)
{
	struct mm_struct___env *mm = mm_ptr;
	/* 64-bit and behind a barrier: 5.10's verifier loses the bounds of a
	 * 32-bit sum of these lengths. */
	__u64 at = (__u64)s->rec.filename_len + s->rec.args_len + s->rec.cwd_len + s->rec.exe_len +
		   s->rec.interp_len;
	unsigned long start, end, full;
	__u32 len;

	s->rec.env_len = 0;
	s->rec.env_full_len = 0;
	s->rec.env_reserved = 0;
	if (!env_enabled)
		return;
	start = BPF_CORE_READ(mm, env_start);
	end = BPF_CORE_READ(mm, env_end);
	full = end > start ? end - start : 0;
	len = full > EXECMOND_ENV_AREA_MAX ? EXECMOND_ENV_AREA_MAX : full;
	s->rec.env_full_len = full > 0xffffffffUL ? 0xffffffffU : full;
	asm volatile("" : "+r"(at));
	if (at > EXECMOND_EXEC_DATA_MAX - EXECMOND_ENV_AREA_MAX || len == 0)
		return;
	/* Keeps the bounds visible to the verifier after clang's rewrites. */
	asm volatile("" : "+r"(len));
	if (len > EXECMOND_ENV_AREA_MAX)
		return;
	if (bpf_probe_read_user(&s->data[at], len, (const void *)start) == 0)
		s->rec.env_len = len;
}

#endif /* EXECMOND_ENV_BPF_H */
