/* SPDX-License-Identifier: MIT */
/*
 * mtcount - a multithreaded program that keeps making progress, for
 * group-stop tests (doc/transparency.md, scenario 4).
 *
 *   mtcount FLAGFILE TIMEOUT_MS NTHREADS [OUT]
 *
 * Starts NTHREADS threads; they and the main thread loop on 5 ms
 * nanosleeps (below the default threshold), each bumping a counter. A
 * handler counts SIGCONT and SIGUSR1. Reports "ready PID" once every
 * thread runs, then "thread TID" per thread; when FLAGFILE exists (or
 * TIMEOUT_MS passed) reports "CONT n USR1 n loops n timeout 0|1" and exits
 * 0 (3 on timeout).
 */
#include "helper.h"

#include <pthread.h>
#include <stdatomic.h>

static volatile sig_atomic_t conts, usr1s;
static atomic_long loops;
static atomic_int started;
static atomic_int stop;

static void on_sig(int sig)
{
	if (sig == SIGCONT)
		conts++;
	else
		usr1s++;
}

static void *worker(void *arg)
{
	(void)arg;
	h_say("thread %d\n", (int)gettid());
	atomic_fetch_add(&started, 1);
	while (!atomic_load(&stop)) {
		h_nanosleep_ms(5);
		atomic_fetch_add(&loops, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_sig };
	pthread_t tids[64];
	long n, i;
	int timed_out;

	h_ptracer_any();
	if (argc < 4) {
		fprintf(stderr, "usage: mtcount FLAGFILE TIMEOUT_MS NTHREADS [OUT]\n");
		return 2;
	}
	n = h_atol(argv[3], "NTHREADS");
	if (n > 64) {
		fprintf(stderr, "NTHREADS must be 0..64\n");
		return 2;
	}
	h_out_open(argc > 4 ? argv[4] : NULL);
	sigaction(SIGCONT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	for (i = 0; i < n; i++)
		if ((errno = pthread_create(&tids[i], NULL, worker, NULL)))
			h_die("pthread_create");
	while (atomic_load(&started) < n)
		h_nanosleep_ms(1);
	h_say("ready %d\n", getpid());
	timed_out = h_wait_file(argv[1], h_atol(argv[2], "TIMEOUT_MS")) < 0;
	atomic_store(&stop, 1);
	for (i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	h_say("CONT %d USR1 %d loops %ld timeout %d\n", (int)conts, (int)usr1s, atomic_load(&loops),
	      timed_out);
	return timed_out ? 3 : 0;
}
