/* SPDX-License-Identifier: MIT */
/*
 * floor.c - our minimal seccomp+ptrace loop: the floor stallwatch is held
 * to. The child installs a filter that sends the watched syscalls to the
 * tracer (SCMP_ACT_TRACE) and allows everything else, then execs COMMAND.
 * Per watched call the tracer does exactly: seccomp stop -> timestamp ->
 * PTRACE_GET_SYSCALL_INFO -> PTRACE_SYSCALL -> exit stop -> timestamp ->
 * PTRACE_GET_SYSCALL_INFO -> PTRACE_CONT. It follows threads and children and
 * re-injects signals. Nothing else: no decoding, no records, no timer, no
 * signal handling.
 *
 * usage: floor [-p] [-n] [-v] [-e SYSCALL[,SYSCALL...]] COMMAND [ARG...]
 *   -e LIST  the watched set (default getppid). A set the command never calls
 *            (e.g. -e nanosleep) gives the "filter only" cell: same tracer,
 *            same kind of filter, nothing stops.
 *   -n       no tracer: install the same filter and exec COMMAND directly
 *            (watched calls would fail with ENOSYS, so use a set COMMAND never
 *            calls): the cost of the seccomp filter by itself.
 *   -p       wait like a poll() loop would: WNOHANG, then poll() on a signalfd
 *            for SIGCHLD. Shows what that wake-up path costs per stop.
 *   -v       at the end, print to stderr: calls=N mean_ns=M (mean seccomp
 *            stop -> exit stop time the tracer saw: what it would report)
 * Exit status: COMMAND's (128 + signal if it was killed).
 */
#define _GNU_SOURCE
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* entry timestamp per task, direct-mapped by pid (a few tasks at a time here) */
#define SLOTS 4096
static long long entry_ns[SLOTS];

static long long ts_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static scmp_filter_ctx build_filter(char *list)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

	for (char *name = strtok(list, ","); ctx && name; name = strtok(NULL, ",")) {
		int nr = seccomp_syscall_resolve_name(name);

		if (nr == __NR_SCMP_ERROR || seccomp_rule_add(ctx, SCMP_ACT_TRACE(0), nr, 0) < 0) {
			fprintf(stderr, "floor: bad syscall `%s`\n", name);
			seccomp_release(ctx);
			return NULL;
		}
	}
	return ctx;
}

int main(int argc, char **argv)
{
	long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACESECCOMP | PTRACE_O_TRACECLONE |
		    PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_EXITKILL;
	struct __ptrace_syscall_info info;
	char default_set[] = "getppid", *set = default_set;
	bool use_poll = false, no_tracer = false, verbose = false, cont_seen = false;
	long long calls = 0, sum_ns = 0;
	int status, rc = 0, sfd = -1, opt;
	scmp_filter_ctx ctx;
	pid_t child;

	while ((opt = getopt(argc, argv, "+e:npv")) != -1) {
		switch (opt) {
		case 'e':
			set = optarg;
			break;
		case 'n':
			no_tracer = true;
			break;
		case 'p':
			use_poll = true;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			return 2;
		}
	}
	if (optind >= argc)
		return 2;
	argv += optind;
	ctx = build_filter(set);
	if (!ctx)
		return 2;
	if (no_tracer) {
		if (seccomp_load(ctx) < 0)
			return 125;
		execvp(argv[0], argv);
		return 127;
	}
	child = fork();
	if (child == 0) {
		kill(getpid(), SIGSTOP);
		if (seccomp_load(ctx) < 0)
			_exit(125);
		execvp(argv[0], argv);
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
		long long now;
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
		now = ts_ns();
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (pid == child)
				rc = WIFEXITED(status) ? WEXITSTATUS(status) :
							 128 + WTERMSIG(status);
			continue;
		}
		if (status >> 16 == PTRACE_EVENT_SECCOMP) {
			entry_ns[pid % SLOTS] = now;
			ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof(info), &info);
			ptrace(PTRACE_SYSCALL, pid, 0, 0);
			continue;
		}
		if (WSTOPSIG(status) == (SIGTRAP | 0x80)) {
			sum_ns += now - entry_ns[pid % SLOTS];
			ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof(info), &info);
			calls++;
		} else if (status >> 16 == PTRACE_EVENT_STOP) {
			if (WSTOPSIG(status) != SIGTRAP) { /* group-stop */
				ptrace(PTRACE_LISTEN, pid, 0, 0);
				continue;
			}
		} else if (!(status >> 16)) {
			/* signal-delivery-stop: re-inject, except our own SIGCONT from the start */
			if (pid == child && WSTOPSIG(status) == SIGCONT && !cont_seen)
				cont_seen = true;
			else
				sig = WSTOPSIG(status);
		}
		ptrace(PTRACE_CONT, pid, 0, (void *)(long)sig);
	}
	if (verbose)
		fprintf(stderr, "floor: calls=%lld mean_ns=%lld\n", calls,
			calls ? sum_ns / calls : 0);
	else
		fprintf(stderr, "floor: %lld calls\n", calls);
	return rc;
}
