/* SPDX-License-Identifier: MIT */
/*
 * lifecycle.c - one call lifecycle for every backend (lifecycle.h).
 *
 * Hot path of a call below its threshold: lifecycle_entered() stores the
 * call and its deadline (a timer_settime() only when the deadline is the
 * earliest), lifecycle_exited()/lifecycle_ended() subtract and count. No
 * allocation, no /proc read, no formatting; everything else happens in
 * report.c, for calls that crossed their threshold.
 */
#include "lifecycle.h"

#include <errno.h>
#include <linux/audit.h>
#include <sched.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <unistd.h>

#include "../common/timeutil.h"
#include "procinfo.h"
#include "report.h"
#include "storm.h"

#define X32_SYSCALL_BIT 0x40000000ULL

/* Kernel-internal restart codes (include/linux/errno.h), seen only by tracers. */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

/* After a stuck record, a backend that sees no exit looks this often: threshold/8 in [1, 100] ms. */
#define POLL_MIN_NS (1 * NSEC_PER_MSEC)
#define POLL_MAX_NS (100 * NSEC_PER_MSEC)

int lifecycle_init(struct lifecycle *lc, const struct policy *policy, struct recorder *recorder,
		   const char *backend_name)
{
	static const uint32_t scmp_arch[_POLICY_ABI_MAX] = {
		[POLICY_ABI_NATIVE] = SCMP_ARCH_X86_64,
		[POLICY_ABI_X86] = SCMP_ARCH_X86,
		[POLICY_ABI_X32] = SCMP_ARCH_X32,
	};
	int r;

	lc->policy = policy;
	lc->recorder = recorder;
	lc->backend_name = backend_name;
	lc->self_tid = gettid();
	for (int abi = 0; abi < _POLICY_ABI_MAX; abi++) {
		int nr = seccomp_syscall_resolve_name_arch(scmp_arch[abi], "restart_syscall");

		lc->restart_nr[abi] = nr < 0 ? -1 : (int)(nr & ~(int)X32_SYSCALL_BIT);
	}
	lc->ptrace_nr = syscall_nr("ptrace");
	lc->clone_nr = syscall_nr("clone");
	lc->clone3_nr = syscall_nr("clone3");
	lc->exit_nr = syscall_nr("exit");
	lc->exit_group_nr = syscall_nr("exit_group");
	lc->sigreturn_nr = syscall_nr("rt_sigreturn");
	lc->execve_nr = syscall_nr("execve");
	lc->execveat_nr = syscall_nr("execveat");
	syscall_args_build(lc->argmap);
	r = tracee_table_init(&lc->tracees);
	if (r < 0)
		return r;
	/* NULL when disabled; on ENOMEM storms are not counted (tracing goes on) */
	lc->storm = storm_new(lc);
	if (lc->durations)
		recorder_set_traced_threads(lc->recorder, 0);
	return 0;
}

void lifecycle_done(struct lifecycle *lc)
{
	/* open storms get their records while the recorder is still there */
	storm_free(lc->storm);
	lc->storm = NULL;
	tracee_table_done(&lc->tracees);
	ratelimit_free(&lc->ratelimit);
}

void lifecycle_warn(struct lifecycle *lc, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!lc->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	lc->warn(lc->warn_opaque, line);
}

/* --metrics-file: stallwatch_traced_threads (a plain store: the writer thread reads it) */
static void note_tracees(struct lifecycle *lc)
{
	if (lc->durations)
		recorder_set_traced_threads(lc->recorder, lc->tracees.count);
}

struct tracee *lifecycle_thread(struct lifecycle *lc, pid_t tid)
{
	struct tracee *t = tracee_find(&lc->tracees, tid);

	if (t)
		return t;
	t = tracee_add(&lc->tracees, tid);
	note_tracees(lc);
	return t;
}

void lifecycle_forget(struct lifecycle *lc, struct tracee *t)
{
	tracee_remove(&lc->tracees, t);
	note_tracees(lc);
}

static void ensure_timer(struct lifecycle *lc, uint64_t deadline_ns)
{
	lc->ensure_timer(lc->timer_opaque, deadline_ns);
}

/* ---- our own run-queue delay ------------------------------------------------ */

