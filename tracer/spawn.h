/* SPDX-License-Identifier: MIT */
/*
 * spawn.h - start the command under ptrace with the seccomp filter.
 *
 * The child stops itself (SIGSTOP); the parent PTRACE_SEIZEs it with every
 * option in the same call and sends SIGCONT; the child then loads the filter
 * (its last step but the uid change and execve) and execs. The caller's
 * signal mask and dispositions reach the command untouched: nothing in
 * stallwatch changes them before this fork.
 */
#ifndef SW_TRACER_SPAWN_H
#define SW_TRACER_SPAWN_H

#include <seccomp.h>
#include <sys/types.h>

#include "tracer.h"

/* What the child reports through its CLOEXEC pipe when it cannot exec. */
enum spawn_stage {
	SPAWN_STAGE_SECCOMP = 1,
	SPAWN_STAGE_CREDS = 2,
	SPAWN_STAGE_EXEC = 3,
	/* notify backend: handing the listener over, or the parent-death signal */
	SPAWN_STAGE_LISTENER = 4,
};

struct spawn_failure {
	int stage;
	int err; /* errno */
};

#define SPAWN_PTRACE_OPTIONS                                                                       \
	(PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACESECCOMP | PTRACE_O_TRACECLONE |                     \
	 PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL)

/*
 * Fork and seize. On success *ret_pid is the command (seized, SIGCONT
 * sent) and *ret_fail_fd the read end of the failure pipe.
 */
int spawn_traced(const struct tracer_run_options *opts, scmp_filter_ctx filter, pid_t *ret_pid,
		 int *ret_fail_fd, struct sw_error *err);

/*
 * The child's last steps, the same for every backend (it runs between fork
 * and exec: syscalls only): the -u uid change, then, when deathsig_parent is
 * not 0, PR_SET_PDEATHSIG SIGKILL (the uid change would clear it), then
 * execve (ENOEXEC: under /bin/sh, like execvp(3)). A failure goes up the
 * CLOEXEC pipe fail_fd as a struct spawn_failure and the child exits: 127
 * for a missing command, 126 for another exec failure, 125 before that.
 */
_Noreturn void spawn_child_exec(const struct tracer_run_options *opts, int fail_fd,
				pid_t deathsig_parent);
_Noreturn void spawn_child_fail(int fail_fd, int stage, int err);

/* In the parent after the fork: SIGCHLD back to SIG_DFL (see spawn.c). */
void spawn_parent_reset_sigchld(void);

#endif
