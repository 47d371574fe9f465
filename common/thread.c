/* SPDX-License-Identifier: MIT */
#include "thread.h"

#include <signal.h>

int sw_thread_create_quiet(pthread_t *ret, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int r;

	/* the new thread inherits the mask it is created under */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(ret, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -r;
}
