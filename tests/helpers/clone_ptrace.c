/* SPDX-License-Identifier: MIT */
/*
 * clone_ptrace - a child made with clone(CLONE_PTRACE|SIGCHLD) must still
 * die of the SIGUSR1 its parent sends (doc/transparency.md, scenario 17): a tracer that keeps it
 * stopped, or swallows the signal, hangs this program.
 *
 *   clone_ptrace [OUT]
 *
 * Reports "child CPID", "status signaled N" and "sigchld_code C"; exits 0
 * only if the child died of SIGUSR1 and SIGCHLD said CLD_KILLED.
 */
#include "helper.h"

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

static volatile sig_atomic_t chld_code = -1;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	chld_code = si->si_code;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_chld, .sa_flags = SA_SIGINFO | SA_RESTART };
	int status;
	pid_t pid;

	h_ptracer_any();
	h_out_open(argc > 1 ? argv[1] : NULL);
	sigaction(SIGCHLD, &sa, NULL);
	pid = (pid_t)syscall(SYS_clone, CLONE_PTRACE | SIGCHLD, 0, NULL, NULL, 0);
	if (pid < 0)
		h_die("clone");
	if (pid == 0) {
		for (;;)
			pause();
	}
	h_say("child %d\n", pid);
	h_nanosleep_ms(100);
	if (kill(pid, SIGUSR1) < 0)
		h_die("kill");
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			h_die("waitpid");
	/* SIGCHLD may be delivered just after waitpid returns. */
	for (int i = 0; i < 100 && chld_code == -1; i++)
		h_nanosleep_ms(5);
	if (WIFSIGNALED(status))
		h_say("status signaled %d\n", WTERMSIG(status));
	else
		h_say("status exited %d\n", WEXITSTATUS(status));
	h_say("sigchld_code %d%s\n", (int)chld_code, chld_code == CLD_KILLED ? " CLD_KILLED" : "");
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGUSR1 || chld_code != CLD_KILLED)
		return 1;
	return 0;
}
