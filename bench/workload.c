/* SPDX-License-Identifier: MIT */
/*
 * workload.c - the workload of the full benchmark (bench/run.sh): T threads
 * that each make N calls of one kind in a tight loop, timed with the vDSO
 * clock (clock_gettime is not a syscall here, so no tracer sees it).
 *
 * usage: workload [-w] [-u WARMUP_MS] [-t CHUNK] MODE N [THREADS]
 *        workload [-w] sleep MS
 *
 *   getppid    syscall(SYS_getppid)                          1 syscall/iteration
 *   read       read(fd, buf, 1) on /dev/zero                 1 syscall/iteration
 *              (/dev/zero never blocks and needs no producer: a pipe kept full
 *              would need a writer thread competing for the same 2 CPUs, and
 *              an empty pipe would block)
 *   openclose  openat(dirfd, "f") of an existing file + close  2 syscalls/iteration
 *   enoent     openat(dirfd, NAME) of a new missing NAME on every call
 *              1 syscall/iteration. Every call leaves one NEGATIVE DENTRY: the
 *              names live in a private directory made with mkdtemp() (under
 *              $TMPDIR, default /tmp) and removed at the end, and the removal
 *              (rmdir) prunes those dentries with it.
 *   sleep MS   one nanosleep(2) of MS ms (the raw syscall: glibc's nanosleep()
 *              is clock_nanosleep(2)); prints the time it measured itself
 *
 * The T threads are created first and wait on a barrier; the clock starts per
 * thread after the barrier. With -u each thread first runs the same loop,
 * untimed, for WARMUP_MS ms, and the threads meet on a second barrier before
 * the timed N calls. Why: a traced loop often spends its first 10-40 ms in
 * a placement that does not last. The scheduler starts the tracer and the
 * thread on one CPU (about 15 us a watched call here) and then moves them
 * onto two (85-110 us for a blocking tracer on this VM). 2000 timed calls
 * from the start end inside that change, so their time depends on when it
 * came (doc/performance.md, "Steady state"). With -t the timed loop of
 * each thread notes the time after every CHUNK iterations (up to 256 chunks),
 * and a second output line shows thread 0's:
 * chunks=END_MS:NS_PER_CALL:CPU:PARENT_CPU,... (the parent is the tracer of
 * `stallwatch run` and of the floor; its CPU is read from /proc/PPID/stat).
 * With -w the process first prints "ready pid=PID"
 * on stdout and waits for SIGUSR1 (sigwaitinfo, blocked in every thread), so
 * that a tracer can attach to the idle process with all its threads; the wait
 * is no open/read, so it never shows up as a watched call.
 *
 * Output (stdout, one line):
 *   mode=M threads=T iters=N calls=ALL wall_ns=W ns_per_call=X
 *   agg_ns_per_call=Y thread_ns_per_call=A,B
 * calls = T x N x syscalls/iteration; ns_per_call = the mean over threads of
 * (thread loop time / thread calls): the latency of one call as a thread sees
 * it; wall_ns = last thread end - first thread start; agg_ns_per_call =
 * wall_ns / calls (throughput; the same as ns_per_call with 1 thread).
 * Exit status 0; 1 on any unexpected result; 2 usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum mode { M_GETPPID, M_READ, M_OPENCLOSE, M_ENOENT, M_SLEEP };
static const char *const mode_names[] = { "getppid", "read", "openclose", "enoent", "sleep" };
static const int calls_per_iter[] = { 1, 1, 2, 1, 1 };

#define MAX_THREADS 16
#define MAX_CHUNKS 256
#define NAME_DIGITS 10

struct worker {
	pthread_t th;
	int idx;
	long long t0, t1;
	long bad;
	int n_chunks;
	long long chunk_end[MAX_CHUNKS];
	int chunk_cpu[MAX_CHUNKS], chunk_parent_cpu[MAX_CHUNKS];
};

static enum mode mode;
static long iters;
static int dirfd_ = -1;
static long long warmup_ns;
static long chunk;
static int parent_stat_fd = -1;

/* the CPU the parent (the tracer, under `stallwatch run` or the floor) last ran on:
 * field 39 of /proc/PPID/stat; -1 if unknown. With -t only: one pread per chunk. */
static int parent_cpu(void)
{
	char buf[1024], *p;
	ssize_t n = parent_stat_fd < 0 ? -1 : pread(parent_stat_fd, buf, sizeof(buf) - 1, 0);
	int field = 2;

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the comm may hold spaces */
	if (!p)
		return -1;
	for (; *p && field < 39; p++)
		if (*p == ' ')
			field++;
	return *p ? atoi(p) : -1;
}

