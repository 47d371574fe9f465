/* SPDX-License-Identifier: MIT */
/*
 * slowcalls - N nanosleep calls of US microseconds each, in a burst.
 *
 *   slowcalls N US [GATE AT]
 *
 * With GATE and AT: after the AT-th call, wait (polling with access(2),
 * which is not a nanosleep, every 1 ms) until the file GATE exists, so a
 * test can change the world (free a full disk, rotate a log) between the
 * two parts of the burst; "waiting AT" says it got there. Prints "done N elapsed_ns NS" at the end (the
 * burst's own wall time, for bench/run.sh).
 */
#include "helper.h"

int main(int argc, char **argv)
{
	long n, us, at = -1;
	const char *gate = NULL;
	uint64_t t0;

	h_ptracer_any();
	if (argc != 3 && argc != 5) {
		fprintf(stderr, "usage: slowcalls N US [GATE AT]\n");
		return 2;
	}
	n = h_atol(argv[1], "N");
	us = h_atol(argv[2], "US");
	if (argc == 5) {
		gate = argv[3];
		at = h_atol(argv[4], "AT");
	}
	/* $SLOWCALLS_START: wait for that file first (a test attaches before the burst) */
	if (getenv("SLOWCALLS_START")) {
		struct timespec ms = { .tv_nsec = 1000000 };

		h_say("ready\n");
		while (access(getenv("SLOWCALLS_START"), F_OK) != 0)
			clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, NULL);
	}
	t0 = h_now_ns();
	for (long i = 0; i < n; i++) {
		struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };

		if (syscall(SYS_nanosleep, &ts, NULL) != 0)
			h_die("nanosleep");
		if (gate && i + 1 == at) {
			struct timespec ms = { .tv_nsec = 1000000 };

			h_say("waiting %ld\n", at);
			while (access(gate, F_OK) != 0)
				/* clock_nanosleep: not the nanosleep the test counts */
				clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, NULL);
		}
	}
	h_say("done %ld elapsed_ns %llu\n", n, (unsigned long long)(h_now_ns() - t0));
	return 0;
}
