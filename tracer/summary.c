/* SPDX-License-Identifier: MIT */
#include "summary.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

#include "../common/macro.h"
#include "../common/timeutil.h"

struct summary *summary_new(void)
{
	struct summary *s = calloc(1, sizeof(*s));

	if (s)
		s->start_mono_ns = sw_mono_ns();
	return s;
}

void summary_free(struct summary *s)
{
	if (!s)
		return;
	for (int abi = 0; abi < _POLICY_ABI_MAX; abi++)
		for (int nr = 0; nr < SW_MAX_NR; nr++)
			free(s->e[abi][nr]);
	free(s);
}

/* Values below 8 have a bucket each; above, 8 sub-buckets per power of two. */
static unsigned bucket_of(uint64_t v)
{
	unsigned b;

	if (v < 8)
		return (unsigned)v;
	b = 63 - (unsigned)__builtin_clzll(v); /* 2^b <= v < 2^(b+1), b >= 3 */
	return 8 * (b - 2) + (unsigned)((v >> (b - 3)) & 7);
}

/* The largest value of a bucket. */
static uint64_t bucket_max(unsigned i)
{
	unsigned b, sub;

	if (i < 8)
		return i;
	b = i / 8 + 2;
	sub = i % 8;
	return (((uint64_t)8 + sub + 1) << (b - 3)) - 1;
}

int summary_add(struct summary *s, enum policy_abi abi, int index, uint64_t ns, bool failed)
{
	struct summary_entry *e;

	if (index < 0 || index >= SW_MAX_NR)
		return 0;
	e = s->e[abi][index];
	if (unlikely(!e)) {
		e = s->e[abi][index] = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->min_ns = UINT64_MAX;
	}
	e->calls++;
	e->errors += failed;
	if (ns == SUMMARY_NO_DURATION) {
		e->untimed++;
		return 0;
	}
	e->total_ns += ns;
	if (ns < e->min_ns)
		e->min_ns = ns;
	if (ns > e->max_ns)
		e->max_ns = ns;
	e->hist[bucket_of(ns)]++;
	return 0;
}

int summary_set(struct summary *s, enum policy_abi abi, int index, const struct summary_entry *e)
{
	if (index < 0 || index >= SW_MAX_NR)
		return 0;
	if (!s->e[abi][index] && !(s->e[abi][index] = malloc(sizeof(*e))))
		return -ENOMEM;
	*s->e[abi][index] = *e;
	return 0;
}

uint64_t summary_quantile_ns(const struct summary_entry *e, double q)
{
	uint64_t want = (uint64_t)((double)(e->calls - e->untimed) * q + 0.999999), seen = 0;

	if (!want)
		want = 1;
	for (unsigned i = 0; i < SUMMARY_BUCKETS; i++) {
		seen += e->hist[i];
		if (seen >= want) {
			uint64_t v = bucket_max(i);

			return v > e->max_ns ? e->max_ns : v;
		}
	}
	return e->max_ns;
}

static const uint32_t abi_arch[_POLICY_ABI_MAX] = {
	[POLICY_ABI_NATIVE] = SCMP_ARCH_X86_64,
	[POLICY_ABI_X86] = SCMP_ARCH_X86,
	[POLICY_ABI_X32] = SCMP_ARCH_X32,
};

static int by_total_desc(const void *a, const void *b)
{
	const struct record_summary_row *x = a, *y = b;

	return x->total_ns < y->total_ns ? 1 : x->total_ns > y->total_ns ? -1 : 0;
}

int summary_emit(const struct summary *s, struct recorder *rec)
{
	_cleanup_free_ struct record_summary_row *rows = NULL;
	char **owned = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	for (int abi = 0; abi < _POLICY_ABI_MAX; abi++)
		for (int nr = 0; nr < SW_MAX_NR; nr++) {
			const struct summary_entry *e = s->e[abi][nr];
			struct record_summary_row *row;

			if (!e || !e->calls)
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 32;
				void *nr_rows = realloc(rows, nc * sizeof(*rows));
				void *nr_owned = realloc(owned, nc * sizeof(*owned));

				if (nr_rows)
					rows = nr_rows;
				if (nr_owned)
					owned = nr_owned;
				if (!nr_rows || !nr_owned) {
					r = -ENOMEM;
					goto out;
				}
				cap = nc;
			}
			row = &rows[n];
			owned[n] = NULL;
			if (abi == POLICY_ABI_NATIVE)
				row->name = syscall_name(nr) ?: "unknown";
			else {
				char *name = seccomp_syscall_resolve_num_arch(
					abi_arch[abi],
					abi == POLICY_ABI_X32 ? nr | 0x40000000 : nr);

				if (name && asprintf(&owned[n], "%s (%s)", name,
						     abi == POLICY_ABI_X86 ? "i386" : "x32") < 0)
					owned[n] = NULL;
				free(name);
				row->name = owned[n] ?: "unknown (compat)";
			}
			row->calls = e->calls;
			row->untimed = e->untimed;
			row->errors = e->errors;
			row->total_ns = e->total_ns;
			row->min_ns = e->min_ns;
			row->max_ns = e->max_ns;
			row->p99_ns = summary_quantile_ns(e, 0.99);
			n++;
		}
	if (n)
		qsort(rows, n, sizeof(*rows), by_total_desc);
	r = recorder_summary(rec, &(struct record_summary){ .rows = rows,
							    .n_rows = n,
							    .since_mono_ns = s->start_mono_ns,
							    .mono_ns = sw_mono_ns() });
out:
	for (size_t i = 0; owned && i < n; i++)
		free(owned[i]);
	free(owned);
	return r;
}
