/* SPDX-License-Identifier: MIT */
/*
 * ratelimit.h - the per-rule, per-process record limit of a policy rule
 * (`rate_limit`, records per minute; doc/policy.md).
 *
 * A token bucket per (process, rule): the burst is the per-minute rate and
 * the bucket refills continuously at rate/60 per second, so a steady stream
 * gets rate records a minute and a quiet process may burst. Tokens are kept
 * in units of 1/(60 s in ns), so the arithmetic is exact 64-bit integers.
 * Slow path only: consulted for calls that already fired a rule.
 */
#ifndef SW_POLICY_RATELIMIT_H
#define SW_POLICY_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RATELIMIT_MAX_PER_MINUTE 1000000U

struct ratelimit_entry {
	pid_t tgid; /* 0: free slot */
	uint32_t rule;
	uint64_t tokens; /* scaled: one record = RATELIMIT_ONE */
	uint64_t last_ns;
};

struct ratelimit {
	struct ratelimit_entry *v;
	size_t cap, n;
	uint64_t cut; /* records refused since init */
};

/* Take one record's token for (tgid, rule) at now_ns; false: cut (counted). */
bool ratelimit_take(struct ratelimit *rl, pid_t tgid, uint32_t rule, uint32_t per_minute,
		    uint64_t now_ns);

/* Forget every bucket (a reloaded policy numbers its rules anew); keeps `cut`. */
void ratelimit_reset(struct ratelimit *rl);

void ratelimit_free(struct ratelimit *rl);

#endif
