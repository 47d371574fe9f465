/* SPDX-License-Identifier: MIT */
/* Stop classification from synthetic wait statuses (ptrace(2) "Stopped states"). */
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "tracer/stop.h"
#include "unit.h"

/* status word of a stopped tracee: (event << 16) | (sig << 8) | 0x7f */
#define STOPPED(sig, event) ((((event) << 16) | ((sig) << 8) | 0x7f))

static int classify(int status, int *sig, int *event)
{
	return stop_classify(status, sig, event);
}

static int test_exit_and_death(void)
{
	int sig, event;

	CHECK(classify(7 << 8, &sig, &event) == STOP_EXITED && sig == 7);
	CHECK(classify(SIGKILL, &sig, &event) == STOP_KILLED && sig == SIGKILL);
	CHECK(classify(SIGSEGV | 0x80, &sig, &event) == STOP_KILLED && sig == SIGSEGV); /* core */
	return 0;
}

static int test_syscall_and_seccomp(void)
{
	int sig, event;

	CHECK(classify(STOPPED(SIGTRAP | 0x80, 0), &sig, &event) == STOP_SYSCALL);
	CHECK(classify(STOPPED(SIGTRAP, PTRACE_EVENT_SECCOMP), &sig, &event) == STOP_SECCOMP);
	CHECK(event == PTRACE_EVENT_SECCOMP);
	return 0;
}

static int test_events(void)
{
	int sig, event;

	CHECK(classify(STOPPED(SIGTRAP, PTRACE_EVENT_CLONE), &sig, &event) == STOP_NEW_TASK);
	CHECK(classify(STOPPED(SIGTRAP, PTRACE_EVENT_FORK), &sig, &event) == STOP_NEW_TASK);
	CHECK(classify(STOPPED(SIGTRAP, PTRACE_EVENT_VFORK), &sig, &event) == STOP_NEW_TASK);
	CHECK(classify(STOPPED(SIGTRAP, PTRACE_EVENT_EXEC), &sig, &event) == STOP_EXEC);
	CHECK(classify(STOPPED(SIGTRAP, PTRACE_EVENT_EXIT), &sig, &event) == STOP_EVENT_OTHER);
	CHECK(classify(STOPPED(SIGTRAP, PTRACE_EVENT_VFORK_DONE), &sig, &event) ==
	      STOP_EVENT_OTHER);
	return 0;
}

static int test_group_stop_vs_trap(void)
{
	int sig, event;

	/* SEIZE reports group-stops as PTRACE_EVENT_STOP with the stop signal: LISTEN */
	CHECK(classify(STOPPED(SIGSTOP, PTRACE_EVENT_STOP), &sig, &event) == STOP_GROUP);
	CHECK(classify(STOPPED(SIGTSTP, PTRACE_EVENT_STOP), &sig, &event) == STOP_GROUP);
	CHECK(classify(STOPPED(SIGTTIN, PTRACE_EVENT_STOP), &sig, &event) == STOP_GROUP);
	CHECK(classify(STOPPED(SIGTTOU, PTRACE_EVENT_STOP), &sig, &event) == STOP_GROUP);
	/* interrupt, new child's first stop, re-trap after SIGCONT: restart with 0 */
	CHECK(classify(STOPPED(SIGTRAP, PTRACE_EVENT_STOP), &sig, &event) == STOP_TRAP);
	return 0;
}

static int test_signal_delivery(void)
{
	int sig, event;

	/* without an event, any signal (even SIGSTOP or SIGTRAP) is a delivery: re-inject */
	CHECK(classify(STOPPED(SIGSTOP, 0), &sig, &event) == STOP_SIGNAL && sig == SIGSTOP);
	CHECK(classify(STOPPED(SIGUSR1, 0), &sig, &event) == STOP_SIGNAL && sig == SIGUSR1);
	CHECK(classify(STOPPED(SIGTRAP, 0), &sig, &event) == STOP_SIGNAL && sig == SIGTRAP);
	CHECK(classify(STOPPED(SIGRTMIN + 1, 0), &sig, &event) == STOP_SIGNAL);
	return 0;
}

static int test_names(void)
{
	CHECK_STR(stop_kind_name(STOP_GROUP), "group-stop");
	CHECK_STR(stop_kind_name((enum stop_kind)99), "unknown");
	return 0;
}

UNIT_MAIN(TEST(test_exit_and_death), TEST(test_syscall_and_seccomp), TEST(test_events),
	  TEST(test_group_stop_vs_trap), TEST(test_signal_delivery), TEST(test_names))
