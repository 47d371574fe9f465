/* SPDX-License-Identifier: MIT */
/*
 * killchild - fork a child that spins on sched_yield, SIGKILL it, reap
 * it; N times (doc/transparency.md, scenario 20).
 *
 *   killchild N [OUT]
 *
 * Reports "pid PID", then "loops N bad B" (B: children not reported as
 * killed by SIGKILL). Exits 0 if B is 0.
 */
#include "helper.h"

#include <sched.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	long n, i, bad = 0;
	int status;
	pid_t pid;

	h_ptracer_any();
	if (argc < 2) {
		fprintf(stderr, "usage: killchild N [OUT]\n");
		return 2;
	}
	n = h_atol(argv[1], "N");
	h_out_open(argc > 2 ? argv[2] : NULL);
	h_say("pid %d\n", getpid());
	for (i = 0; i < n; i++) {
		pid = fork();
		if (pid < 0)
			h_die("fork");
		if (pid == 0) {
			for (;;)
				sched_yield();
		}
		if (i & 1)
			sched_yield();
		if (kill(pid, SIGKILL) < 0)
			h_die("kill");
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				h_die("waitpid");
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			bad++;
	}
	h_say("loops %ld bad %ld\n", n, bad);
	return bad ? 1 : 0;
}