void lifecycle_sample_sched(struct lifecycle *lc, uint64_t now_ns)
{
	uint64_t run_delay;

	if (procinfo_run_delay_ns(lc->self_tid, &run_delay) < 0)
		return;
	lc->samples[lc->next_sample % LIFECYCLE_SCHED_SAMPLES].mono_ns = now_ns;
	lc->samples[lc->next_sample % LIFECYCLE_SCHED_SAMPLES].run_delay_ns = run_delay;
	lc->next_sample++;
}

/*
 * How long stallwatch itself sat on a run queue since (about) start_ns: an
 * upper bound of how much of a measured duration is our own scheduling delay
 * rather than the call's (doc/performance.md, "A bare tracer": a 1 us call
 * reads 15-20 us, and with both CPUs busy some read > 1 ms). Uses the newest
 * schedstat sample taken before start_ns; samples are taken at every timer
 * expiry and every crossing, never on the fast path. Returns false when it
 * cannot say (no base sample, schedstat unreadable): *ret_ns is then 0.
 */
static bool tracer_delay_since(struct lifecycle *lc, struct traced_call *call, uint64_t window_ns,
			       uint64_t now_ns, uint64_t *ret_ns)
{
	unsigned int newest = (lc->next_sample - 1) % LIFECYCLE_SCHED_SAMPLES;
	uint64_t run_delay, start_ns = call->start_ns;
	uint64_t base_mono = call->delay_base_mono_ns, base_delay = call->delay_base_run_ns;
	/* the base found at its crossing: a long call's later samples may have overwritten it */
	bool have_base = base_mono != 0;

	*ret_ns = 0;
	for (unsigned int i = 0;
	     !call->delay_base_mono_ns && i < LIFECYCLE_SCHED_SAMPLES && i < lc->next_sample; i++) {
		if (lc->samples[i].mono_ns <= start_ns &&
		    (!have_base || lc->samples[i].mono_ns > base_mono)) {
			base_mono = lc->samples[i].mono_ns;
			base_delay = lc->samples[i].run_delay_ns;
			have_base = true;
		}
	}
	if (have_base) {
		call->delay_base_mono_ns = base_mono;
		call->delay_base_run_ns = base_delay;
	}
	if (procinfo_run_delay_ns(lc->self_tid, &run_delay) < 0)
		return false;
	if (lc->next_sample == 0 || now_ns - lc->samples[newest].mono_ns > NSEC_PER_MSEC) {
		lc->samples[lc->next_sample % LIFECYCLE_SCHED_SAMPLES].mono_ns = now_ns;
		lc->samples[lc->next_sample % LIFECYCLE_SCHED_SAMPLES].run_delay_ns = run_delay;
		lc->next_sample++;
	}
	/*
	 * A sample much older than the call would charge it with delay from
	 * before it started and could hide a real stall: then correct nothing.
	 */
	if (!have_base || run_delay < base_delay || start_ns - base_mono > window_ns)
		return false;
	*ret_ns = run_delay - base_delay;
	return true;
}

/* ---- counting ----------------------------------------------------------------- */

/* --summary: every completed watched call, under the name the program used. */
static void count_call(struct lifecycle *lc, const struct traced_call *call, uint64_t duration_ns,
		       bool failed)
{
	if (call->name_nr >= 0)
		summary_add(lc->summary, POLICY_ABI_NATIVE, call->name_nr, duration_ns, failed);
	else if (call->abi_ok)
		summary_add(lc->summary, call->abi, call->index, duration_ns, failed);
}

/*
 * --metrics-file: every completed watched call in the duration histogram,
 * native ABI only (its names are static; compat calls still get records).
 */
static void observe_call(struct lifecycle *lc, const struct traced_call *call, uint64_t duration_ns)
{
	int index = call->name_nr >= 0 ? call->name_nr : call->native;

	if (index >= 0 && syscall_name(index))
		recorder_observe(lc->recorder, (size_t)index, syscall_name(index), duration_ns);
}

/* ---- the end of a call ------------------------------------------------------- */

/*
 * The call is over. END_SEEN_EXACT: lo_ns == hi_ns, the exit (ptrace); a
 * bracketed end is reported with its proven lower bound as the duration.
 */
