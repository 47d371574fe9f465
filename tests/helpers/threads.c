/* SPDX-License-Identifier: MIT */
/*
 * threads - N threads, each one nanosleep syscall of MS ms.
 *
 *   threads N MS [OUT]
 *
 * Reports "pid PID" and one "thread TID NS" line per thread.
 */
#include "helper.h"

#include <pthread.h>

static long sleep_ms;

static void *worker(void *arg)
{
	uint64_t t0, t1;
	long r;

	(void)arg;
	t0 = h_now_ns();
	r = h_nanosleep_ms(sleep_ms);
	t1 = h_now_ns();
	h_say("thread %ld %llu ret %ld\n", (long)gettid(), (unsigned long long)(t1 - t0), r);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t tids[64];
	long n, i;

	h_ptracer_any();
	if (argc < 3) {
		fprintf(stderr, "usage: threads N MS [OUT]\n");
		return 2;
	}
	n = h_atol(argv[1], "N");
	sleep_ms = h_atol(argv[2], "MS");
	if (n < 1 || n > 64) {
		fprintf(stderr, "N must be 1..64\n");
		return 2;
	}
	h_out_open(argc > 3 ? argv[3] : NULL);
	h_say("pid %d\n", getpid());
	for (i = 0; i < n; i++) {
		errno = pthread_create(&tids[i], NULL, worker, NULL);
		if (errno)
			h_die("pthread_create");
	}
	for (i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	return 0;
}
