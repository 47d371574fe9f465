/* SPDX-License-Identifier: MIT */
/*
 * forkexec - fork; the child waits for the parent, then execs the sleeper
 * helper (found next to this binary); the parent reaps it (doc/transparency.md, scenario 13).
 *
 *   forkexec MS [OUT]
 *
 * Reports "parent PID child CPID" before the exec, the sleeper's own lines
 * (same OUT) and "reaped CPID status STATUS wait_ns NS".
 */
#include "helper.h"

#include <libgen.h>
#include <limits.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	char exe[PATH_MAX], sleeper[PATH_MAX + 16];
	uint64_t t0, t1;
	int p[2], status;
	ssize_t n;
	pid_t pid;
	char c;

	h_ptracer_any();
	if (argc < 2) {
		fprintf(stderr, "usage: forkexec MS [OUT]\n");
		return 2;
	}
	h_out_open(argc > 2 ? argv[2] : NULL);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		h_die("readlink");
	exe[n] = '\0';
	snprintf(sleeper, sizeof(sleeper), "%s/sleeper", dirname(exe));
	if (pipe2(p, O_CLOEXEC) < 0)
		h_die("pipe");
	pid = fork();
	if (pid < 0)
		h_die("fork");
	if (pid == 0) {
		close(p[1]);
		if (read(p[0], &c, 1) < 0)
			_exit(120);
		execl(sleeper, "sleeper", argv[1], argc > 2 ? argv[2] : "-", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	h_say("parent %d child %d\n", getpid(), pid);
	close(p[1]);
	t0 = h_now_ns();
	if (waitpid(pid, &status, 0) < 0)
		h_die("waitpid");
	t1 = h_now_ns();
	h_say("reaped %d status %d wait_ns %llu\n", pid, status, (unsigned long long)(t1 - t0));
	return status == 0 ? 0 : 1;
}
