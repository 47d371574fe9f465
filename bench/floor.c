/* SPDX-License-Identifier: MIT */
/*
 * floor.c - our minimal seccomp+ptrace loop: the floor stallwatch is held
 * to. Watches getppid only (SCMP_ACT_TRACE), times seccomp stop -> exit
 * stop with PTRACE_GET_SYSCALL_INFO at both, follows threads, re-injects
 * signals. Nothing else: no records, no timer, no signal handling.
 * usage: floor [-p] COMMAND [ARG...]
 *   -p  wait like a poll() loop would: WNOHANG, then poll() on a signalfd for
 *       SIGCHLD. Shows what that wake-up path costs per stop (tracer/run.c).
 */
#include <seccomp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <poll.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACESECCOMP | PTRACE_O_TRACECLONE |
		    PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_EXITKILL;
	struct __ptrace_syscall_info info;
	long long calls = 0;
	int status, rc = 0, sfd = -1;
	bool use_poll = argc > 1 && strcmp(argv[1], "-p") == 0;
	pid_t child;

	if (use_poll) {
		argv++;
		argc--;
	}
	if (argc < 2)
		return 2;
	child = fork();
	if (child == 0) {
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

		kill(getpid(), SIGSTOP);
		seccomp_rule_add(ctx, SCMP_ACT_TRACE(0), SCMP_SYS(getppid), 0);
		if (seccomp_load(ctx) < 0)
			_exit(125);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	waitpid(child, &status, WUNTRACED);
	ptrace(PTRACE_SEIZE, child, 0, (void *)opts);
	kill(child, SIGCONT);
	if (use_poll) {
		sigset_t chld;

		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		sigprocmask(SIG_BLOCK, &chld, NULL);
		sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	}
	for (;;) {
		pid_t pid = waitpid(-1, &status, __WALL | (use_poll ? WNOHANG : 0));
		struct timespec ts;
		int sig = 0;

		if (pid == 0) {
			struct pollfd pfd = { .fd = sfd, .events = POLLIN };
			struct signalfd_siginfo si[8];

			poll(&pfd, 1, -1);
			if (read(sfd, si, sizeof(si)) < 0)
				continue;
			continue;
		}
		if (pid < 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (pid == child)
				rc = WIFEXITED(status) ? WEXITSTATUS(status) :
							 128 + WTERMSIG(status);
			continue;
		}
		if (status >> 16 == PTRACE_EVENT_SECCOMP) {
			ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof(info), &info);
			ptrace(PTRACE_SYSCALL, pid, 0, 0);
			continue;
		}
		if (WSTOPSIG(status) == (SIGTRAP | 0x80)) {
			ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof(info), &info);
			calls++;
		} else if (status >> 16 == PTRACE_EVENT_STOP) {
			if (WSTOPSIG(status) != SIGTRAP) {
				ptrace(PTRACE_LISTEN, pid, 0, 0);
				continue;
			}
		} else if (!(status >> 16) &&
			   !(pid == child && WSTOPSIG(status) == SIGCONT && !calls))
			sig = WSTOPSIG(status);
		ptrace(PTRACE_CONT, pid, 0, (void *)(long)sig);
	}
	fprintf(stderr, "floor: %lld calls\n", calls);
	return rc;
}
