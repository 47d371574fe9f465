/* SPDX-License-Identifier: MIT */
/*
 * scanworker.h - host scans on a thread of their own, for `watch`.
 *
 * A scan walks memory cgroups and reads /proc/slabinfo: milliseconds to
 * seconds (doc/scan.md). The daemon's tracing thread may be serving ptrace
 * stops meanwhile, so it never scans: this worker runs hostscan_run() at
 * once and then every thresholds->interval_ns, keeps the results in a small
 * queue and calls the waker (tracer_watch's wake_tick) after each one; the
 * tracing thread takes them (scanworker_take) and writes their records,
 * since the recorder has a single producer (record/output.h, "Threading").
 *
 * Threading: scanworker_start/stop on the owner's thread; set_waker,
 * set_thresholds and take from any thread (one mutex). The worker thread
 * blocks every signal (common/thread.h).
 */
#ifndef SW_CGROUPSCAN_SCANWORKER_H
#define SW_CGROUPSCAN_SCANWORKER_H

#include <stdint.h>

#include "../common/error.h"
#include "../policy/policy.h"
#include "hostscan.h"

/* results kept for the taker; past it the oldest is dropped (scanworker_lost) */
#define SCANWORKER_QUEUE 4

struct scanworker;

struct scanworker_options {
	const char *proc_root; /* NULL: "/proc" */
	const char *slab_sysfs; /* NULL: SLAB_SYSFS_ROOT */
	const struct policy_scan *thresholds; /* copied; interval_ns is the period */
};

/* Start the thread; its first scan begins at once. 0 or -errno (err). */
int scanworker_start(struct scanworker **ret, const struct scanworker_options *o,
		     struct sw_error *err);
/*
 * wake is called from the worker after each scan, under the worker's lock
 * (it must not call back into w); NULL: none. Once this returns, the
 * previous waker is never called again.
 */
void scanworker_set_waker(struct scanworker *w, void (*wake)(void *arg), void *arg);
/* SIGHUP: new thresholds and period (copied), from the next scan on. */
void scanworker_set_thresholds(struct scanworker *w, const struct policy_scan *th);
/*
 * The oldest result waiting: 1 with *ret (malloc'd, the caller frees it), 0
 * when none waits, or the negative code of a scan that failed since the last
 * take (err says why; later scans go on).
 */
int scanworker_take(struct scanworker *w, struct hostscan_result **ret, struct sw_error *err);
/* Scans done, and results dropped because nobody took them in time. */
uint64_t scanworker_scans(struct scanworker *w);
uint64_t scanworker_lost(struct scanworker *w);
/* Stop the thread (waits for a scan in progress) and free everything; w may be NULL. */
void scanworker_stop(struct scanworker *w);

#endif
