/* SPDX-License-Identifier: MIT */
/*
 * fastcalls - N getppid syscalls in a row (none of them slow).
 *
 *   fastcalls N [OUT]
 *
 * Reports "pid PID" and "getppid N total_ns NS".
 */
#include "helper.h"

int main(int argc, char **argv)
{
	uint64_t t0, t1;
	long n, i, bad = 0;

	h_ptracer_any();
	if (argc < 2) {
		fprintf(stderr, "usage: fastcalls N [OUT]\n");
		return 2;
	}
	n = h_atol(argv[1], "N");
	h_out_open(argc > 2 ? argv[2] : NULL);
	h_say("pid %d\n", getpid());
	t0 = h_now_ns();
	for (i = 0; i < n; i++)
		if (syscall(SYS_getppid) < 0)
			bad++;
	t1 = h_now_ns();
	h_say("getppid %ld total_ns %llu bad %ld\n", n, (unsigned long long)(t1 - t0), bad);
	return bad ? 1 : 0;
}
