/* SPDX-License-Identifier: MIT */
/*
 * execafter - one nanosleep of a known length, then an exec.
 *
 *   execafter MS PROG [ARG...]
 *
 * `watch` tests: a process that a selector takes (by this program's name)
 * makes a slow call, then becomes a program the selector refuses.
 */
#include "helper.h"

int main(int argc, char **argv)
{
	h_ptracer_any();
	if (argc < 3) {
		fprintf(stderr, "usage: execafter MS PROG [ARG...]\n");
		return 2;
	}
	h_nanosleep_ms(h_atol(argv[1], "MS"));
	execv(argv[2], argv + 2);
	perror("execafter: execv");
	return 127;
}