static void finish_call_report(struct lifecycle *lc, struct tracee *t, const struct call_end *end,
			       bool has_ret, int64_t ret);

static void finish_call(struct lifecycle *lc, struct tracee *t, const struct call_end *end,
			bool has_ret, int64_t ret)
{
	finish_call_report(lc, t, end, has_ret, ret);
	/* its records are out: the /proc samples of a call that crossed (4 KiB) go */
	if (t->call.sampled) {
		free(t->proc_evidence);
		t->proc_evidence = NULL;
		t->call.sampled = false;
	}
}

static void finish_call_report(struct lifecycle *lc, struct tracee *t, const struct call_end *end,
			       bool has_ret, int64_t ret)
{
	const struct traced_call *call = &t->call;
	bool exact = end->seen == END_SEEN_EXACT;
	uint64_t lo_ns = end->lo_ns > call->start_ns ? end->lo_ns : call->start_ns;
	uint64_t duration_ns = lo_ns - call->start_ns, delay_ns = 0;
	/*
	 * bpf: both ends timed in the kernel, none of stallwatch's delay is in
	 * the duration. A bracketed end (notify): the lower bound runs from the
	 * notification to a moment the call was shown in flight, so our delay
	 * is in it only between taking the notification and answering it.
	 */
	bool delay_known = lc->timed_in_kernel || !exact;
	struct report_call rc = {
		.action = "slow-syscall",
		.event_ns = end->hi_ns,
		.has_ret = has_ret,
		.ret = ret,
		.seen = end->seen,
		.approximate = end->approximate || call->approximate,
	};

	/* entry_fd_path stays valid for the record below; the next entry resets it */
	t->call_state = CALL_NONE;
	lc->stats.calls++;
	/* a failed lookup for the ENOENT-storm detector (ptrace: the thread waits in its exit stop) */
	if (has_ret && exact && !t->pre_exec && !lc->enoent_in_kernel &&
	    storm_counts(lc->storm, call->native, ret))
		storm_failed_call(lc->storm, t, call->native, end->hi_ns);
	/*
	 * Without an exact end the time is not known: --summary counts the
	 * call with its lower bound marked (summary.h), the histogram skips it.
	 */
	if (lc->summary && t->reportable && !lc->bulk_counts)
		count_call(lc, call, exact ? duration_ns : SUMMARY_NO_DURATION,
			   has_ret && ret < 0 && ret >= -4095);
	if (lc->durations && t->reportable && exact && !lc->bulk_counts)
		observe_call(lc, call, duration_ns);
	if (!t->reportable || duration_ns < call->threshold_ns)
		return;
	if (exact) {
		if (!lc->timed_in_kernel)
			delay_known = tracer_delay_since(lc, &t->call, call->threshold_ns,
							 end->hi_ns, &delay_ns);
		if (delay_ns > duration_ns)
			delay_ns = duration_ns;
		/*
		 * Only our own scheduling delay could have pushed it over: not a
		 * stall of the program's. A call already reported stuck was really
		 * in flight that long, so its completion is always reported.
		 */
		if (!t->stuck_reported && duration_ns - delay_ns < call->threshold_ns) {
			lc->stats.suppressed++;
			recorder_set_suppressed(lc->recorder, lc->stats.suppressed);
			return;
		}
	} else {
		rc.has_duration_max = true;
		rc.duration_max_ns = end->hi_ns - call->start_ns;
	}
	rc.duration_ns = duration_ns;
	rc.eff_duration_ns = t->stuck_reported ? duration_ns : duration_ns - delay_ns;
	rc.sched_delay_ns = delay_ns;
	rc.sched_delay_known = delay_known;
	report_call(lc, t, &rc, NULL);
}

static void finish_exact(struct lifecycle *lc, struct tracee *t, uint64_t end_ns, bool has_ret,
			 int64_t ret)
{
	struct call_end end = { .lo_ns = end_ns, .hi_ns = end_ns, .seen = END_SEEN_EXACT };

	finish_call(lc, t, &end, has_ret, ret);
}

/*
 * Entries only: the thread died in its call (the backend knows: a fatal
 * signal). Its duration is unknown: counted, never reported (a crossing
 * was reported stuck when it was proven), as ptrace reports a death in a
 * call only as stuck.
 */
