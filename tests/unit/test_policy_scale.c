/* SPDX-License-Identifier: MIT */
/*
 * Loading a policy is near-linear in its size (once a name lookup per
 * rule made 100 000 rules take 11 s, 12 500 take 0.2 s). The same shape of
 * policy at 8x the rules must take less than 20x the time (quadratic: 64x).
 * Time is the process's CPU time, the best of a few loads, so a busy host
 * does not decide the ratio. Under ASan the sizes are 4x smaller (same ratio).
 *
 * Each policy has targets and lists referred to by rules, a second file that
 * replaces and appends to rules of the first, and one mistake repeated in
 * every rule (so the diagnostics path is timed too): a `result` that is no
 * errno name, which load reports, then fails with -EINVAL.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

#include "policy/load.h"
#include "unit.h"

#if defined(__SANITIZE_ADDRESS__)
#define SCALE_SMALL 3200
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SCALE_SMALL 3200
#endif
#endif
#ifndef SCALE_SMALL
#define SCALE_SMALL 12500
#endif

struct buf {
	char *s;
	size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n >= 0 && b->s && b->len + (size_t)n < b->cap)
			break;
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			abort();
	}
	b->len += (size_t)n;
}

/* file 1: n rules, n/10 targets and lists; file 2: replaces and appends to n/4 of them */
static void make_policy(size_t n, bool mistakes, struct buf *f1, struct buf *f2)
{
	size_t nt = n / 10;

	put(f1, "{\"version\": 1, \"targets\": {");
	for (size_t i = 0; i < nt; i++)
		put(f1, "%s\"t%zu\": {\"comm\": \"c%zu\"}", i ? ", " : "", i, i);
	put(f1, "}, \"lists\": {");
	for (size_t i = 0; i < nt; i++)
		put(f1, "%s\"l%zu\": [\"read\", \"write\"]", i ? ", " : "", i);
	put(f1, "}, \"rules\": [\n");
	for (size_t i = 0; i < n; i++) {
		put(f1, "%s{\"name\": \"rule-%zu\", \"min_duration\": \"10s\"", i ? ",\n" : "", i);
		switch (i % 4) {
		case 0:
			put(f1, ", \"syscalls\": [\"@l%zu\", \"nanosleep\"]", i % nt);
			break;
		case 1:
			put(f1, ", \"targets\": [\"t%zu\"], \"result\": [\"ENOENT\", \"%s\"]",
			    i % nt, mistakes ? "ENOPE" : "EAGAIN");
			break;
		case 2:
			put(f1, ", \"paths\": [\"/x/%zu/*\"], \"tags\": [\"a\"]", i);
			break;
		default:
			break;
		}
		put(f1, "}");
	}
	put(f1, "]}\n");
	put(f2, "{\"rules\": [\n");
	for (size_t i = 0; i < n; i += 4) {
		if (i % 8)
			put(f2, "%s{\"name\": \"rule-%zu\", \"min_duration\": \"1s\"}",
			    i ? ",\n" : "", i);
		else
			put(f2,
			    "%s{\"name\": \"rule-%zu\", \"override\": \"append\", \"tags\": [\"b\"]}",
			    i ? ",\n" : "", i);
	}
	put(f2, "]}\n");
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Best CPU time of `runs` loads; the number of rules and errors of the last one. */
static int time_load(size_t n, bool mistakes, int runs, double *ret_s, size_t *ret_rules,
		     size_t *ret_errors)
{
	struct buf f1 = {}, f2 = {};
	int r = 0;

	make_policy(n, mistakes, &f1, &f2);
	*ret_s = 1e9;
	for (int k = 0; k < runs; k++) {
		struct policy_source src[2] = {
			{ .name = "one.json", .text = f1.s, .len = f1.len },
			{ .name = "two.json", .text = f2.s, .len = f2.len },
		};
		struct policy_load_options o = { .sources = src, .n_sources = 2 };
		struct policy_diags diags = {};
		struct policy *p = NULL;
		double t0 = cpu_seconds(), t;

		r = policy_load(&o, &p, &diags);
		t = cpu_seconds() - t0;
		if (t < *ret_s)
			*ret_s = t;
		*ret_rules = p ? p->n_rules : 0;
		*ret_errors = diags.n_errors;
		policy_free(p);
		policy_diags_free(&diags);
	}
	free(f1.s);
	free(f2.s);
	return r;
}

static int check_linear(bool mistakes)
{
	size_t small = SCALE_SMALL, big = SCALE_SMALL * 8, rules, errors;
	double ts, tb;
	int r;

	r = time_load(small, mistakes, 3, &ts, &rules, &errors);
	CHECK(r == (mistakes ? -EINVAL : 0));
	CHECK(mistakes ? errors == small / 4 : rules == small);
	r = time_load(big, mistakes, 2, &tb, &rules, &errors);
	CHECK(r == (mistakes ? -EINVAL : 0));
	CHECK(mistakes ? errors == big / 4 : rules == big);
	printf("# load %s: %zu rules %.3f s, %zu rules %.3f s CPU (%.1fx)\n",
	       mistakes ? "with errors" : "valid", small, ts, big, tb, tb / ts);
	/* near-linear, loosely: n log n would be ~9x; quadratic 64x */
	CHECK(tb < 20 * ts + 0.05);
	return 0;
}

static int test_load_time_near_linear(void)
{
	return check_linear(false);
}

static int test_load_time_near_linear_with_errors(void)
{
	return check_linear(true);
}

UNIT_MAIN(TEST(test_load_time_near_linear), TEST(test_load_time_near_linear_with_errors))
