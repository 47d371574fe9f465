/* SPDX-License-Identifier: MIT */
/*
 * The per-(process, rule) token bucket of `rate_limit` (policy/ratelimit.h,
 * doc/policy.md "Rate limiting"): burst = the per-minute rate, refill
 * rate/60 per second, cut records counted.
 */
#include "policy/ratelimit.h"
#include "unit.h"

#define SEC(x) (UINT64_C(1000000000) * (x))
#define T0 SEC(1000) /* an arbitrary CLOCK_MONOTONIC start */

/* Take n tokens at now; returns how many were granted. */
static unsigned take_n(struct ratelimit *rl, pid_t tgid, uint32_t rule, uint32_t per_minute,
		       uint64_t now, unsigned n)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++)
		ok += ratelimit_take(rl, tgid, rule, per_minute, now);
	return ok;
}

static int test_unlimited(void)
{
	struct ratelimit rl = {};

	CHECK(take_n(&rl, 10, 0, 0, T0, 100000) == 100000);
	CHECK(take_n(&rl, 11, 3, 0, 0, 1000) == 1000);
	CHECK(rl.cut == 0);
	CHECK(rl.n == 0); /* no bucket is kept for an unlimited rule */
	ratelimit_free(&rl);
	return 0;
}

static int test_burst_then_cut(void)
{
	struct ratelimit rl = {};

	/* a quiet process may burst exactly per_minute records */
	CHECK(take_n(&rl, 10, 0, 5, T0, 5) == 5);
	CHECK(rl.cut == 0);
	CHECK(!ratelimit_take(&rl, 10, 0, 5, T0));
	CHECK(rl.cut == 1);
	CHECK(take_n(&rl, 10, 0, 5, T0, 10) == 0);
	CHECK(rl.cut == 11);

	/* per_minute 1: one record, then none */
	CHECK(ratelimit_take(&rl, 20, 0, 1, T0));
	CHECK(!ratelimit_take(&rl, 20, 0, 1, T0));
	CHECK(rl.cut == 12);
	ratelimit_free(&rl);
	CHECK(rl.v == NULL && rl.n == 0 && rl.cap == 0 && rl.cut == 0);
	return 0;
}

static int test_refill_one_per_interval(void)
{
	struct ratelimit rl = {};
	uint64_t t;

	/* 5 a minute: one more every 12 s, not a nanosecond earlier */
	CHECK(take_n(&rl, 10, 0, 5, T0, 6) == 5);
	CHECK(!ratelimit_take(&rl, 10, 0, 5, T0 + SEC(12) - 1));
	CHECK(ratelimit_take(&rl, 10, 0, 5, T0 + SEC(12)));
	CHECK(!ratelimit_take(&rl, 10, 0, 5, T0 + SEC(12)));
	CHECK(rl.cut == 3);
	/* a steady stream: one record per 12 s */
	t = T0 + SEC(12);
	for (int i = 0; i < 20; i++) {
		t += SEC(12);
		CHECK(ratelimit_take(&rl, 10, 0, 5, t));
		CHECK(!ratelimit_take(&rl, 10, 0, 5, t + SEC(6)));
	}
	CHECK(rl.cut == 23);

	/* 7 a minute: 60/7 s = 8571428571.43 ns; exact integer tokens */
	CHECK(take_n(&rl, 11, 0, 7, T0, 8) == 7);
	CHECK(!ratelimit_take(&rl, 11, 0, 7, T0 + 8571428571ULL));
	CHECK(ratelimit_take(&rl, 11, 0, 7, T0 + 8571428572ULL));
	/* two intervals later (from T0): 17142857143 ns is one token plus a bit */
	CHECK(ratelimit_take(&rl, 11, 0, 7, T0 + 17142857143ULL));
	CHECK(!ratelimit_take(&rl, 11, 0, 7, T0 + 17142857143ULL));
	ratelimit_free(&rl);
	return 0;
}

static int test_refill_caps_at_burst(void)
{
	struct ratelimit rl = {};

	CHECK(take_n(&rl, 10, 0, 5, T0, 5) == 5);
	/* an hour of silence refills the burst, not 300 records */
	CHECK(take_n(&rl, 10, 0, 5, T0 + SEC(3600), 6) == 5);
	CHECK(rl.cut == 1);
	/* exactly one minute refills it completely, too */
	CHECK(take_n(&rl, 10, 0, 5, T0 + SEC(3660), 6) == 5);
	CHECK(rl.cut == 2);
	/* half a minute: half the burst */
	CHECK(take_n(&rl, 10, 0, 4, T0 + SEC(4000), 4) == 4);
	CHECK(take_n(&rl, 10, 0, 4, T0 + SEC(4030), 4) == 2);
	/* time that goes backwards refills nothing (no wrap-around) */
	CHECK(!ratelimit_take(&rl, 10, 0, 4, T0));
	ratelimit_free(&rl);
	return 0;
}

