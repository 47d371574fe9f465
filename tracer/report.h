/* SPDX-License-Identifier: MIT */
/*
 * report.h - a call that crossed its threshold becomes a record.
 *
 * One pass, downhill: the %wait decision (once per call), the facts a rule
 * or record needs (fd path, path argument, process identity: read once),
 * policy_match() (once), the rule's rate limit, the record. A wait no rule
 * takes stops before any /proc read. Slow path only.
 */
#ifndef SW_TRACER_REPORT_H
#define SW_TRACER_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "lifecycle.h"

struct report_call {
	const char *action; /* "slow-syscall" or "stuck-syscall" */
	uint64_t event_ns; /* the end (slow) or the crossing (stuck; the rule's threshold wins) */
	uint64_t duration_ns; /* event.duration: measured, or the proven lower bound */
	uint64_t eff_duration_ns; /* what rules compare: minus our own run-queue delay */
	bool has_ret;
	int64_t ret;
	uint64_t sched_delay_ns;
	/* sched_delay_ns is a measured figure (0 included), not "not known" */
	bool sched_delay_known;
	/* the lifecycle just found the call in flight (its deadline): sample it */
	bool in_flight_now;
	const char *note; /* extra human context, or NULL */
	/* a bracketed end (notify): the upper bound, how it was seen */
	bool has_duration_max;
	uint64_t duration_max_ns;
	enum call_end_seen seen;
	bool approximate;
};

/*
 * Find the rule t's call fires, apply its rate limit, write the record.
 * For stuck calls *ret_next_ns (if not NULL) gets the next threshold at
 * which a rule could still fire. Returns true if a rule fired.
 */
bool report_call(struct lifecycle *lc, struct tracee *t, const struct report_call *rc,
		 uint64_t *ret_next_ns);

#endif
