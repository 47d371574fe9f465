/* SPDX-License-Identifier: MIT */
/*
 * latecall - one slow call some time after the exec, then optionally an
 * exec into another program (for `watch`, which picks processes up at exec).
 *
 *   latecall DELAY_MS SLEEP_MS [EXIT] [PROGRAM ARG...]
 *
 * Reports "pid PID" at once, then spins DELAY_MS on clock_gettime (the
 * vDSO: no syscall, so nothing a tracer sees before the slow one), makes
 * one nanosleep syscall of SLEEP_MS, reports "slept PID", and then either
 * execs PROGRAM with its arguments or exits with status EXIT (default 0).
 */
#include "helper.h"

int main(int argc, char **argv)
{
	long delay_ms, sleep_ms, status = 0;
	uint64_t until;

	h_ptracer_any();
	if (argc < 3) {
		fprintf(stderr, "usage: latecall DELAY_MS SLEEP_MS [EXIT] [PROGRAM ARG...]\n");
		return 2;
	}
	delay_ms = h_atol(argv[1], "DELAY_MS");
	sleep_ms = h_atol(argv[2], "SLEEP_MS");
	if (argc > 3 && argv[3][0] >= '0' && argv[3][0] <= '9')
		status = h_atol(argv[3], "EXIT");
	h_say("pid %d\n", getpid());
	until = h_now_ns() + (uint64_t)delay_ms * 1000000ULL;
	while (h_now_ns() < until)
		;
	h_nanosleep_ms(sleep_ms);
	h_say("slept %d\n", getpid());
	if (argc > 3 && !(argv[3][0] >= '0' && argv[3][0] <= '9')) {
		execv(argv[3], argv + 3);
		h_die(argv[3]);
	}
	return (int)status;
}
