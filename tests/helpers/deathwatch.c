/* SPDX-License-Identifier: MIT */
/*
 * deathwatch - a parent and its child, for what happens to a command when
 * the stallwatch that watches it dies.
 *
 *   deathwatch OUT
 *
 * The parent reports "pid PID" and waits in pause(2) for ever. Its child
 * reports "child PID" and calls getppid(2) (the raw syscall) every 10 ms for
 * up to 20 s; the first call that fails is reported as "getppid errno E" and
 * the child exits 0 (exit 3 if none failed in time).
 */
#include "helper.h"

int main(int argc, char **argv)
{
	uint64_t deadline;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: deathwatch OUT\n");
		return 2;
	}
	h_out_open(argv[1]);
	pid = fork();
	if (pid < 0)
		h_die("fork");
	if (pid > 0) {
		h_say("pid %d\n", (int)getpid());
		for (;;)
			pause();
	}
	h_say("child %d\n", (int)getpid());
	deadline = h_now_ns() + 20ULL * 1000000000ULL;
	while (h_now_ns() < deadline) {
		if (syscall(SYS_getppid) < 0) {
			h_say("getppid errno %d\n", errno);
			return 0;
		}
		h_nanosleep_ms(10);
	}
	return 3;
}
