/* SPDX-License-Identifier: MIT */
/*
 * loopthreads - N threads looping on getuid; the main thread _exit(0)s
 * while they are mid-syscall (doc/transparency.md, scenario 22: fairness under attach).
 *
 *   loopthreads N FLAGFILE LINGER_MS TIMEOUT_MS [OUT]
 *
 * Reports "ready PID" once every thread loops. Waits for FLAGFILE (5 ms
 * nanosleeps), then LINGER_MS more (5 ms nanosleeps, so the main thread
 * needs its share of the tracer), reports "exiting" and calls _exit(0).
 * Exits 3 if FLAGFILE did not appear within TIMEOUT_MS.
 */
#include "helper.h"

#include <pthread.h>
#include <stdatomic.h>

static atomic_int started;

static void *looper(void *arg)
{
	(void)arg;
	atomic_fetch_add(&started, 1);
	for (;;)
		syscall(SYS_getuid);
	return NULL;
}

int main(int argc, char **argv)
{
	long n, i;
	uint64_t end;
	pthread_t t;

	h_ptracer_any();
	if (argc < 5) {
		fprintf(stderr, "usage: loopthreads N FLAGFILE LINGER_MS TIMEOUT_MS [OUT]\n");
		return 2;
	}
	n = h_atol(argv[1], "N");
	h_out_open(argc > 5 ? argv[5] : NULL);
	for (i = 0; i < n; i++)
		if ((errno = pthread_create(&t, NULL, looper, NULL)))
			h_die("pthread_create");
	while (atomic_load(&started) < n)
		h_nanosleep_ms(1);
	h_say("ready %d\n", getpid());
	if (h_wait_file(argv[2], h_atol(argv[4], "TIMEOUT_MS")) < 0)
		_exit(3);
	end = h_now_ns() + (uint64_t)h_atol(argv[3], "LINGER_MS") * 1000000ULL;
	while (h_now_ns() < end)
		h_nanosleep_ms(5);
	h_say("exiting\n");
	_exit(0);
}
