/* SPDX-License-Identifier: MIT */
#include "bounded.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

#define ANSWER_MAX 4000 /* < PIPE_BUF: one write, never torn */

#if defined(__SANITIZE_ADDRESS__)
#define SW_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SW_ASAN 1
#endif
#endif
#ifndef SW_ASAN
#define SW_ASAN 0
#endif

struct answer {
	int32_t ret;
	/* aligned: the caller's result may hold any type */
	_Alignas(max_align_t) unsigned char out[ANSWER_MAX];
};

/* Set a limit (soft and hard) to value, or leave it where it is if it is lower. */
static void lower_limit(int resource, uint64_t value)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl) < 0)
		return;
	if (rl.rlim_max == RLIM_INFINITY || value < rl.rlim_max)
		rl.rlim_max = value;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(resource, &rl);
}

/* The address space this process has now (VmSize), in bytes; 0 if unknown. */
static uint64_t address_space_now(void)
{
	char buf[4096];
	const char *p;

	if (sw_read_small_file("/proc/self/status", buf, sizeof(buf)) < 0 ||
	    !(p = strstr(buf, "\nVmSize:")))
		return 0;
	return strtoull(p + 8, NULL, 10) * 1024;
}

static _Noreturn void child(int fd, int (*fn)(void *arg, void *out, size_t size), void *arg,
			    size_t size, const struct sw_bounds *bounds)
{
	struct answer a;
	size_t len = offsetof(struct answer, out) + size;
	sigset_t all;
	uint64_t now = address_space_now();

	/* an inherited mask or handler must not keep the limits from killing it */
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	/*
	 * With an unknown size no memory limit: the CPU limit still ends it.
	 * AddressSanitizer's own bookkeeping dies noisily against an address
	 * space limit (its stack depot fails to mmap): in such a build the
	 * CPU limit alone bounds the child.
	 */
	if (now && !SW_ASAN)
		lower_limit(RLIMIT_AS, now + bounds->memory_bytes);
	/* soft == hard: the kernel sends SIGKILL, not a SIGXCPU that could be caught */
	lower_limit(RLIMIT_CPU, bounds->cpu_seconds);
	a.ret = fn(arg, a.out, size);
	_exit(write(fd, &a, len) == (ssize_t)len ? 0 : 1);
}

int sw_run_bounded(int (*fn)(void *arg, void *out, size_t size), void *arg, void *out, size_t size,
		   const struct sw_bounds *bounds)
{
	_cleanup_close_ int rd = -1;
	struct answer a;
	size_t got = 0, want = offsetof(struct answer, out) + size;
	int fds[2];
	pid_t pid;

	if (size > ANSWER_MAX)
		return -EINVAL;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	rd = fds[0];
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(fds[1]);
		return -e;
	}
	if (pid == 0) {
		close(fds[0]);
		child(fds[1], fn, arg, size, bounds);
	}
	close(fds[1]);
	while (got < want) {
		ssize_t n = read(rd, (char *)&a + got, want - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (got < want)
		return -E2BIG;
	memcpy(out, a.out, size);
	return a.ret;
}
