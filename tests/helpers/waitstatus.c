/* SPDX-License-Identifier: MIT */
/*
 * waitstatus - run a command and say exactly how it ended: "exited N" or
 * "signaled N" (plus " core" if it dumped core), so a test can tell a
 * wrapper that dies by SIGTERM from one that exits 143 (doc/transparency.md, scenario 24).
 *
 *   waitstatus [-t SECONDS] [-o OUT] CMD [ARG...]
 *
 * With -t, a command still running after SECONDS is SIGKILLed and the line
 * is "timeout". The command gets waitstatus's own signal state unchanged
 * (SIGCHLD's disposition included), like a well-behaved wrapper.
 */
#include "helper.h"

#include <signal.h>
#include <sys/wait.h>

static void on_alarm(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = SIG_DFL }, old_chld;
	int opt, status, timeout = 0, timed_out = 0;
	pid_t pid;

	h_ptracer_any();
	while ((opt = getopt(argc, argv, "+t:o:")) != -1) {
		if (opt == 't')
			timeout = (int)h_atol(optarg, "SECONDS");
		else if (opt == 'o')
			h_out_open(optarg);
		else
			return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: waitstatus [-t SECONDS] [-o OUT] CMD [ARG...]\n");
		return 2;
	}
	/* SIG_IGN for SIGCHLD would make waitpid() useless: keep it for the child only. */
	sigaction(SIGCHLD, &sa, &old_chld);
	pid = fork();
	if (pid < 0)
		h_die("fork");
	if (pid == 0) {
		sigaction(SIGCHLD, &old_chld, NULL);
		if (h_out_fd != STDOUT_FILENO)
			close(h_out_fd);
		execvp(argv[optind], argv + optind);
		_exit(errno == ENOENT ? 127 : 126);
	}
	if (timeout) {
		sa.sa_handler = on_alarm;
		sigaction(SIGALRM, &sa, NULL);
		alarm((unsigned int)timeout);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			h_die("waitpid");
		if (!timed_out) {
			timed_out = 1;
			kill(pid, SIGKILL);
		}
	}
	if (timed_out)
		h_say("timeout\n");
	else if (WIFEXITED(status))
		h_say("exited %d\n", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		h_say("signaled %d%s\n", WTERMSIG(status), WCOREDUMP(status) ? " core" : "");
	return timed_out ? 1 : 0;
}
