/* SPDX-License-Identifier: MIT */
/*
 * jobwatch - a real parent that reports every stop and continue of its
 * child, like a job-control shell (doc/transparency.md, scenario 4).
 *
 *   jobwatch OUT CMD [ARG...]
 *
 * Forks and execs CMD, then loops on waitpid(WUNTRACED | WCONTINUED),
 * reporting "stopped SIG", "continued" and at last "exited N" or
 * "signaled N". Exits with the child's status (or 128+N).
 */
#include "helper.h"

#include <sys/wait.h>

int main(int argc, char **argv)
{
	int status;
	pid_t pid;

	h_ptracer_any();
	if (argc < 3) {
		fprintf(stderr, "usage: jobwatch OUT CMD [ARG...]\n");
		return 2;
	}
	h_out_open(argv[1]);
	pid = fork();
	if (pid < 0)
		h_die("fork");
	if (pid == 0) {
		close(h_out_fd);
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	for (;;) {
		if (waitpid(pid, &status, WUNTRACED | WCONTINUED) < 0) {
			if (errno == EINTR)
				continue;
			h_die("waitpid");
		}
		if (WIFSTOPPED(status)) {
			h_say("stopped %d\n", WSTOPSIG(status));
		} else if (WIFCONTINUED(status)) {
			h_say("continued\n");
		} else if (WIFEXITED(status)) {
			h_say("exited %d\n", WEXITSTATUS(status));
			return WEXITSTATUS(status);
		} else {
			h_say("signaled %d\n", WTERMSIG(status));
			return 128 + WTERMSIG(status);
		}
	}
}
