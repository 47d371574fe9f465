/* SPDX-License-Identifier: MIT */
/*
 * hostctx.h - the host context of one slow or stuck syscall: the host
 * signals that bear on that call, for its record's `stallwatch.host`
 * (doc/schema.md), named as in host records (doc/scan.md). Which call gets
 * what (doc/scan.md, "Host context of syscall records"):
 *
 *   a call on a cgroup `memory.stat` or `cgroup.stat` (its fd or its path
 *   argument; basename memory.stat or cgroup.stat on a cgroup filesystem):
 *       offline and online memcgs, the hierarchy, the slowest self-timed
 *       memory.stat read, and the sample before (the trend), all from the
 *       LATEST host sample;
 *   inotify_add_watch, fanotify_mark, rmdir, unlinkat(AT_REMOVEDIR),
 *   umount2 (the calls that walk a directory's child dentries):
 *       /proc/sys/fs/dentry-state read for the record, and the growth of
 *       negative dentries per second since a reading at least 1 s older;
 *   network calls (%net, or an fd that is a socket):
 *       /proc/net/softnet_stat read for the record, with its growth since
 *       the latest host sample;
 *   every call that is not a wait: PSI some/full avg10 of cpu, memory and
 *       io, read at most every 100 ms (the kernel recomputes the averages
 *       only every 2 s: PSI_FREQ, kernel/sched/psi.c).
 *
 * Host samples are hostscan_run() without /proc/slabinfo, taken by a worker
 * thread: one when hostctx_new() starts it, then one every
 * HOSTCTX_SAMPLE_PERIOD_S, so a sample is never much older than that. The
 * tracer never waits for a sample: under ptrace a record is built while the
 * traced thread sits in its syscall-exit stop, and a memcg walk there (~35 us
 * a directory) would lengthen the very call being reported and every other
 * traced call waiting for the tracer. hostctx_for_call() only copies the
 * latest sample, under a mutex the worker holds just to publish one. The
 * small files read for the record (dentry-state, softnet_stat, PSI) cost
 * about 10 us each; their cost is in the record (`read_ns`).
 */
#ifndef SW_CGROUPSCAN_HOSTCTX_H
#define SW_CGROUPSCAN_HOSTCTX_H

#include <stdbool.h>
#include <stdint.h>

#include "../policy/policy.h"
#include "../record/record.h"

#define HOSTCTX_SAMPLE_PERIOD_S 10
/* growth of negative dentries is measured over at least this much time */
#define HOSTCTX_MIN_GROWTH_INTERVAL_NS 1000000000ULL
/*
 * PSI averages change only every 2 s (PSI_FREQ): a reading this old is as
 * good as a new one, and a burst of records (-m 0) reads the three files at
 * most 10 times a second
 */
#define HOSTCTX_PSI_MAX_AGE_NS 100000000ULL

struct hostctx;

/* One call, as the tracer knows it when it builds the record. */
struct hostctx_call {
	int nr; /* native syscall number, -1 if unknown */
	const uint64_t *args; /* its 6 argument registers */
	const char *fd_path; /* what its fd points to, or NULL */
	const char *path; /* its path argument, absolute, or NULL */
	bool wait; /* %wait: blocks until an event by design (no PSI) */
};

/*
 * Start the worker thread (every signal blocked in it); its first sample
 * follows at once. thresholds: the policy's scan object (growth_window, for
 * the offline memcgs' growth rate), copied. Returns 0 or -errno.
 * Call it only after the command was forked (a fork copies one thread).
 */
int hostctx_new(const struct policy_scan *thresholds, struct hostctx **ret);
/* Stop the worker (waits for a sample in progress to end) and free. NULL is fine. */
void hostctx_free(struct hostctx *h);

/*
 * Fill *out for call c (from one thread: the tracer's). Never waits for a
 * sample. now_ns: CLOCK_MONOTONIC now. Returns true if anything was filled.
 */
bool hostctx_for_call(struct hostctx *h, const struct hostctx_call *c, uint64_t now_ns,
		      struct record_call_host *out);

#endif