static pthread_barrier_t start, warm;

/* iterations between two clock reads during the warm-up */
#define WARMUP_CHUNK 16

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* next name: a fixed-width base-36 counter incremented in place (no snprintf in the loop) */
static void next_name(char *d)
{
	for (int i = NAME_DIGITS - 1; i >= 0; i--) {
		if (d[i] == '9') {
			d[i] = 'a';
			return;
		}
		if (d[i] != 'z') {
			d[i]++;
			return;
		}
		d[i] = '0';
	}
}

/* n iterations of the mode's loop body; returns the number of unexpected results */
static long make_calls(long n, int fd, char *name, char *digits)
{
	char buf[1];
	long bad = 0;

	switch (mode) {
	case M_GETPPID:
		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
		break;
	case M_READ:
		for (long i = 0; i < n && fd >= 0; i++)
			if (read(fd, buf, 1) != 1)
				bad++;
		break;
	case M_OPENCLOSE:
		for (long i = 0; i < n; i++) {
			int f = openat(dirfd_, "f", O_RDONLY | O_CLOEXEC);

			if (f < 0 || close(f) < 0)
				bad++;
		}
		break;
	case M_ENOENT:
		for (long i = 0; i < n; i++) {
			next_name(digits);
			if (openat(dirfd_, name, O_RDONLY | O_CLOEXEC) >= 0 || errno != ENOENT)
				bad++;
		}
		break;
	case M_SLEEP:
		break;
	}
	return bad;
}

static void *run_worker(void *arg)
{
	struct worker *w = arg;
	char name[32];
	char *digits = NULL;
	long bad = 0;
	int fd = -1;

	if (mode == M_READ) {
		fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			bad++;
	} else if (mode == M_ENOENT) {
		int len = snprintf(name, sizeof(name), "t%d-", w->idx);

		digits = name + len;
		memset(digits, '0', NAME_DIGITS);
		digits[NAME_DIGITS] = '\0';
	}
	pthread_barrier_wait(&start);
	if (warmup_ns > 0) {
		long long end = now_ns() + warmup_ns;

		do
			bad += make_calls(WARMUP_CHUNK, fd, name, digits);
		while (now_ns() < end);
		pthread_barrier_wait(&warm);
	}
	w->t0 = now_ns();
	if (chunk > 0) {
		/* -t: the end time of every CHUNK iterations, to see the start-up placement change */
		for (long done = 0, n; done < iters; done += n) {
			n = iters - done < chunk ? iters - done : chunk;
			bad += make_calls(n, fd, name, digits);
			if (w->n_chunks < MAX_CHUNKS) {
				w->chunk_end[w->n_chunks] = now_ns();
				w->chunk_cpu[w->n_chunks] = sched_getcpu();
				w->chunk_parent_cpu[w->n_chunks++] = parent_cpu();
			}
		}
	} else {
		bad += make_calls(iters, fd, name, digits);
	}
	w->t1 = now_ns();
	w->bad = bad;
	if (fd >= 0)
		close(fd);
	return NULL;
}

static sigset_t usr1;

/* -w: say we are ready, then wait for SIGUSR1 (blocked since the start of main) */
static void gate(void)
{
	printf("ready pid=%d\n", (int)getpid());
	fflush(stdout);
	while (sigwaitinfo(&usr1, NULL) != SIGUSR1)
		; /* EINTR: an attach may interrupt the wait */
}

static int do_sleep(long ms, bool wait)
{
	struct timespec req = { ms / 1000, (ms % 1000) * 1000000L }, rem;
	long long t0, t1;

	if (wait)
		gate();
	t0 = now_ns();
	while (syscall(SYS_nanosleep, &req, &rem) < 0 && errno == EINTR)
		req = rem;
	t1 = now_ns();
	printf("mode=sleep threads=1 iters=1 calls=1 wall_ns=%lld ns_per_call=%lld "
	       "agg_ns_per_call=%lld thread_ns_per_call=%lld\n",
	       t1 - t0, t1 - t0, t1 - t0, t1 - t0);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: workload [-w] [-u WARMUP_MS] [-t CHUNK] "
			"getppid|read|openclose|enoent N [THREADS]\n"
			"       workload [-w] sleep MS\n");
}

