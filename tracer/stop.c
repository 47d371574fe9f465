/* SPDX-License-Identifier: MIT */
#include "stop.h"

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

static int is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

enum stop_kind stop_classify(int status, int *ret_sig, int *ret_event)
{
	int sig, event;

	*ret_sig = 0;
	*ret_event = 0;
	if (WIFEXITED(status)) {
		*ret_sig = WEXITSTATUS(status);
		return STOP_EXITED;
	}
	if (WIFSIGNALED(status)) {
		*ret_sig = WTERMSIG(status);
		return STOP_KILLED;
	}
	if (!WIFSTOPPED(status))
		return STOP_UNKNOWN;

	sig = WSTOPSIG(status);
	event = (unsigned int)status >> 16;
	*ret_sig = sig;
	*ret_event = event;
	if (sig == (SIGTRAP | 0x80))
		return STOP_SYSCALL;
	switch (event) {
	case 0:
		return STOP_SIGNAL;
	case PTRACE_EVENT_SECCOMP:
		return STOP_SECCOMP;
	case PTRACE_EVENT_CLONE:
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
		return STOP_NEW_TASK;
	case PTRACE_EVENT_EXEC:
		return STOP_EXEC;
	case PTRACE_EVENT_STOP:
		return is_stop_signal(sig) ? STOP_GROUP : STOP_TRAP;
	default:
		return STOP_EVENT_OTHER;
	}
}

const char *stop_kind_name(enum stop_kind kind)
{
	static const char *const names[] = {
		[STOP_EXITED] = "exited",     [STOP_KILLED] = "killed",
		[STOP_SYSCALL] = "syscall",   [STOP_SECCOMP] = "seccomp",
		[STOP_NEW_TASK] = "new-task", [STOP_EXEC] = "exec",
		[STOP_EVENT_OTHER] = "event", [STOP_GROUP] = "group-stop",
		[STOP_TRAP] = "trap",	      [STOP_SIGNAL] = "signal",
		[STOP_UNKNOWN] = "unknown",
	};

	if ((unsigned int)kind >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[kind];
}
