/* SPDX-License-Identifier: MIT */
/*
 * lifecycle.h - one call lifecycle for every backend.
 *
 * A backend (ptrace.c, notify.c) sees syscalls its own way and tells the
 * lifecycle what it saw, in its own terms:
 *
 *   lifecycle_entered()  a watched call entered (ptrace: the seccomp or
 *                        syscall-entry stop; notify: the notification);
 *   lifecycle_exited()   it returned, exactly, with its return value
 *                        (ptrace's syscall-exit stop; -ERESTART* codes are
 *                        stitched here: one user-visible call);
 *   lifecycle_ended()    it ended somewhere in [lo, hi] without a known
 *                        return value (notify: the thread's next
 *                        notification, a /proc sample);
 *   lifecycle_gone()     the thread died with the call in flight.
 *
 * The lifecycle owns the rest, the same for every backend: the deadline
 * of each call, stuck and slow decisions (lifecycle_on_timer() asks the
 * backend's probe "still in flight?" where the backend cannot see ends),
 * the correction for stallwatch's own run-queue delay, and the
 * --summary/--metrics-file counts. report.h turns a call that crossed its
 * threshold into a record: facts, the %wait decision, rules (matched
 * once), rate limits.
 *
 * Where a call's time is taken: the backend's timestamp given to
 * lifecycle_entered() (call->start_ns) and to lifecycle_exited() or
 * lifecycle_ended(); finish_call() in lifecycle.c subtracts them.
 */
#ifndef SW_TRACER_LIFECYCLE_H
#define SW_TRACER_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../policy/policy.h"
#include "../policy/ratelimit.h"
#include "../record/recorder.h"
#include "summary.h"
#include "syscall_args.h"
#include "tracee.h"
#include "tracer.h"

#define LIFECYCLE_SCHED_SAMPLES 16

/* What a backend's probe says of a call past its deadline. */
enum inflight_answer {
	INFLIGHT_YES, /* proven still in the call (exact) */
	INFLIGHT_LIKELY, /* still in, by indirect evidence (approximate) */
	INFLIGHT_NO, /* it ended at or before now */
	INFLIGHT_UNSURE, /* look again at *ret_again_ns */
	INFLIGHT_DIED, /* the thread died in the call: it never returned */
};

struct inflight_probe {
	/*
	 * Is t's call still in flight at now_ns? *ret_evidence names what
	 * decided (record field stallwatch.inflight_evidence); for
	 * INFLIGHT_NO, *ret_seen how the end was seen.
	 */
	enum inflight_answer (*ask)(void *opaque, struct tracee *t, uint64_t now_ns,
				    enum call_evidence *ret_evidence, enum call_end_seen *ret_seen,
				    uint64_t *ret_again_ns);
	/* Does t's thread still exist? (the table forgets the gone, lifecycle.c) */
	bool (*alive)(void *opaque, const struct tracee *t);
	void *opaque;
};

struct hostctx; /* cgroupscan/hostctx.h */
struct storm; /* storm.h */
/*
 * Where a reported call's time went and where it waited (record field
 * stallwatch.evidence), from the backend that can tell: asked only for a
 * call a rule reports, just before its record is written. in_flight: the
 * call is still running (a stuck record), its figures as of now_ns; else
 * as of its end. Returns false when it knows nothing of the call.
 */
/*
 * When a source that samples /proc (procevidence.h) is asked to look at a
 * call: never on the fast path, only at a call that crossed its threshold.
 */
enum evidence_moment {
	/* the call crossed its threshold, in flight (report.c, before its rules) */
	SAMPLE_AT_CROSSING,
	/* a later poll showed it still in flight (backends that see no exit) */
	SAMPLE_STILL_IN,
	/* the thread waits at the call's exit, stopped since ts_ns (ptrace) */
	SAMPLE_AT_EXIT,
};

struct evidence_source {
	bool (*fill)(void *opaque, const struct tracee *t, bool in_flight, uint64_t now_ns,
		     struct record_evidence *ret);
	/*
	 * Optional: take a sample of t's call at this moment (ts_ns:
	 * SAMPLE_AT_EXIT only). Asked at SAMPLE_AT_CROSSING, then, for that
	 * call only (traced_call.sampled), at the other two.
	 */
	void (*sample)(void *opaque, struct tracee *t, enum evidence_moment moment, uint64_t ts_ns);
	void *opaque;
};

struct lifecycle {
	const struct policy *policy;
	struct recorder *recorder;
	const char *backend_name; /* stallwatch.backend of its records */
	/* NULL: the backend sees every end (ptrace); else it is asked at deadlines */
	const struct inflight_probe *probe;
	/* the thread waits while lifecycle_entered() runs (ptrace): /proc reads at entry are safe */
	bool stopped_at_entry;
	/*
	 * The backend takes both timestamps in the kernel (bpf): stallwatch's
	 * own run-queue delay is in no duration, so none is subtracted.
	 */
	bool timed_in_kernel;
	const struct evidence_source *evidence; /* NULL: records carry no evidence */
	void (*warn)(void *opaque, const char *line);
	void *warn_opaque;
	/* make sure lifecycle_on_timer() runs no later than deadline_ns */
	void (*ensure_timer)(void *opaque, uint64_t deadline_ns);
	void *timer_opaque;

	struct ratelimit ratelimit;
	struct summary *summary; /* --summary, or NULL */
	bool durations; /* --metrics-file: completed calls go into its histogram */
	/*
	 * The backend counts every completed call itself (bpf: in the kernel)
	 * and brings --summary and the histogram up to date in bulk: the
	 * calls the lifecycle sees are not counted again.
	 */
	bool bulk_counts;
	struct tracee_table tracees;
	struct syscall_args argmap[SW_MAX_NR];
	int restart_nr[_POLICY_ABI_MAX]; /* restart_syscall per ABI */
	int ptrace_nr, clone_nr, clone3_nr, exit_nr, exit_group_nr, sigreturn_nr;
	int execve_nr, execveat_nr;

