/* SPDX-License-Identifier: MIT */
/*
 * summary.h - `--summary`: per syscall calls, errors and total/min/avg/max/
 * p99 of WALL time, like `strace -c -w` plus percentiles, for every watched
 * call that completed (not only the slow ones).
 *
 * Hot path: one pointer load and a few adds per completed call, only when
 * --summary is given. Entries are allocated the first time a syscall
 * completes. p99 comes from a log-linear histogram (8 sub-buckets per
 * power of two: at most 12.5 % above the true value, never above the max).
 */
#ifndef SW_TRACER_SUMMARY_H
#define SW_TRACER_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>

#include "../policy/policy.h"
#include "../record/recorder.h"

#define SUMMARY_BUCKETS 512

/* summary_add()'s ns for a call whose duration is not known (notify: bracketed ends) */
#define SUMMARY_NO_DURATION UINT64_MAX

struct summary_entry {
	uint64_t calls, errors, total_ns, min_ns, max_ns;
	uint64_t untimed; /* calls counted without a duration */
	uint32_t hist[SUMMARY_BUCKETS];
};

struct summary {
	struct summary_entry *e[_POLICY_ABI_MAX][SW_MAX_NR];
	uint64_t start_mono_ns;
};

struct summary *summary_new(void);
void summary_free(struct summary *s);

/* Count one completed call. Returns 0 or -ENOMEM (the call is then not counted). */
int summary_add(struct summary *s, enum policy_abi abi, int index, uint64_t ns, bool failed);

/*
 * Set the row of (abi, index) to counts taken elsewhere (bulk: bpf sums the
 * kernel's per-CPU counts; e->hist in this file's buckets). Replaces the
 * row: a backend either adds calls or sets rows. 0 or -ENOMEM.
 */
int summary_set(struct summary *s, enum policy_abi abi, int index, const struct summary_entry *e);

/* The smallest histogram bound below which a fraction q of the calls fell (capped at max). */
uint64_t summary_quantile_ns(const struct summary_entry *e, double q);

/* Write the summary so far as one record (JSON) or a table (text). */
int summary_emit(const struct summary *s, struct recorder *rec);

#endif
