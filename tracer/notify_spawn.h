/* SPDX-License-Identifier: MIT */
/*
 * notify_spawn.h - start the command under the notify backend's filter.
 *
 * The parent builds the filter (tracer/filter.h) and forks. The child loads it
 * with a listener (tracer/unotify.h), hands the listener to the parent over a
 * socketpair with SCM_RIGHTS, in the one sendmsg() the filter exempts, closes
 * its copy, changes uid for -u, sets its parent-death signal and execs
 * (spawn_child_exec(), shared with the ptrace backend). From the hand-off on,
 * the parent must answer the child's watched calls, the close(), the uid
 * change and the execve among them.
 *
 * Signals: the caller's signal mask and dispositions reach the command
 * untouched. Nothing here changes them before the fork; after it, the
 * parent alone resets SIGCHLD to SIG_DFL (so the command cannot be reaped
 * behind its back), as spawn_traced() does.
 *
 * Death of stallwatch: a listener gone makes every pending and later watched
 * call fail with ENOSYS, and nothing like PTRACE_O_EXITKILL exists for
 * seccomp. So the command gets PR_SET_PDEATHSIG SIGKILL: it dies with the
 * thread that forked it (prctl(2): the signal follows the death of that
 * thread, not of the process; call this from the thread that serves the
 * listener). Its descendants cannot be protected that way (the setting is
 * cleared in a fork's child, and an exec of a set-user-ID, set-group-ID or
 * file-capability program clears it too): if stallwatch dies, they live on
 * and their watched calls fail with ENOSYS.
 */
#ifndef SW_TRACER_NOTIFY_SPAWN_H
#define SW_TRACER_NOTIFY_SPAWN_H

#include <sys/types.h>

#include "../common/error.h"
#include "../policy/syscall_set.h"
#include "spawn.h"
#include "tracer.h"

struct notify_child {
	pid_t pid; /* the command (our child; reap it with waitpid) */
	int listener_fd; /* seccomp listener, O_CLOEXEC: serve with tracer/unotify.h */
	int fail_fd; /* read end of the CLOEXEC failure pipe: spawn_failure after the hand-off */
	int pidfd; /* pidfd_open(pid): polls readable once the command exited */
	/* a failure the child reported before the hand-off (notify_spawn() < 0) */
	struct spawn_failure failure;
};

/*
 * Fork the command under a notify filter watching the syscalls of watch. On
 * success (0) every fd of *ret is open and the command waits in its first
 * watched call at the latest. Returns -errno otherwise; nothing runs then
 * (the child was reaped). When the child's load failed, ret->failure is
 * { SPAWN_STAGE_SECCOMP, errno } and the return value is that -errno:
 *   -EBUSY   stallwatch runs under a filter with a listener of its own
 *            (e.g. a nested `stallwatch run --backend=notify`);
 *   -EINVAL  the kernel does not know SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
 *            (Linux < 5.19).
 * ret->failure.stage is 0 for a failure of the parent's own steps.
 */
int notify_spawn(const struct tracer_run_options *opts, const struct syscall_set *watch,
		 struct notify_child *ret, struct sw_error *err);

/* Close the fds of c (neither kills nor reaps the command). */
void notify_child_close(struct notify_child *c);

#endif
