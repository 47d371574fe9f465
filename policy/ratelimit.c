/* SPDX-License-Identifier: MIT */
#include "ratelimit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MINUTE_NS 60000000000ULL
/* one record's worth of tokens: refill adds per_minute per elapsed ns */
#define RATELIMIT_ONE MINUTE_NS
/* buckets idle this long are full again and can be dropped */
#define IDLE_NS MINUTE_NS

static size_t slot_of(pid_t tgid, uint32_t rule, size_t cap)
{
	uint64_t h = ((uint64_t)(uint32_t)tgid << 32 | rule) * 0x9E3779B97F4A7C15ULL;

	return (size_t)(h >> 32) & (cap - 1);
}

static struct ratelimit_entry *lookup(struct ratelimit *rl, pid_t tgid, uint32_t rule)
{
	for (size_t i = slot_of(tgid, rule, rl->cap), n = 0; n < rl->cap;
	     i = (i + 1) & (rl->cap - 1), n++) {
		struct ratelimit_entry *e = &rl->v[i];

		if (e->tgid == 0 || (e->tgid == tgid && e->rule == rule))
			return e;
	}
	return NULL;
}

/* Rebuild at cap entries, dropping buckets idle long enough to be full again. */
static int rehash(struct ratelimit *rl, size_t cap, uint64_t now_ns)
{
	struct ratelimit_entry *old = rl->v;
	size_t old_cap = rl->cap;

	rl->v = calloc(cap, sizeof(*rl->v));
	if (!rl->v) {
		rl->v = old;
		return -ENOMEM;
	}
	rl->cap = cap;
	rl->n = 0;
	for (size_t i = 0; i < old_cap; i++) {
		struct ratelimit_entry *e;

		if (old[i].tgid == 0 || now_ns - old[i].last_ns >= IDLE_NS)
			continue;
		e = lookup(rl, old[i].tgid, old[i].rule);
		*e = old[i];
		rl->n++;
	}
	free(old);
	return 0;
}

bool ratelimit_take(struct ratelimit *rl, pid_t tgid, uint32_t rule, uint32_t per_minute,
		    uint64_t now_ns)
{
	struct ratelimit_entry *e;
	uint64_t full;

	if (per_minute == 0)
		return true;
	/* the loader caps rate_limit at 1e6/min; above ~3e8 `full` would overflow */
	if (per_minute > RATELIMIT_MAX_PER_MINUTE)
		per_minute = RATELIMIT_MAX_PER_MINUTE;
	full = (uint64_t)per_minute * RATELIMIT_ONE;
	if (rl->n + 1 > rl->cap / 2) {
		size_t cap = rl->cap ? rl->cap : 64;

		/* grow only if purging idle buckets does not make room */
		if (rehash(rl, cap, now_ns) < 0 || rl->n + 1 > cap / 2)
			if (rehash(rl, cap * 2, now_ns) < 0 && !rl->cap)
				return true; /* no memory: never lose a record for it */
	}
	e = lookup(rl, tgid, rule);
	if (!e)
		return true;
	if (e->tgid == 0) {
		*e = (struct ratelimit_entry){
			.tgid = tgid, .rule = rule, .tokens = full, .last_ns = now_ns
		};
		rl->n++;
	} else {
		uint64_t elapsed = now_ns > e->last_ns ? now_ns - e->last_ns : 0;

		/* clamp first: elapsed * per_minute must not overflow */
		if (elapsed > MINUTE_NS)
			elapsed = MINUTE_NS;
		e->tokens += elapsed * per_minute;
		if (e->tokens > full)
			e->tokens = full;
		if (now_ns > e->last_ns)
			e->last_ns = now_ns; /* a clock going back must not refill twice */
	}
	if (e->tokens < RATELIMIT_ONE) {
		rl->cut++;
		return false;
	}
	e->tokens -= RATELIMIT_ONE;
	return true;
}

void ratelimit_reset(struct ratelimit *rl)
{
	if (rl->v)
		memset(rl->v, 0, rl->cap * sizeof(*rl->v));
	rl->n = 0;
}

void ratelimit_free(struct ratelimit *rl)
{
	free(rl->v);
	*rl = (struct ratelimit){};
}
