/* SPDX-License-Identifier: MIT */
/*
 * demo_workload.c - what `make demo` runs under stallwatch: a few calls that
 * are slow for known reasons, and many that are not.
 *
 *   1. nanosleep(200 ms)                        -> one slow-syscall (+ one stuck)
 *   2. read() on a pipe whose writer (a child)
 *      writes after 150 ms                      -> one slow read of pipe:[...]
 *   3. a burst of 2000 lookups of missing files
 *      in a private directory it then removes   -> fast, no records (the
 *      ENOENT-storm detector is a later feature)
 *   4. 5000 getppid() calls                     -> fast, no records
 *
 * It prints what it did (with its own timings) on stdout, so the records on
 * stderr can be checked against it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void slow_sleep(void)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 200 * 1000000L };
	long long t0 = now_ns();

	syscall(SYS_nanosleep, &ts, NULL);
	printf("demo: nanosleep(200 ms) took %.1f ms\n", (now_ns() - t0) / 1e6);
}

static void late_pipe(void)
{
	int fds[2];
	char c;
	long long t0;
	pid_t writer;

	if (pipe(fds) < 0)
		return;
	writer = fork();
	if (writer == 0) {
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 150 * 1000000L };

		close(fds[0]);
		nanosleep(&ts, NULL);
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	t0 = now_ns();
	if (read(fds[0], &c, 1) == 1)
		printf("demo: read() of a pipe with a late writer took %.1f ms\n",
		       (now_ns() - t0) / 1e6);
	close(fds[0]);
	waitpid(writer, NULL, 0);
}

static void enoent_burst(void)
{
	char dir[] = "/tmp/stallwatch-demo.XXXXXX", path[128];
	long long t0;
	int misses = 0;

	if (!mkdtemp(dir))
		return;
	t0 = now_ns();
	for (int i = 0; i < 2000; i++) {
		snprintf(path, sizeof(path), "%s/missing-%d", dir, i);
		if (open(path, O_RDONLY) < 0 && errno == ENOENT)
			misses++;
	}
	printf("demo: %d failed lookups (ENOENT) in %.1f ms\n", misses, (now_ns() - t0) / 1e6);
	/* removing the directory drops the negative dentries it created */
	rmdir(dir);
}

static void fast_calls(void)
{
	long long t0 = now_ns();

	for (int i = 0; i < 5000; i++)
		syscall(SYS_getppid);
	printf("demo: 5000 getppid() calls in %.1f ms\n", (now_ns() - t0) / 1e6);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	slow_sleep();
	late_pipe();
	enoent_burst();
	fast_calls();
	return 0;
}
