/* SPDX-License-Identifier: MIT */
/*
 * pipethreads - a leader and 3 threads blocked in read() on private pipes;
 * then, one at a time, each thread chdir()s to a missing path and exits
 * (doc/transparency.md, scenario 10: thread attribution under attach).
 *
 *   pipethreads GOFILE TIMEOUT_MS [OUT]
 *
 * Reports "pid PID" and "thread I TID" per thread once all block in
 * read(), and "ready". The leader waits (5 ms nanosleeps) for GOFILE, then
 * for each thread in turn writes one byte to its pipe and joins it: the
 * thread chdir()s to /nonexistent-pipethreads-TID, reports "chdir TID
 * errno NAME" and exits. Last the leader chdir()s to
 * /nonexistent-pipethreads-PID and reports "chdir PID errno NAME". Exits 0
 * (3 if GOFILE did not appear within TIMEOUT_MS).
 */
#include "helper.h"

#include <pthread.h>
#include <stdatomic.h>

#define NT 3

static int pipes[NT][2];
static atomic_int blocked;

static void do_chdir(void)
{
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/nonexistent-pipethreads-%d", (int)gettid());
	r = chdir(path);
	h_say("chdir %d errno %s\n", (int)gettid(), r ? strerrorname_np(errno) : "0");
}

static void *worker(void *arg)
{
	long i = (long)arg;
	char c;

	h_say("thread %ld %d\n", i, (int)gettid());
	atomic_fetch_add(&blocked, 1);
	if (read(pipes[i][0], &c, 1) != 1)
		h_die("read");
	do_chdir();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t tids[NT];
	long i;

	h_ptracer_any();
	if (argc < 3) {
		fprintf(stderr, "usage: pipethreads GOFILE TIMEOUT_MS [OUT]\n");
		return 2;
	}
	h_out_open(argc > 3 ? argv[3] : NULL);
	h_say("pid %d\n", getpid());
	for (i = 0; i < NT; i++) {
		if (pipe(pipes[i]) < 0)
			h_die("pipe");
		if ((errno = pthread_create(&tids[i], NULL, worker, (void *)i)))
			h_die("pthread_create");
	}
	while (atomic_load(&blocked) < NT)
		h_nanosleep_ms(1);
	h_nanosleep_ms(20);
	h_say("ready\n");
	if (h_wait_file(argv[1], h_atol(argv[2], "TIMEOUT_MS")) < 0)
		return 3;
	for (i = 0; i < NT; i++) {
		if (write(pipes[i][1], "x", 1) != 1)
			h_die("write");
		pthread_join(tids[i], NULL);
	}
	do_chdir();
	return 0;
}
