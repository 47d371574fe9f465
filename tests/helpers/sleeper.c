/* SPDX-License-Identifier: MIT */
/*
 * sleeper - one nanosleep syscall of a known length.
 *
 *   sleeper MS [OUT]
 *
 * Reports "pid PID" before the call (so a test can find and kill it) and
 * "nanosleep NS ret R" after it, NS being the call's own measured length.
 */
#include "helper.h"

int main(int argc, char **argv)
{
	uint64_t t0, t1;
	long ms, r;

	h_ptracer_any();
	if (argc < 2) {
		fprintf(stderr, "usage: sleeper MS [OUT]\n");
		return 2;
	}
	ms = h_atol(argv[1], "MS");
	h_out_open(argc > 2 ? argv[2] : NULL);
	h_say("pid %d\n", getpid());
	t0 = h_now_ns();
	r = h_nanosleep_ms(ms);
	t1 = h_now_ns();
	h_say("nanosleep %llu ret %ld\n", (unsigned long long)(t1 - t0), r);
	return r ? 1 : 0;
}