void lifecycle_died(struct lifecycle *lc, struct tracee *t)
{
	if (t->call_state == CALL_NONE)
		return;
	t->call_state = CALL_NONE;
	lc->stats.calls++;
	if (lc->summary && t->reportable && !lc->bulk_counts)
		count_call(lc, &t->call, SUMMARY_NO_DURATION, false);
}

static bool is_restart_code(int64_t rval)
{
	return rval == -ERESTARTSYS || rval == -ERESTARTNOINTR || rval == -ERESTARTNOHAND ||
	       rval == -ERESTART_RESTARTBLOCK;
}

/* Is this entry the kernel resuming the call that exited with a restart code? */
static bool is_restart_of(struct lifecycle *lc, const struct tracee *t, uint32_t arch,
			  const struct traced_call *next)
{
	if (arch != t->call.arch)
		return false;
	if (t->call.restart_code == -ERESTART_RESTARTBLOCK)
		return next->abi_ok && next->index == lc->restart_nr[next->abi];
	return next->nr == t->call.nr;
}

/* ---- entry -------------------------------------------------------------------- */

/* Native number of a compat call, mapped by name (slow path: allocates). */
static int compat_native(const struct traced_call *call)
{
	char *name = seccomp_syscall_resolve_num_arch(
		call->abi == POLICY_ABI_X86 ? SCMP_ARCH_X86 : SCMP_ARCH_X32, (int)call->nr);
	int nr;

	if (!name)
		return -1;
	nr = syscall_nr(name);
	free(name);
	return nr;
}

/* The threshold and deadline of t's call from now on, under the current policy. */
static void set_threshold(struct lifecycle *lc, struct traced_call *call)
{
	call->threshold_ns =
		call->name_nr >= 0 ?
			policy_threshold_ns(lc->policy, AUDIT_ARCH_X86_64, call->name_nr) :
			policy_threshold_ns(lc->policy, call->arch, call->nr);
	call->deadline_ns = call->threshold_ns == POLICY_UNWATCHED ?
				    UINT64_MAX :
				    call->start_ns + call->threshold_ns;
}

/*
 * A sleep interrupted by a handler resumes as restart_syscall; a blocked
 * read is simply re-entered. A call seen first right after an attach may
 * have started before it: its duration is a lower bound ("partial"), and a
 * resumed sleep is named by what /proc/TID/syscall showed at the seize.
 */
static void first_after_attach(struct lifecycle *lc, struct tracee *t)
{
	struct traced_call *call = &t->call;

	t->first_after_attach = false;
	if (!call->abi_ok)
		return;
	call->partial = call->index == lc->restart_nr[call->abi] ||
			(call->abi == POLICY_ABI_NATIVE && call->index == t->attach_syscall_nr);
	if (call->partial && call->abi == POLICY_ABI_NATIVE &&
	    call->index == lc->restart_nr[call->abi] && t->attach_syscall_nr >= 0) {
		/* and its rule: -e clock_nanosleep must catch the resumed sleep */
		call->name_nr = t->attach_syscall_nr;
		set_threshold(lc, call);
	}
}

