/* SPDX-License-Identifier: MIT */
/*
 * storm.h - ENOENT storms for the lifecycle (doc/policy.md,
 * "enoent_storms"): a failed path lookup of a traced thread becomes a key
 * and a name for the detector (enoent.h), a storm whose record is due
 * becomes an enoent-storm record.
 *
 * Backends see failed lookups two ways:
 *   - ptrace: every exit of a counted syscall (policy_enoent_calls()) goes
 *     through the lifecycle, which hands an ENOENT one to
 *     storm_failed_call() (the thread waits in its exit stop: its memory
 *     and /proc are read then);
 *   - bpf: the kernel counts (watch.bpf.c) and the backend copies its
 *     counts in with storm_kernel_counts() at its ticks.
 * notify sees no return values: it cannot count (it says so once).
 */
#ifndef SW_TRACER_STORM_H
#define SW_TRACER_STORM_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "enoent.h"

struct lifecycle;
struct record_enoent_producer;
struct tracee;
struct traced_call;

struct storm {
	struct enoent_detector det;
	struct lifecycle *lc;
	bool counted[SW_MAX_NR]; /* native syscalls whose ENOENT is counted */
	char path[4096]; /* the failed call's path, read from the tracee */
	uint64_t failed_calls; /* ENOENT results handed in */
	uint64_t unresolved; /* ... whose path or start directory could not be read */
};

/* A detector for lc's policy (lc->policy->enoent.enabled), or NULL (disabled or ENOMEM). */
struct storm *storm_new(struct lifecycle *lc);
/* Open storms get their records now ("the tracer ended"), then everything is freed. */
void storm_free(struct storm *s);
/* A reloaded policy (enabled or not: the caller decides whether s lives on). */
void storm_set_policy(struct storm *s);

/* Does a result ret of this native syscall count? */
static inline bool storm_counts(const struct storm *s, int native, int64_t ret)
{
	return s && ret == -ENOENT && native >= 0 && native < SW_MAX_NR && s->counted[native];
}

/* ptrace: t's call (native number native) failed with ENOENT at now_ns. */
void storm_failed_call(struct storm *s, struct tracee *t, int native, uint64_t now_ns);

/*
 * bpf: the kernel's counts of one (process, directory) (key as the kernel
 * made it; dev in the kernel's encoding, MAJOR << 20 | MINOR), copied in.
 */
void storm_kernel_counts(struct storm *s, const struct enoent_key *key,
			 const struct enoent_counts *c, uint64_t now_ns);

/*
 * The host context of a call that walks dir's child dentries
 * (inotify_add_watch, fanotify_mark, rmdir, umount2; cgroupscan/hostctx.h):
 * the table's (process, directory) pairs in dir or below it (dir "/":
 * all), most distinct failed names first, at most max into out; returns
 * how many. Counts are since each pair was first seen; under bpf they are
 * as of the last copy from the kernel (at most a second old, bpf_enoent.h).
 * dir must be absolute (else 0).
 */
size_t storm_top_under(struct storm *s, const char *dir, struct record_enoent_producer *out,
		       size_t max);

/* Records that are due; returns when the next one is (UINT64_MAX: none). */
uint64_t storm_tick(struct storm *s, uint64_t now_ns);

#endif
