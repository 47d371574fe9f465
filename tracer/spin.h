/* SPDX-License-Identifier: MIT */
/*
 * spin.h - when the tracer may poll for the next stop instead of sleeping.
 *
 * On a VM, waking an idle vCPU is an IPI through the hypervisor: tens of us
 * per stop here (doc/performance.md). A tracer that polls wait4(WNOHANG) for
 * a few us before it sleeps catches the next stop of a syscall-dense tracee
 * without sleeping. But polling steals the CPU a busy tracee needs, so it is
 * allowed only while the machine has a CPU to spare: the number of runnable
 * tasks (/proc/loadavg, sampled at most every SPIN_GATE_NS) is at most the
 * number of online CPUs. And it is adaptive, like a mutex's optimistic spin:
 * after SPIN_FAILS_MAX spins in a row that found nothing, only every
 * SPIN_PROBE_EVERY-th wait spins.
 *
 * The loop itself (wait4 + sched_yield) is the tracer's (tracer/loop.c);
 * this module only decides.
 */
#ifndef SW_TRACER_SPIN_H
#define SW_TRACER_SPIN_H

#include <stdbool.h>
#include <stdint.h>

#define SPIN_NS (20ULL * 1000) /* the longest poll before sleeping */
#define SPIN_GATE_NS (10ULL * 1000 * 1000) /* how long a loadavg reading holds */
#define SPIN_FAILS_MAX 8
#define SPIN_PROBE_EVERY 64

struct spin {
	bool enabled; /* more than one CPU allowed, /proc/loadavg readable, not turned off */
	int loadavg_fd; /* /proc/loadavg (O_CLOEXEC), -1 when disabled */
	unsigned int online_cpus;
	uint64_t gate_until_ns; /* the last reading's verdict holds until then */
	bool gate_open;
	unsigned int fails, probe;
	uint64_t spins, gate_reads; /* for the curious (tests) */
};

/* Never fails: when spinning cannot help or cannot be judged, it is disabled.
 * $STALLWATCH_NO_SPIN disables it (benchmarks compare both). */
void spin_init(struct spin *s);
void spin_done(struct spin *s);

/* Spin before this wait? Reads /proc/loadavg at most every SPIN_GATE_NS. */
bool spin_should(struct spin *s, uint64_t now_ns);

/* What the spin found: a stop (true) or nothing before SPIN_NS (false). */
void spin_result(struct spin *s, bool found);

/* The runnable-task count of a /proc/loadavg line ("0.1 0.2 0.3 R/T L"). */
int spin_parse_running(const char *loadavg, unsigned int *ret_running);

/* The gate's rule: a CPU to spare when runnable tasks (we are one) <= CPUs. */
static inline bool spin_gate_rule(unsigned int running, unsigned int online_cpus)
{
	return running <= online_cpus;
}

#endif
