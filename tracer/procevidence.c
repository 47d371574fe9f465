/* SPDX-License-Identifier: MIT */
/*
 * procevidence.c - stallwatch.evidence from /proc (procevidence.h).
 */
#include "procevidence.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/timeutil.h"
#include "procinfo.h"

struct sched_sample {
	uint64_t mono_ns; /* 0: none */
	struct proc_schedstat ss;
};

/* One thread's samples of its call in flight (tracee.proc_evidence). */
struct proc_evidence {
	uint64_t call_start_ns; /* the call they are of (traced_call.start_ns) */
	struct sched_sample first, last;
	/* state, wchan, stack at the latest crossing (known: STATE/WCHAN/STACK bits) */
	struct record_evidence detail;
};

/* t's samples, fresh for its current call; NULL on ENOMEM. */
static struct proc_evidence *of_call(struct tracee *t)
{
	struct proc_evidence *pe = t->proc_evidence;

	if (!pe) {
		pe = t->proc_evidence = malloc(sizeof(*pe));
		if (!pe)
			return NULL;
		pe->call_start_ns = t->call.start_ns + 1; /* reset below */
	}
	if (pe->call_start_ns != t->call.start_ns) {
		pe->call_start_ns = t->call.start_ns;
		pe->first.mono_ns = pe->last.mono_ns = 0;
		pe->detail.known = 0;
	}
	return pe;
}

static void take_sched(pid_t tid, uint64_t ts_ns, struct sched_sample *ret)
{
	struct proc_schedstat ss;

	if (procinfo_schedstat(tid, &ss) < 0)
		return;
	ret->ss = ss;
	/* a running thread's figures are as of now (a tick behind at most) */
	ret->mono_ns = ts_ns ? ts_ns : sw_mono_ns();
}

/*
 * Where the thread is now: state, wchan, and the stack of a thread that
 * is not running. A thread in a tracing stop ('t') is not in its call but
 * at its exit stop, not yet collected (ptrace): nothing of that is said.
 */
static void take_detail(pid_t tid, struct record_evidence *e)
{
	uint64_t utime, stime;
	int n;

	e->known = 0;
	e->n_frames = 0;
	e->stack_from = NULL;
	e->stack_unavailable = NULL;
	e->wchan[0] = 0;
	if (procinfo_thread_stat(tid, &e->state, &utime, &stime) < 0 || !e->state ||
	    e->state == 't' || e->state == 'Z' || e->state == 'X')
		return;
	e->known |= RECORD_EVIDENCE_STATE;
	/* "0" while it runs (fs/proc/base.c, proc_pid_wchan()) */
	if (procinfo_wchan(tid, e->wchan, sizeof(e->wchan)) == 0 && e->wchan[0] &&
	    strcmp(e->wchan, "0") != 0)
		e->known |= RECORD_EVIDENCE_WCHAN;
	else
		e->wchan[0] = 0;
	/*
	 * The kernel walks the stack of a task that is not running only: one
	 * on another CPU gives no frames (arch/x86/kernel/unwind_orc.c,
	 * __unwind_start()); it may also have woken since its state was read.
	 */
	n = e->state == 'R' ?
		    0 :
		    procinfo_kernel_stack(tid, &e->frames[0][0], RECORD_EVIDENCE_FRAME_LEN,
					  RECORD_EVIDENCE_FRAMES);
	if (n > 0) {
		e->n_frames = (size_t)n;
		e->stack_from = RECORD_STACK_PROC;
		e->known |= RECORD_EVIDENCE_STACK;
	} else if (n == 0) {
		e->stack_unavailable = RECORD_STACK_RUNNING;
		e->known |= RECORD_EVIDENCE_STACK;
	} else if (n == -EACCES || n == -EPERM) {
		e->stack_unavailable = RECORD_STACK_NOT_PERMITTED;
		e->known |= RECORD_EVIDENCE_STACK;
	}
}

static void pe_sample(void *opaque, struct tracee *t, enum evidence_moment moment, uint64_t ts_ns)
{
	struct proc_evidence *pe = of_call(t);
	struct sched_sample s = { 0 };

	(void)opaque;
	if (!pe)
		return;
	if (moment == SAMPLE_AT_CROSSING)
		take_detail(t->tid, &pe->detail);
	else if (!pe->first.mono_ns)
		return; /* a later figure without a first one says nothing */
	take_sched(t->tid, moment == SAMPLE_AT_EXIT ? ts_ns : 0, &s);
	if (!s.mono_ns)
		return;
	if (!pe->first.mono_ns)
		pe->first = s;
	else if (s.mono_ns > pe->last.mono_ns)
		pe->last = s;
}

/*
 * The times between the first sample and the last. Each figure can be off
 * by a tick of a thread running at a sample (procinfo.h): the sum is kept
 * within the window, the on-CPU figure giving way.
 */
static void fill_times(const struct proc_evidence *pe, struct record_evidence *e)
{
	uint64_t window, on_cpu, runq;

	if (!pe->first.mono_ns || pe->last.mono_ns <= pe->first.mono_ns ||
	    pe->last.ss.on_cpu_ns < pe->first.ss.on_cpu_ns ||
	    pe->last.ss.run_delay_ns < pe->first.ss.run_delay_ns)
		return;
	window = pe->last.mono_ns - pe->first.mono_ns;
	on_cpu = pe->last.ss.on_cpu_ns - pe->first.ss.on_cpu_ns;
	runq = pe->last.ss.run_delay_ns - pe->first.ss.run_delay_ns;
	if (runq > window)
		runq = window;
	if (on_cpu > window - runq)
		on_cpu = window - runq;
	e->known |= RECORD_EVIDENCE_TIMES | RECORD_EVIDENCE_WINDOW | RECORD_EVIDENCE_NO_BLOCKS;
	e->on_cpu_ns = on_cpu;
	e->runq_ns = runq;
	e->blocked_ns = window - on_cpu - runq;
	e->window_ns = window;
}

static bool pe_fill(void *opaque, const struct tracee *t, bool in_flight, uint64_t now_ns,
		    struct record_evidence *e)
{
	const struct proc_evidence *pe = t->proc_evidence;

	(void)opaque;
	(void)in_flight;
	(void)now_ns;
	if (!pe || !t->call.sampled || pe->call_start_ns != t->call.start_ns)
		return false;
	*e = pe->detail;
	fill_times(pe, e);
	return e->known != 0;
}

const struct evidence_source procevidence_source = {
	.fill = pe_fill,
	.sample = pe_sample,
};
