/* SPDX-License-Identifier: MIT */
/*
 * demo_workload.c - what `make demo` runs under stallwatch: one real stall,
 * some waits that are not stalls, and many fast calls.
 *
 *   1. incident 2 at small scale (doc/incidents.md). `demo_workload
 *      --prepare DIR`, run untraced first (like the incident's other agent),
 *      makes 400 000 lookups of missing names in DIR, which leave as many
 *      negative dentries under it. Then, traced, `demo_workload DIR`: the
 *      first inotify_add_watch() on DIR for events on its children walks
 *      every one of them under the directory's lock (fs/notify/fsnotify.c,
 *      fsnotify_set_children_dentry_flags): tens of ms -> one record of the
 *      default's watch-setup-slow rule (10 ms, error). Removing DIR frees the
 *      dentries again, which takes as long (shrink_dcache_parent): with over
 *      100 ms, a slow-call record.
 *   2. nanosleep(200 ms)                         -> a wait: no record by default
 *   3. read() on a pipe whose writer (a child)
 *      writes after 150 ms                       -> a wait: no record by default
 *   4. 5000 getppid() calls                      -> fast, no records
 *
 * It prints what it did (with its own timings) on stdout, so the records can
 * be checked against it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
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

#define NEGATIVE_DENTRIES 400000

/* Untraced: leave NEGATIVE_DENTRIES negative dentries under dir. */
static int prepare(const char *dir)
{
	char path[4096];
	struct stat st;
	long long t0 = now_ns();
	int misses = 0;

	for (int i = 0; i < NEGATIVE_DENTRIES; i++) {
		snprintf(path, sizeof(path), "%s/missing-%d", dir, i);
		if (stat(path, &st) < 0 && errno == ENOENT)
			misses++;
	}
	printf("demo: %d failed lookups in %s (negative dentries) in %.1f ms\n", misses, dir,
	       (now_ns() - t0) / 1e6);
	return misses == NEGATIVE_DENTRIES ? 0 : 1;
}

static void watch_and_remove(const char *dir)
{
	long long t0;
	int in_fd, wd;

	in_fd = inotify_init1(IN_CLOEXEC);
	if (in_fd >= 0) {
		/* IN_MODIFY and IN_CLOSE_WRITE are events on children: the walk */
		t0 = now_ns();
		wd = inotify_add_watch(in_fd, dir, IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE);
		printf("demo: inotify_add_watch() over them took %.1f ms%s\n",
		       (now_ns() - t0) / 1e6, wd < 0 ? " (failed)" : "");
		close(in_fd);
	}
	/* removing the directory drops the negative dentries under it */
	t0 = now_ns();
	if (rmdir(dir) == 0)
		printf("demo: rmdir() of it took %.1f ms\n", (now_ns() - t0) / 1e6);
}

static void fast_calls(void)
{
	long long t0 = now_ns();

	for (int i = 0; i < 5000; i++)
		syscall(SYS_getppid);
	printf("demo: 5000 getppid() calls in %.1f ms\n", (now_ns() - t0) / 1e6);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "--prepare") == 0)
		return prepare(argv[2]);
	if (argc != 2) {
		fprintf(stderr, "usage: demo_workload --prepare DIR; demo_workload DIR\n");
		return 2;
	}
	watch_and_remove(argv[1]);
	slow_sleep();
	late_pipe();
	fast_calls();
	return 0;
}