/* t's call from now on is e (next: its ABI, already looked up). */
static void begin_call(struct lifecycle *lc, struct tracee *t, const struct call_entry *e,
		       const struct traced_call *next)
{
	struct traced_call *call = &t->call;

	*call = *next;
	memcpy(call->args, e->args, sizeof(call->args));
	call->pc = e->pc;
	call->native = !next->abi_ok		      ? -1 :
		       next->abi == POLICY_ABI_NATIVE ? next->index :
							compat_native(call);
	call->start_ns = e->ts_ns;
	call->proven_in_ns = e->ts_ns;
	call->pieces = e->pieces ? e->pieces : 1;
	call->partial = e->partial;
	call->name_nr = -1;
	call->wait = e->wait == CALL_WAIT_UNKNOWN ? -1 : e->wait == CALL_WAIT_YES;
	set_threshold(lc, call);
	if (t->first_after_attach)
		first_after_attach(lc, t);
	t->call_state = CALL_IN_FLIGHT;
	t->stuck_reported = false;
	t->stuck_cut = false;
	t->entry_fd_valid = false;
	t->probe.sample_ns = 0;
	t->reportable = !t->pre_exec && call->threshold_ns != POLICY_UNWATCHED;

	/* entries only: gone threads are looked for once a second (forget_gone) */
	if (lc->probe && lc->probe->alive)
		ensure_timer(lc, lc->swept_ns + NSEC_PER_SEC);
	/* -m 0 reports every call when it returns; "stuck at once" would only double it */
	if (t->reportable && call->threshold_ns > 0)
		ensure_timer(lc, call->deadline_ns);

	/* close/dup2/...: the fd is gone once the call ran, so its path is taken now */
	if (!lc->stopped_at_entry || !t->reportable || call->native < 0 ||
	    call->abi != POLICY_ABI_NATIVE ||
	    !(lc->argmap[call->native].flags & SYSCALL_FD_AT_ENTRY))
		return;
	if (!t->entry_fd_path)
		t->entry_fd_path = malloc(PROCINFO_PATH_MAX);
	if (t->entry_fd_path)
		t->entry_fd_valid =
			procinfo_fd_path(
				t->tid, (long)(int)call->args[(int)lc->argmap[call->native].fd_arg],
				t->entry_fd_path, PROCINFO_PATH_MAX) == 0;
}

/* A watched call entered: this is where timing starts (e->ts_ns). */
void lifecycle_entered(struct lifecycle *lc, struct tracee *t, const struct call_entry *e)
{
	struct traced_call *call = &t->call, next = { .arch = e->arch, .nr = e->nr };

	next.abi_ok = policy_abi_of(e->arch, e->nr, &next.abi, &next.index);
	if (lc->probe && t->call_state != CALL_NONE) {
		/* entries only: this entry says the thread's previous call is over */
		bool resumed = next.abi_ok && next.index == lc->restart_nr[next.abi];
		bool renotified = t->call_state == CALL_RESTART_PENDING && e->arch == call->arch &&
				  e->nr == call->nr && e->pc == call->pc &&
				  !memcmp(e->args, call->args, sizeof(e->args));

		if (resumed || renotified) {
			t->call_state = CALL_IN_FLIGHT;
			call->pieces++;
			return;
		}
		struct call_end end = { .lo_ns = call->proven_in_ns,
					.hi_ns = t->call_state == CALL_RESTART_PENDING ?
							 call->last_exit_ns :
							 e->ts_ns,
					.seen = END_SEEN_NEXT_CALL };

		finish_call(lc, t, &end, false, 0);
	}
	if (t->call_state == CALL_RESTART_PENDING) {
		if (is_restart_of(lc, t, e->arch, &next)) {
			t->call_state = CALL_IN_FLIGHT;
			call->pieces++;
			return;
		}
		if (!t->has_suspended && lc->probe == NULL) {
			/* a signal handler runs first; rt_sigreturn decides the call's fate */
			t->suspended = *call;
			t->suspended_reportable = t->reportable;
			t->suspended_stuck_reported = t->stuck_reported;
			t->suspended_stuck_cut = t->stuck_cut;
			t->has_suspended = true;
		} else
			/* nested interruptions: settle for "the program saw EINTR" */
			finish_exact(lc, t, call->last_exit_ns, true, -EINTR);
	}

	begin_call(lc, t, e, &next);
}

/*
 * A backend that times calls itself (bpf): a call it found still in flight
 * (a sweep), with its own start; nothing if t has that call already.
 */
void lifecycle_in_flight(struct lifecycle *lc, struct tracee *t, const struct call_entry *e)
{
	struct traced_call next = { .arch = e->arch, .nr = e->nr };

	if (t->call_state != CALL_NONE && t->call.start_ns == e->ts_ns)
		return;
	next.abi_ok = policy_abi_of(e->arch, e->nr, &next.abi, &next.index);
	begin_call(lc, t, e, &next);
}

/* ... and a call it timed to its end: start, end and result, exact. */
void lifecycle_completed(struct lifecycle *lc, struct tracee *t, const struct call_entry *e,
			 uint64_t end_ns, int64_t ret)
{
	lifecycle_in_flight(lc, t, e);
	t->call.given_path = e->path;
	finish_exact(lc, t, end_ns, true, ret);
	t->call.given_path = NULL;
}

