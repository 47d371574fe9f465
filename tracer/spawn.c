/* SPDX-License-Identifier: MIT */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/macro.h"

_Noreturn void spawn_child_fail(int fd, int stage, int err)
{
	struct spawn_failure f = { .stage = stage, .err = err };
	ssize_t _unused_ n = write(fd, &f, sizeof(f));

	_exit(stage == SPAWN_STAGE_EXEC ? (err == ENOENT ? 127 : 126) : 125);
}

void spawn_parent_reset_sigchld(void)
{
	/*
	 * The command inherited the caller's SIGCHLD disposition; we need the
	 * default: with SIG_IGN the kernel would reap the command for us and
	 * its exit status would be lost.
	 */
	sigaction(SIGCHLD, &(struct sigaction){ .sa_handler = SIG_DFL }, NULL);
}

/* Runs in the forked child: only async-signal-safe work plus seccomp_load(). */
static _Noreturn void child_main(const struct tracer_run_options *opts, scmp_filter_ctx filter,
				 int fail_fd)
{
	sigset_t caller_mask, mask;
	int r;

	/*
	 * Wait to be seized. SIGCONT is unblocked for the stop so that the
	 * tracer's SIGCONT is delivered (and suppressed by the tracer) here,
	 * instead of staying pending into the command when the caller blocked it.
	 */
	sigprocmask(SIG_SETMASK, NULL, &caller_mask);
	mask = caller_mask;
	sigdelset(&mask, SIGCONT);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	kill(getpid(), SIGSTOP);
	sigprocmask(SIG_SETMASK, &caller_mask, NULL);

	/*
	 * The filter goes in while we still hold CAP_SYS_ADMIN (loading it
	 * without no_new_privs needs it), so before the uid change.
	 */
	r = seccomp_load(filter);
	if (r < 0)
		spawn_child_fail(fail_fd, SPAWN_STAGE_SECCOMP, -r);
	spawn_child_exec(opts, fail_fd, 0);
}

_Noreturn void spawn_child_exec(const struct tracer_run_options *opts, int fail_fd,
				pid_t deathsig_parent)
{
	if (opts->as_user) {
		if (setgroups((size_t)opts->n_groups, opts->groups) < 0 ||
		    setresgid(opts->gid, opts->gid, opts->gid) < 0 ||
		    setresuid(opts->uid, opts->uid, opts->uid) < 0)
			spawn_child_fail(fail_fd, SPAWN_STAGE_CREDS, errno);
	}
	/*
	 * After the uid change, which clears the parent-death signal
	 * (prctl(2)). If the parent died before this, no signal will come:
	 * die as it would have made us. Without a supervisor a watched kill()
	 * fails with ENOSYS, hence the exit behind it.
	 */
	if (deathsig_parent > 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
			spawn_child_fail(fail_fd, SPAWN_STAGE_LISTENER, errno);
		if (getppid() != deathsig_parent) {
			kill(getpid(), SIGKILL);
			spawn_child_fail(fail_fd, SPAWN_STAGE_LISTENER, ESRCH);
		}
	}
	execv(opts->exec_path, opts->argv);
	if (errno == ENOEXEC) {
		/* like execvp(3): a file without #! runs under /bin/sh */
		size_t argc = 0;

		while (opts->argv[argc])
			argc++;
		char *sh_argv[argc + 2];

		sh_argv[0] = (char *)"/bin/sh";
		sh_argv[1] = (char *)opts->exec_path;
		for (size_t i = 1; i <= argc; i++)
			sh_argv[i + 1] = opts->argv[i];
		execv("/bin/sh", sh_argv);
	}
	spawn_child_fail(fail_fd, SPAWN_STAGE_EXEC, errno);
}

int spawn_traced(const struct tracer_run_options *opts, scmp_filter_ctx filter, pid_t *ret_pid,
		 int *ret_fail_fd, struct sw_error *err)
{
	int pipefd[2], status;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return sw_error_set(err, -errno, "pipe");
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		close(pipefd[0]);
		close(pipefd[1]);
		return sw_error_set(err, r, "fork");
	}
	if (pid == 0) {
		close(pipefd[0]);
		child_main(opts, filter, pipefd[1]);
	}
	close(pipefd[1]);
	spawn_parent_reset_sigchld();

	while (waitpid(pid, &status, WUNTRACED) < 0) {
		if (errno != EINTR) {
			int r = -errno;

			close(pipefd[0]);
			return sw_error_set(err, r, "waiting for the command to stop");
		}
	}
	if (!WIFSTOPPED(status)) {
		close(pipefd[0]);
		return sw_error_set(err, -ECHILD, "the command died before it could be traced");
	}
	/*
	 * SEIZE, not ATTACH: no SIGSTOP of ours is ever queued, and the
	 * options apply atomically, so children seized automatically inherit
	 * them. EXITKILL: with the seccomp filter in place, the command cannot
	 * survive us (its watched calls would get ENOSYS), so it dies with us.
	 */
	if (ptrace(PTRACE_SEIZE, pid, 0, (void *)(long)SPAWN_PTRACE_OPTIONS) < 0) {
		int r = -errno;

		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		close(pipefd[0]);
		return sw_error_set(err, r, "PTRACE_SEIZE of the command (pid %d)", pid);
	}
	kill(pid, SIGCONT);
	*ret_pid = pid;
	*ret_fail_fd = pipefd[0];
	return 0;
}
