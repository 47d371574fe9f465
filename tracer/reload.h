/* SPDX-License-Identifier: MIT */
/*
 * reload.h - SIGHUP's policy load, off the event loop.
 *
 * Loading a big policy takes a while (100 000 rules: about a second); done
 * on the tracing thread it held every traced thread that stopped meanwhile
 * (a 9.98 s gap in the traced program, measured with 100k rules). Instead a loader thread
 * is started for each load and ends with it: the tracing thread keeps
 * serving stops, and takes the result at its next pass through the event
 * loop (a safe point: between two events, never inside one). No thread
 * exists while no load runs (doc/performance.md: an idle extra thread slows
 * tracing), and the loader never makes a ptrace request.
 *
 * A SIGHUP while a load runs is not lost: once this load is taken, one more
 * starts (several such SIGHUPs make one load), so the policy read last is
 * never older than the last SIGHUP.
 */
#ifndef SW_TRACER_RELOAD_H
#define SW_TRACER_RELOAD_H

#include <pthread.h>
#include <stdbool.h>

#include "../policy/policy.h"

struct reloader {
	/* on the loader thread: the new policy, or NULL to keep the current one */
	struct policy *(*build)(void *opaque);
	void *opaque;
	/* on the loader thread, once its result is ready: wake the tracing thread */
	void (*wake)(void *opaque);
	void *wake_opaque;
	/* private */
	pthread_t thread;
	bool running; /* a loader thread exists (until joined) */
	bool again; /* SIGHUP during the load: one more load after it */
	int done; /* __atomic: the loader has set result and is ending */
	struct policy *result;
};

/*
 * SIGHUP: start a loader thread, or, while one runs, ask for one more load
 * after it. Returns 0, or -errno when no thread could be started (nothing
 * changes: the current policy stays).
 */
int reloader_request(struct reloader *rl);

/* Has a load finished? Cheap: the event loop asks it at every wake-up with signals. */
static inline bool reloader_ready(const struct reloader *rl)
{
	return rl->running && __atomic_load_n(&rl->done, __ATOMIC_ACQUIRE);
}

/*
 * After reloader_ready(): join the loader and hand over its result (NULL:
 * keep the current policy). *ret_again is true when a SIGHUP came during
 * the load: the caller requests the next load once it took this one.
 */
struct policy *reloader_take(struct reloader *rl, bool *ret_again);

/*
 * The tracer is ending: a loader still running is cancelled (pthread_cancel:
 * a load blocked opening or reading its file ends at once, what it had
 * allocated is left to the exit) and joined. Returns the policy of a load
 * that had finished but was never used (the caller frees it), or NULL.
 */
struct policy *reloader_finish(struct reloader *rl);

#endif