int main(int argc, char **argv)
{
	struct worker w[MAX_THREADS] = { 0 };
	char dir[4096] = "";
	const char *tmp;
	bool wait = false;
	long long first, last;
	double sum = 0;
	int threads = 1, m, rc = 0;
	long bad = 0, per_thread;

	for (;;) {
		if (argc > 1 && strcmp(argv[1], "-w") == 0) {
			wait = true;
		} else if (argc > 2 && strcmp(argv[1], "-t") == 0) {
			chunk = atol(argv[2]);
			argv++;
			argc--;
		} else if (argc > 2 && strcmp(argv[1], "-u") == 0) {
			warmup_ns = atoll(argv[2]) * 1000000LL;
			argv++;
			argc--;
		} else {
			break;
		}
		argv++;
		argc--;
	}
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	if (argc < 3) {
		usage();
		return 2;
	}
	for (m = 0; m <= M_SLEEP; m++)
		if (strcmp(argv[1], mode_names[m]) == 0)
			break;
	if (m > M_SLEEP || atol(argv[2]) <= 0) {
		usage();
		return 2;
	}
	mode = m;
	if (mode == M_SLEEP)
		return do_sleep(atol(argv[2]), wait);
	iters = atol(argv[2]);
	if (argc > 3)
		threads = atoi(argv[3]);
	if (threads < 1 || threads > MAX_THREADS) {
		usage();
		return 2;
	}

	if (mode == M_OPENCLOSE || mode == M_ENOENT) {
		int fd;

		tmp = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/sw-bench-wl.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			return 1;
		}
		dirfd_ = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dirfd_ < 0) {
			perror(dir);
			rmdir(dir);
			return 1;
		}
		if (mode == M_OPENCLOSE) {
			fd = openat(dirfd_, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
			if (fd < 0 || close(fd) < 0) {
				perror("create f");
				rc = 1;
				goto out;
			}
		}
	}

	if (chunk > 0) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/stat", (int)getppid());
		parent_stat_fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	pthread_barrier_init(&start, NULL, threads + 1);
	pthread_barrier_init(&warm, NULL, threads);
	for (int i = 0; i < threads; i++) {
		w[i].idx = i;
		if (pthread_create(&w[i].th, NULL, run_worker, &w[i]) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			_exit(1); /* the other threads wait on the barrier forever */
		}
	}
	if (wait)
		gate();
	pthread_barrier_wait(&start);
	for (int i = 0; i < threads; i++)
		pthread_join(w[i].th, NULL);

	per_thread = iters * calls_per_iter[mode];
	first = w[0].t0;
	last = w[0].t1;
	for (int i = 0; i < threads; i++) {
		if (w[i].t0 < first)
			first = w[i].t0;
		if (w[i].t1 > last)
			last = w[i].t1;
		sum += (double)(w[i].t1 - w[i].t0) / per_thread;
		bad += w[i].bad;
	}
	if (bad) {
		fprintf(stderr, "workload: %ld unexpected results\n", bad);
		rc = 1;
		goto out;
	}
	printf("mode=%s threads=%d iters=%ld calls=%ld wall_ns=%lld ns_per_call=%.0f "
	       "agg_ns_per_call=%.0f thread_ns_per_call=",
	       mode_names[mode], threads, iters, per_thread * threads, last - first, sum / threads,
	       (double)(last - first) / ((double)per_thread * threads));
	for (int i = 0; i < threads; i++)
		printf("%s%.0f", i ? "," : "", (double)(w[i].t1 - w[i].t0) / per_thread);
	printf("\n");
	/* -t: "chunks=MS:NS:CPU:PCPU,...": per chunk of thread 0, its end (ms since
	 * the thread's start), its ns per call, the CPU the thread was on at its
	 * end and the CPU the parent last ran on */
	if (chunk > 0) {
		long long prev = w[0].t0;

		printf("chunks=");
		for (int i = 0; i < w[0].n_chunks; i++) {
			long n = i == w[0].n_chunks - 1 && iters % chunk ? iters % chunk : chunk;

			printf("%s%.1f:%.0f:%d:%d", i ? "," : "",
			       (w[0].chunk_end[i] - w[0].t0) / 1e6,
			       (double)(w[0].chunk_end[i] - prev) /
				       ((double)n * calls_per_iter[mode]),
			       w[0].chunk_cpu[i], w[0].chunk_parent_cpu[i]);
			prev = w[0].chunk_end[i];
		}
		printf("\n");
	}
out:
	if (dirfd_ >= 0) {
		if (mode == M_OPENCLOSE)
			unlinkat(dirfd_, "f", 0);
		close(dirfd_);
		/* the negative dentries of the enoent names go with the directory */
		if (rmdir(dir) < 0) {
			perror(dir);
			rc = 1;
		}
	}
	return rc;
}