/* ---- exit ----------------------------------------------------------------------- */

/*
 * The handler that interrupted a call returned. rt_sigreturn "returns" the
 * restored rax: -EINTR if the program sees the call fail, anything else if
 * the kernel re-executes it (SA_RESTART, arch/x86/kernel/signal.c).
 */
static void resume_suspended(struct lifecycle *lc, struct tracee *t, int64_t sigreturn_rval)
{
	t->call = t->suspended;
	t->reportable = t->suspended_reportable;
	t->stuck_reported = t->suspended_stuck_reported;
	t->stuck_cut = t->suspended_stuck_cut;
	t->has_suspended = false;
	t->call_state = CALL_RESTART_PENDING;
	if (sigreturn_rval == -EINTR)
		finish_exact(lc, t, t->call.last_exit_ns, true, -EINTR);
	else if (t->reportable && !t->stuck_reported && t->call.threshold_ns > 0 &&
		 t->call.deadline_ns != UINT64_MAX)
		ensure_timer(lc, t->call.deadline_ns);
}

/* The exact exit of a watched call: timing ends here. */
void lifecycle_exited(struct lifecycle *lc, struct tracee *t, uint64_t ts_ns, int64_t ret)
{
	if (t->call_state != CALL_IN_FLIGHT)
		return;
	if (is_restart_code(ret)) {
		/* interrupted; the kernel restarts it or the program sees EINTR */
		t->call_state = CALL_RESTART_PENDING;
		t->call.last_exit_ns = ts_ns;
		t->call.restart_code = ret;
		return;
	}
	/* a call sampled at its crossing: its figures at the exit, while the thread waits */
	if (t->call.sampled && lc->evidence && lc->evidence->sample)
		lc->evidence->sample(lc->evidence->opaque, t, SAMPLE_AT_EXIT, ts_ns);
	finish_exact(lc, t, ts_ns, true, ret);
	if (t->has_suspended && call_is(&t->call, lc->sigreturn_nr))
		resume_suspended(lc, t, ret);
}

void lifecycle_ended(struct lifecycle *lc, struct tracee *t, const struct call_end *end)
{
	if (t->call_state == CALL_NONE)
		return;
	finish_call(lc, t, end, false, 0);
}

void lifecycle_interrupted(struct lifecycle *lc, struct tracee *t, uint64_t ts_ns)
{
	(void)lc;
	if (t->call_state != CALL_IN_FLIGHT)
		return;
	t->call_state = CALL_RESTART_PENDING;
	t->call.last_exit_ns = ts_ns;
}

void lifecycle_all_ended(struct lifecycle *lc, uint64_t ts_ns)
{
	for (size_t i = 0; i < lc->tracees.capacity; i++) {
		struct tracee *t = tracee_at(&lc->tracees, i);
		struct call_end end = { .hi_ns = ts_ns,
					.seen = END_SEEN_THREAD_EXIT,
					.approximate = true };

		if (!t)
			continue;
		if (t->call_state != CALL_NONE) {
			end.lo_ns = t->call.proven_in_ns;
			finish_call(lc, t, &end, false, 0);
		}
		lifecycle_forget(lc, t);
	}
}

/* The thread is gone with a call in flight: never lose a call that crossed. */
void lifecycle_gone(struct lifecycle *lc, struct tracee *t, uint64_t ts_ns)
{
	uint64_t duration_ns = ts_ns - t->call.start_ns;
	bool exiting = call_is(&t->call, lc->exit_nr) || call_is(&t->call, lc->exit_group_nr);
	struct report_call rc = {
		.event_ns = ts_ns,
		.duration_ns = duration_ns,
		.eff_duration_ns = duration_ns,
		.seen = lc->probe ? END_SEEN_THREAD_EXIT : END_SEEN_EXACT,
	};

	if (t->call_state == CALL_NONE || !t->reportable || duration_ns < t->call.threshold_ns)
		goto out;
	if (exiting) {
		/* exit/exit_group end with the thread: its whole teardown is the call */
		rc.action = "slow-syscall";
		rc.note = "the thread exited";
		report_call(lc, t, &rc, NULL);
	} else if (!t->stuck_reported) {
		rc.action = "stuck-syscall";
		rc.note = "the thread died before the call returned";
		report_call(lc, t, &rc, NULL);
	}
out:
	t->call_state = CALL_NONE;
}

