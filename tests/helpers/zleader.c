/* SPDX-License-Identifier: MIT */
/*
 * zleader - the thread-group leader leaves with pthread_exit() and stays
 * a zombie while a worker lives on (doc/transparency.md, scenario 11).
 *
 *   zleader MS CODE [OUT]
 *
 * Reports "pid PID" and "worker TID"; the worker sleeps MS ms (5 ms
 * nanosleeps), reports "exiting CODE" and calls exit(CODE).
 */
#include "helper.h"

#include <pthread.h>

static long ms, code;

static void *worker(void *arg)
{
	uint64_t end = h_now_ns() + (uint64_t)ms * 1000000ULL;

	(void)arg;
	h_say("worker %d\n", (int)gettid());
	while (h_now_ns() < end)
		h_nanosleep_ms(5);
	h_say("exiting %ld\n", code);
	exit((int)code);
}

int main(int argc, char **argv)
{
	pthread_t t;

	h_ptracer_any();
	if (argc < 3) {
		fprintf(stderr, "usage: zleader MS CODE [OUT]\n");
		return 2;
	}
	ms = h_atol(argv[1], "MS");
	code = h_atol(argv[2], "CODE");
	h_out_open(argc > 3 ? argv[3] : NULL);
	h_say("pid %d\n", getpid());
	if ((errno = pthread_create(&t, NULL, worker, NULL)))
		h_die("pthread_create");
	pthread_exit(NULL);
}