static int test_separate_buckets(void)
{
	struct ratelimit rl = {};

	CHECK(take_n(&rl, 10, 0, 3, T0, 4) == 3);
	/* another process: its own bucket */
	CHECK(take_n(&rl, 11, 0, 3, T0, 4) == 3);
	/* another rule of the first process: its own bucket */
	CHECK(take_n(&rl, 10, 1, 3, T0, 4) == 3);
	CHECK(take_n(&rl, 10, 2, 1, T0, 2) == 1);
	CHECK(rl.cut == 4);
	CHECK(rl.n == 4);
	/* the first bucket is still empty */
	CHECK(!ratelimit_take(&rl, 10, 0, 3, T0));
	CHECK(rl.cut == 5);
	/* tgid and rule are not mixed up: (rule 10, tgid 0 -> 3) vs (tgid 10, rule 3) */
	CHECK(take_n(&rl, 3, 10, 2, T0, 3) == 2);
	CHECK(take_n(&rl, 10, 3, 2, T0, 3) == 2);
	ratelimit_free(&rl);
	return 0;
}

static int test_many_tgids(void)
{
	struct ratelimit rl = {};
	size_t cap;

	/* 10000 processes, one record a minute each */
	for (pid_t tgid = 1; tgid <= 10000; tgid++)
		CHECK(ratelimit_take(&rl, tgid, 0, 1, T0));
	CHECK(rl.n == 10000);
	CHECK(rl.cap >= 2 * rl.n);
	CHECK((rl.cap & (rl.cap - 1)) == 0);
	/* every bucket survived the table's growth */
	for (pid_t tgid = 1; tgid <= 10000; tgid++)
		CHECK(!ratelimit_take(&rl, tgid, 0, 1, T0 + SEC(30)));
	CHECK(rl.cut == 10000);
	CHECK(rl.n == 10000);

	/*
	 * A minute later they are all full again and idle: another 10000 processes
	 * reuse their room (purge) instead of growing the table.
	 */
	cap = rl.cap;
	for (pid_t tgid = 20001; tgid <= 30000; tgid++)
		CHECK(ratelimit_take(&rl, tgid, 0, 1, T0 + SEC(91)));
	CHECK(rl.cap == cap);
	CHECK(rl.n < 20000);
	/* buckets in use were kept: still empty */
	for (pid_t tgid = 20001; tgid <= 30000; tgid++)
		CHECK(!ratelimit_take(&rl, tgid, 0, 1, T0 + SEC(91)));
	CHECK(rl.cut == 20000);
	/* purged or not, an idle process has its full burst */
	for (pid_t tgid = 1; tgid <= 100; tgid++)
		CHECK(ratelimit_take(&rl, tgid, 0, 1, T0 + SEC(91)));
	CHECK(rl.cut == 20000);
	ratelimit_free(&rl);
	return 0;
}

static int test_reset_keeps_cut(void)
{
	struct ratelimit rl = {};

	CHECK(take_n(&rl, 10, 0, 2, T0, 3) == 2);
	CHECK(take_n(&rl, 11, 4, 2, T0, 5) == 2);
	CHECK(rl.cut == 4);
	ratelimit_reset(&rl);
	CHECK(rl.cut == 4);
	CHECK(rl.n == 0);
	/* every bucket starts afresh, at the same instant */
	CHECK(take_n(&rl, 10, 0, 2, T0, 3) == 2);
	CHECK(take_n(&rl, 11, 4, 2, T0, 3) == 2);
	CHECK(rl.cut == 6);
	CHECK(rl.n == 2);
	/* reset of a table never used */
	ratelimit_free(&rl);
	ratelimit_reset(&rl);
	CHECK(rl.n == 0 && rl.cut == 0);
	CHECK(ratelimit_take(&rl, 10, 0, 1, T0));
	ratelimit_free(&rl);
	return 0;
}

static int test_large_rate_no_overflow(void)
{
	struct ratelimit rl = {};
	const uint32_t rate = 1000000; /* the largest rate_limit a policy accepts */
	uint64_t t = T0;

	CHECK(take_n(&rl, 10, 0, rate, t, rate + 1) == rate);
	CHECK(rl.cut == 1);
	/* a very long idle: the burst, no more and no wrap-around */
	t += 1000000000000000000ULL;
	CHECK(take_n(&rl, 10, 0, rate, t, rate + 1) == rate);
	CHECK(rl.cut == 2);
	/* 30 s: half the burst */
	t += SEC(30);
	CHECK(take_n(&rl, 10, 0, rate, t, rate) == rate / 2);
	/* 60 us: exactly one record (1000000 a minute = one per 60 us) */
	t += 60000;
	CHECK(ratelimit_take(&rl, 10, 0, rate, t));
	CHECK(!ratelimit_take(&rl, 10, 0, rate, t + 59999));
	t += 120000;
	CHECK(take_n(&rl, 10, 0, rate, t, 3) == 2);
	/* 2^58 ns idle: 2^58 * 1000000 is 0 modulo 2^64, so an unclamped product loses it all */
	t += 1ULL << 58;
	CHECK(take_n(&rl, 10, 0, rate, t, rate + 1) == rate);
	/* near the end of the clock */
	t = UINT64_MAX - SEC(1);
	CHECK(take_n(&rl, 10, 0, rate, t, rate + 1) == rate);
	ratelimit_free(&rl);
	return 0;
}

UNIT_MAIN(TEST(test_unlimited), TEST(test_burst_then_cut), TEST(test_refill_one_per_interval),
	  TEST(test_refill_caps_at_burst), TEST(test_separate_buckets), TEST(test_many_tgids),
	  TEST(test_reset_keeps_cut), TEST(test_large_rate_no_overflow))