void lifecycle_exec_took_over(struct lifecycle *lc, struct tracee *t, struct tracee *former,
			      uint64_t ts_ns)
{
	/* The leader's own call never returns: it was superseded. */
	if (t->call_state != CALL_NONE && t->reportable && !t->stuck_reported &&
	    ts_ns - t->call.start_ns >= t->call.threshold_ns) {
		struct report_call rc = {
			.action = "stuck-syscall",
			.event_ns = ts_ns,
			.duration_ns = ts_ns - t->call.start_ns,
			.eff_duration_ns = ts_ns - t->call.start_ns,
			.note = "superseded by execve in another thread",
		};

		report_call(lc, t, &rc, NULL);
	}
	if (!former) {
		t->call_state = CALL_NONE;
		return;
	}
	t->call_state = former->call_state;
	t->call = former->call;
	t->reportable = former->reportable;
	t->stuck_reported = former->stuck_reported;
	t->stuck_cut = former->stuck_cut;
	t->pre_exec = former->pre_exec;
	t->entry_fd_valid = false;
	lifecycle_forget(lc, former);
}

/* ---- deadlines ------------------------------------------------------------------ */

static uint64_t poll_interval_ns(const struct traced_call *call)
{
	uint64_t ns = call->threshold_ns / 8;

	return ns < POLL_MIN_NS ? POLL_MIN_NS : ns > POLL_MAX_NS ? POLL_MAX_NS : ns;
}

/*
 * A backend that sees no exit, about a call past its deadline: is it still
 * in flight? Returns true when the caller should go on to the stuck
 * decision; otherwise the call ended (finished here) or the probe wants
 * another look (deadline moved).
 */
static bool probe_in_flight(struct lifecycle *lc, struct tracee *t, uint64_t now_ns)
{
	struct traced_call *call = &t->call;
	enum call_evidence evidence = EVIDENCE_NONE;
	enum call_end_seen seen = END_SEEN_PROC_SAMPLE;
	uint64_t again_ns = now_ns + poll_interval_ns(call);

	switch (lc->probe->ask(lc->probe->opaque, t, now_ns, &evidence, &seen, &again_ns)) {
	case INFLIGHT_YES:
	case INFLIGHT_LIKELY:
		call->proven_in_ns = now_ns;
		call->evidence = evidence;
		call->approximate |= evidence == EVIDENCE_CPU_TIME || evidence == EVIDENCE_STATE;
		return true;
	case INFLIGHT_NO: {
		struct call_end end = { .lo_ns = call->proven_in_ns,
					.hi_ns = now_ns,
					.seen = seen,
					.approximate = seen != END_SEEN_NEXT_CALL };

		finish_call(lc, t, &end, false, 0);
		if (seen == END_SEEN_THREAD_EXIT)
			lifecycle_forget(lc, t);
		return false;
	}
	case INFLIGHT_DIED:
		/*
		 * Never returned. When it died is not known, so no record
		 * claims a time: a crossing was reported stuck when proven.
		 */
		lifecycle_died(lc, t);
		lifecycle_forget(lc, t);
		return false;
	case INFLIGHT_UNSURE:
	default:
		call->deadline_ns = again_ns;
		return false;
	}
}

/* Timer expiry: report calls in flight past their deadline; re-arm for the next one. */
/*
 * Entries only: a thread that exits says nothing, and one whose last call
 * is not looked at (unwatched, or below its deadline forever) would stay
 * in the table. Once a second, threads whose calls no deadline looks at
 * are asked for; the gone are forgotten (a reused tid starts afresh).
 */