	/* schedstat samples of our own thread: run-queue delay correction */
	pid_t self_tid;
	struct {
		uint64_t mono_ns, run_delay_ns;
	} samples[LIFECYCLE_SCHED_SAMPLES];
	unsigned int next_sample;
	uint64_t swept_ns; /* entries only: when gone threads were last looked for */

	struct tracer_stats stats;
	/* stallwatch.host of records (report.c), or NULL; the loop owns it */
	struct hostctx *hostctx;
	/* ENOENT storms (storm.h), or NULL when the policy does not enable them */
	struct storm *storm;
	/* the backend counts failed lookups itself (bpf: in the kernel): exits do not */
	bool enoent_in_kernel;
};

/* %wait decided by the backend where the facts are (bpf: in the kernel, at the entry) */
enum call_wait {
	CALL_WAIT_UNKNOWN, /* report.c decides, from /proc (policy/wait.h) */
	CALL_WAIT_NO,
	CALL_WAIT_YES,
};

/* The syscall a backend saw enter. */
struct call_entry {
	uint32_t arch; /* AUDIT_ARCH_* */
	uint64_t nr; /* as the kernel reports it for arch */
	uint64_t args[6];
	uint64_t pc; /* user instruction pointer (0: not known) */
	uint64_t ts_ns; /* CLOCK_MONOTONIC when the backend saw it */
	/* backends that time calls themselves (bpf): */
	unsigned int pieces; /* restarts stitched in, plus one (0: 1) */
	bool partial; /* it began before the attach: ts_ns is a lower bound */
	const char *path; /* the path argument as the kernel read it, or NULL */
	enum call_wait wait; /* %wait, when the backend decided it */
};

/* How a call without an exact exit ended (lifecycle_ended). */
struct call_end {
	uint64_t lo_ns, hi_ns; /* the end lies in [lo_ns, hi_ns] */
	enum call_end_seen seen;
	bool approximate; /* CPU accounting or polling decided */
};

int lifecycle_init(struct lifecycle *lc, const struct policy *policy, struct recorder *recorder,
		   const char *backend_name);
void lifecycle_done(struct lifecycle *lc);

/* Warn the user (one line; library code never prints). */
void lifecycle_warn(struct lifecycle *lc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The thread's state, created on first sight; NULL on ENOMEM. */
struct tracee *lifecycle_thread(struct lifecycle *lc, pid_t tid);

/*
 * A watched call entered. For a backend that sees no exit (lc->probe set),
 * this entry also proves the thread's previous call over: it ended between
 * the last moment it was proven in flight and now ("next-call"), unless
 * this is restart_syscall resuming it, or the same call notified again
 * after lifecycle_interrupted() (stitched: one call).
 */
void lifecycle_entered(struct lifecycle *lc, struct tracee *t, const struct call_entry *e);
/* The exact exit (ret: rax, -errno on failure, -ERESTART* when interrupted). */
void lifecycle_exited(struct lifecycle *lc, struct tracee *t, uint64_t ts_ns, int64_t ret);
/* The call ended within a bracket, its result unknown. */
void lifecycle_ended(struct lifecycle *lc, struct tracee *t, const struct call_end *end);
/*
 * A backend that times calls in the kernel (bpf) hands over whole calls:
 * one found still in flight by a sweep (e->ts_ns its real start; nothing
 * happens if t has that call already), or one timed to its end.
 */
void lifecycle_in_flight(struct lifecycle *lc, struct tracee *t, const struct call_entry *e);
void lifecycle_completed(struct lifecycle *lc, struct tracee *t, const struct call_entry *e,
			 uint64_t end_ns, int64_t ret);
/*
 * Entries only (notify): the call was interrupted before the backend could
 * let it run; if the same call is notified again it is its restart.
 */
void lifecycle_interrupted(struct lifecycle *lc, struct tracee *t, uint64_t ts_ns);
/*
 * Entries only: every watched thread is gone (notify: no task uses the
 * filter any more): each call still in flight ended by ts_ns, returned or
 * with its thread ("thread-exit", approximate).
 */
void lifecycle_all_ended(struct lifecycle *lc, uint64_t ts_ns);
/* Entries only: t died in its call (a fatal signal): counted, not reported. */
void lifecycle_died(struct lifecycle *lc, struct tracee *t);
/* The thread is gone with a call in flight. */
void lifecycle_gone(struct lifecycle *lc, struct tracee *t, uint64_t ts_ns);
/*
 * A non-leader thread exec'd: t (the leader's tid) takes over the state of
 * the exec'ing thread `former` (ptrace(2), "execve(2) under ptrace").
 */
void lifecycle_exec_took_over(struct lifecycle *lc, struct tracee *t, struct tracee *former,
			      uint64_t ts_ns);
/* Forget t (it exited, or we detach from it). */
void lifecycle_forget(struct lifecycle *lc, struct tracee *t);

/* Calls in flight past their deadlines get their stuck record; re-arms the timer. */
void lifecycle_on_timer(struct lifecycle *lc, uint64_t now_ns);
/* A schedstat sample of our own thread (at timer expiries and at start). */
void lifecycle_sample_sched(struct lifecycle *lc, uint64_t now_ns);
/* A reloaded policy: calls in flight keep their thresholds; rate limits restart. */
void lifecycle_set_policy(struct lifecycle *lc, const struct policy *policy);

/* Is the call (of arch, native number) this syscall? */
static inline bool call_is(const struct traced_call *call, int native_nr)
{
	return native_nr >= 0 && call->native == native_nr;
}

#endif
