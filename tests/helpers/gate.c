/* SPDX-License-Identifier: MIT */
/*
 * gate - wait for a flag file, then exec a command: a test attaches to the
 * gate's pid first, so everything the command does happens under attach.
 *
 *   gate FLAG TIMEOUT_MS CMD [ARG...]
 *
 * Polls for FLAG with 5 ms nanosleeps; execs CMD (with PATH search) as
 * soon as it exists. Exits 3 if FLAG did not appear within TIMEOUT_MS,
 * 127 if CMD could not be run.
 */
#include "helper.h"

int main(int argc, char **argv)
{
	h_ptracer_any();
	if (argc < 4) {
		fprintf(stderr, "usage: gate FLAG TIMEOUT_MS CMD [ARG...]\n");
		return 2;
	}
	if (h_wait_file(argv[1], h_atol(argv[2], "TIMEOUT_MS")) < 0)
		return 3;
	execvp(argv[3], argv + 3);
	h_die(argv[3]);
	return 127;
}