static uint64_t forget_gone(struct lifecycle *lc, uint64_t now_ns)
{
	if (!lc->probe || !lc->probe->alive)
		return UINT64_MAX;
	if (now_ns - lc->swept_ns >= NSEC_PER_SEC) {
		lc->swept_ns = now_ns;
		for (size_t i = 0; i < lc->tracees.capacity; i++) {
			struct tracee *t = tracee_at(&lc->tracees, i);

			if (!t || (t->call_state != CALL_NONE && t->reportable &&
				   t->call.deadline_ns != UINT64_MAX))
				continue;
			if (lc->probe->alive(lc->probe->opaque, t))
				continue;
			lifecycle_died(lc, t);
			lifecycle_forget(lc, t);
		}
	}
	return lc->tracees.count ? lc->swept_ns + NSEC_PER_SEC : UINT64_MAX;
}

void lifecycle_on_timer(struct lifecycle *lc, uint64_t now_ns)
{
	uint64_t next = forget_gone(lc, now_ns);

	if (lc->storm) {
		uint64_t due = storm_tick(lc->storm, now_ns);

		if (due < next)
			next = due;
	}

	lifecycle_sample_sched(lc, now_ns);
	for (size_t i = 0; i < lc->tracees.capacity; i++) {
		struct tracee *t = tracee_at(&lc->tracees, i);
		struct traced_call *call;

		if (!t || t->call_state == CALL_NONE || !t->reportable)
			continue;
		call = &t->call;
		if (call->threshold_ns == 0 || call->deadline_ns == UINT64_MAX ||
		    (t->stuck_reported && !lc->probe))
			continue;
		if (call->deadline_ns > now_ns) {
			if (call->deadline_ns < next)
				next = call->deadline_ns;
			continue;
		}
		if (lc->probe && !probe_in_flight(lc, t, now_ns)) {
			/* ended (and maybe forgotten), or to be looked at again */
			if (tracee_at(&lc->tracees, i) == t && t->call_state != CALL_NONE &&
			    call->deadline_ns < next)
				next = call->deadline_ns;
			continue;
		}
		if (t->stuck_reported) {
			/* bracketing the end of a stuck call (notify): look again soon */
			call->deadline_ns = now_ns + poll_interval_ns(call);
			/* its figures so far, for its slow record (not one its rate limit cut) */
			if (call->sampled && !t->stuck_cut && lc->evidence && lc->evidence->sample)
				lc->evidence->sample(lc->evidence->opaque, t, SAMPLE_STILL_IN, 0);
		} else {
			/* the threshold this deadline stands for (a rule's, not always the smallest) */
			uint64_t due = call->deadline_ns - call->start_ns, rule_next;
			uint64_t elapsed = now_ns - call->start_ns;
			/* a sweep late by our own delay still found it in the kernel's map */
			uint64_t delay = 0;
			bool delay_known = lc->timed_in_kernel ||
					   tracer_delay_since(lc, call, due, now_ns, &delay);
			struct report_call rc = { .action = "stuck-syscall",
						  .event_ns = call->deadline_ns,
						  .duration_ns = elapsed,
						  .in_flight_now = true };

			if (delay > elapsed)
				delay = elapsed;
			if (elapsed - delay < due) {
				/* our own run-queue wait made it look late: look again later */
				uint64_t again = now_ns + due - (elapsed - delay);

				if (again < next)
					next = again;
				continue;
			}
			rc.eff_duration_ns = elapsed - delay;
			rc.sched_delay_ns = delay;
			rc.sched_delay_known = delay_known;
			rc.approximate = call->approximate;
			if (report_call(lc, t, &rc, &rule_next)) {
				t->stuck_reported = true;
				if (!lc->probe)
					continue;
				call->deadline_ns = now_ns + poll_interval_ns(call);
			} else
				/* no rule fires yet (a path, target or higher threshold): look again then */
				call->deadline_ns = rule_next == POLICY_UNWATCHED ?
							    UINT64_MAX :
							    call->start_ns + rule_next;
		}
		if (call->deadline_ns < next)
			next = call->deadline_ns;
	}
	if (next != UINT64_MAX)
		ensure_timer(lc, next);
}

void lifecycle_set_policy(struct lifecycle *lc, const struct policy *policy)
{
	lc->policy = policy;
	ratelimit_reset(&lc->ratelimit);
	if (lc->storm && !policy->enoent.enabled) {
		storm_free(lc->storm); /* open storms reported with what they have */
		lc->storm = NULL;
	} else if (lc->storm)
		storm_set_policy(lc->storm);
	else
		lc->storm = storm_new(lc);
}
