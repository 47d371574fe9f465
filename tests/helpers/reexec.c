/* SPDX-License-Identifier: MIT */
/*
 * reexec - execs itself in a tight loop, forever (doc/transparency.md, scenario 12).
 *
 *   reexec [OUT]
 *
 * The first image reports "pid PID"; every image makes one getppid call
 * and execs /proc/self/exe again. Exits only when killed (or 1 if exec
 * fails).
 */
#include "helper.h"

int main(int argc, char **argv)
{
	char *args[] = { argv[0], argc > 1 ? argv[1] : (char *)"-", (char *)"again", NULL };

	h_ptracer_any();
	if (argc < 3) {
		h_out_open(argc > 1 ? argv[1] : NULL);
		h_say("pid %d\n", getpid());
		if (h_out_fd != STDOUT_FILENO)
			close(h_out_fd);
	}
	syscall(SYS_getppid);
	execv("/proc/self/exe", args);
	h_die("execv");
	return 1;
}
