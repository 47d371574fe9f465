/* SPDX-License-Identifier: MIT */
/*
 * helper.h - shared bits of the e2e helper programs (tests/helpers/NAME.c).
 *
 * Every helper makes known slow calls and reports what it measured itself
 * (CLOCK_MONOTONIC around the syscall, a vDSO call that no tracer sees), one
 * "key value..." line per fact, so tests/e2e compares stallwatch's records
 * with the program's own numbers, strace-test style. Output goes to the file
 * named on the command line (opened O_APPEND, so a parent, its children and
 * an exec'd image can share it) or to stdout for "-". Each line is one
 * write(2), which makes h_say() usable in a vfork child.
 */
#ifndef SW_TESTS_HELPER_H
#define SW_TESTS_HELPER_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int h_out_fd __attribute__((unused)) = STDOUT_FILENO;

static inline uint64_t h_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Harmless without Yama; makes the helpers attachable when Yama is on. */
static inline void h_ptracer_any(void)
{
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
}

static inline void h_die(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	exit(1);
}

static inline void h_out_open(const char *path)
{
	if (!path || !strcmp(path, "-"))
		return;
	h_out_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (h_out_fd < 0)
		h_die(path);
}

static inline __attribute__((format(printf, 1, 2))) void h_say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (write(h_out_fd, buf, (size_t)n) < 0)
		_exit(111);
}

/* The nanosleep syscall itself: glibc's nanosleep() is clock_nanosleep. */
static inline long h_nanosleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	return syscall(SYS_nanosleep, &ts, NULL);
}

/* Wait until PATH exists, polling with 5 ms nanosleeps: 0, or -1 after TIMEOUT_MS. */
static inline int h_wait_file(const char *path, long timeout_ms)
{
	uint64_t deadline = h_now_ns() + (uint64_t)timeout_ms * 1000000ULL;

	while (access(path, F_OK) < 0) {
		if (h_now_ns() >= deadline)
			return -1;
		h_nanosleep_ms(5);
	}
	return 0;
}

static inline long h_atol(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0) {
		fprintf(stderr, "bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

/* "TERM", "SIGTERM", "15", "RTMIN", "RTMIN+3": a signal number; exits 2 if unknown. */
static inline int h_parse_sig(const char *s)
{
	char *end;
	long n;

	if (!strncmp(s, "SIG", 3))
		s += 3;
	n = strtol(s, &end, 10);
	if (end != s && !*end && n > 0 && n < NSIG)
		return (int)n;
	if (!strncmp(s, "RTMIN", 5)) {
		n = s[5] == '+' ? strtol(s + 6, &end, 10) : 0;
		if ((s[5] == 0 || (s[5] == '+' && !*end)) && SIGRTMIN + n <= SIGRTMAX)
			return SIGRTMIN + (int)n;
	}
	for (int sig = 1; sig < NSIG; sig++) {
		const char *name = sigabbrev_np(sig);

		if (name && !strcmp(name, s))
			return sig;
	}
	fprintf(stderr, "unknown signal %s\n", s);
	exit(2);
}

#endif
