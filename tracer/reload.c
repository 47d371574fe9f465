/* SPDX-License-Identifier: MIT */
#include "reload.h"

#include <errno.h>
#include <signal.h>

#include "../common/thread.h"

static void *loader_main(void *arg)
{
	struct reloader *rl = arg;

	rl->result = rl->build(rl->opaque);
	/* release: the tracing thread that sees done sees result too */
	__atomic_store_n(&rl->done, 1, __ATOMIC_RELEASE);
	if (rl->wake)
		rl->wake(rl->wake_opaque);
	return NULL;
}

int reloader_request(struct reloader *rl)
{
	int r;

	if (rl->running) {
		rl->again = true; /* coalesced: one more load when this one is taken */
		return 0;
	}
	rl->result = NULL;
	__atomic_store_n(&rl->done, 0, __ATOMIC_RELAXED);
	r = sw_thread_create_quiet(&rl->thread, loader_main, rl);
	if (r < 0)
		return r;
	rl->running = true;
	return 0;
}

struct policy *reloader_take(struct reloader *rl, bool *ret_again)
{
	struct policy *np;

	*ret_again = false;
	if (!rl->running)
		return NULL;
	pthread_join(rl->thread, NULL);
	rl->running = false;
	np = rl->result;
	rl->result = NULL;
	*ret_again = rl->again;
	rl->again = false;
	return np;
}

struct policy *reloader_finish(struct reloader *rl)
{
	void *status = NULL;
	struct policy *np;

	if (!rl->running)
		return NULL;
	/*
	 * Its policy would never be used: end the load where it waits (a
	 * policy file that is a FIFO nobody writes would block us forever);
	 * a load that is computing ends at its next cancellation point or
	 * when done.
	 */
	if (!__atomic_load_n(&rl->done, __ATOMIC_ACQUIRE))
		pthread_cancel(rl->thread);
	pthread_join(rl->thread, &status);
	rl->running = false;
	rl->again = false;
	np = status == PTHREAD_CANCELED ? NULL : rl->result;
	rl->result = NULL;
	return np;
}
