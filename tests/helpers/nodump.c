/* SPDX-License-Identifier: MIT */
/*
 * nodump - a non-dumpable process that sleeps: its /proc/PID/syscall needs
 * CAP_SYS_PTRACE to read (fs/proc/base.c, proc_pid_syscall() checks
 * PTRACE_MODE_ATTACH_FSCREDS; kernel/ptrace.c refuses a non-dumpable task).
 *
 *   nodump MS [OUT]
 *
 * Reports "pid PID" and then "nanosleep NS" (the raw nanosleep syscall).
 */
#include "helper.h"

int main(int argc, char **argv)
{
	uint64_t t0;

	if (argc < 2) {
		fprintf(stderr, "usage: nodump MS [OUT]\n");
		return 2;
	}
	h_out_open(argc > 2 ? argv[2] : "-");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		h_die("PR_SET_DUMPABLE");
	h_say("pid %d\n", (int)getpid());
	t0 = h_now_ns();
	h_nanosleep_ms(h_atol(argv[1], "MS"));
	h_say("nanosleep %llu\n", (unsigned long long)(h_now_ns() - t0));
	return 0;
}
