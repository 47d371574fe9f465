/* SPDX-License-Identifier: MIT */
/*
 * clone_untraced - a child made with clone(CLONE_UNTRACED|SIGCHLD) calls
 * getppid (doc/transparency.md, scenario 34). Untraced it succeeds; under a seccomp RET_TRACE
 * filter the child has the filter but no tracer, so a watched call fails
 * with ENOSYS.
 *
 *   clone_untraced [OUT]
 *
 * The child reports "child getppid ret R errno NAME" (if it still can
 * write) and exits with the errno (0 on success); the parent reports
 * "child exited N" or "child signaled N".
 */
#include "helper.h"

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	int status;
	pid_t pid;

	h_ptracer_any();
	h_out_open(argc > 1 ? argv[1] : NULL);
	pid = (pid_t)syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, NULL, NULL, 0);
	if (pid < 0)
		h_die("clone");
	if (pid == 0) {
		long r;
		int e;

		errno = 0;
		r = syscall(SYS_getppid);
		e = r < 0 ? errno : 0;
		h_say("child getppid ret %ld errno %s\n", r, e ? strerrorname_np(e) : "0");
		_exit(e);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			h_die("waitpid");
	if (WIFEXITED(status))
		h_say("child exited %d\n", WEXITSTATUS(status));
	else
		h_say("child signaled %d\n", WTERMSIG(status));
	return 0;
}
