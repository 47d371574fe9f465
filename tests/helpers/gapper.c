/* SPDX-License-Identifier: MIT */
/*
 * gapper - a loop of 1 ms nanosleep calls that measures its own longest gap
 * between two iterations: a tracer that holds the thread at a stop (a
 * reload done on the event loop) shows up as one long gap.
 *
 *   gapper OUT STOP
 *
 * Says "ready" after the first iteration, then loops until the file STOP
 * exists, and ends with "gap_max_ns NS iterations N" (the longest time
 * from the start of one iteration to the start of the next).
 */
#include "helper.h"

int main(int argc, char **argv)
{
	uint64_t prev, max = 0;
	long n = 0;

	h_ptracer_any();
	if (argc != 3) {
		fprintf(stderr, "usage: gapper OUT STOP\n");
		return 2;
	}
	h_out_open(argv[1]);
	prev = h_now_ns();
	for (;;) {
		uint64_t now;

		if (h_nanosleep_ms(1) != 0)
			h_die("nanosleep");
		now = h_now_ns();
		if (now - prev > max)
			max = now - prev;
		prev = now;
		if (++n == 1)
			h_say("ready\n");
		/* every 8th iteration: access(2) is not the nanosleep being watched */
		if (n % 8 == 0 && access(argv[2], F_OK) == 0)
			break;
	}
	h_say("gap_max_ns %llu iterations %ld\n", (unsigned long long)max, n);
	return 0;
}
