/* SPDX-License-Identifier: MIT */
/*
 * churn - a short-lived thread every millisecond (doc/transparency.md, scenario 10, churn
 * variant): each new thread takes the next number I, chdir()s to
 * /nonexistent-churn-I and exits.
 *
 *   churn MARKFILE AFTER TIMEOUT_MS [OUT]
 *
 * Reports "pid PID", then starts threads. The first time the main thread
 * sees MARKFILE it reports "mark K": every thread numbered above K was
 * created after MARKFILE existed. It stops AFTER threads later, waits
 * until every thread has made its chdir, and reports "created N mark K
 * failed F" (F: chdir calls that did not fail with ENOENT). Exits 0, or 3
 * if MARKFILE did not appear within TIMEOUT_MS.
 */
#include "helper.h"

#include <pthread.h>
#include <stdatomic.h>

static atomic_long next_id, done, failed;

static void *worker(void *arg)
{
	char path[64];
	long id = (long)arg;

	snprintf(path, sizeof(path), "/nonexistent-churn-%ld", id);
	if (chdir(path) == 0 || errno != ENOENT)
		atomic_fetch_add(&failed, 1);
	atomic_fetch_add(&done, 1);
	return NULL;
}

int main(int argc, char **argv)
{
	long after, mark = -1, id = 0;
	pthread_attr_t attr;
	uint64_t deadline;
	pthread_t t;

	h_ptracer_any();
	if (argc < 4) {
		fprintf(stderr, "usage: churn MARKFILE AFTER TIMEOUT_MS [OUT]\n");
		return 2;
	}
	after = h_atol(argv[2], "AFTER");
	deadline = h_now_ns() + (uint64_t)h_atol(argv[3], "TIMEOUT_MS") * 1000000ULL;
	h_out_open(argc > 4 ? argv[4] : NULL);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	h_say("pid %d\n", getpid());
	for (;;) {
		if (mark < 0 && access(argv[1], F_OK) == 0) {
			mark = id;
			h_say("mark %ld\n", mark);
		}
		if (mark >= 0 && id >= mark + after)
			break;
		if (mark < 0 && h_now_ns() >= deadline)
			return 3;
		id++;
		atomic_store(&next_id, id);
		while ((errno = pthread_create(&t, &attr, worker, (void *)id)) == EAGAIN)
			h_nanosleep_ms(1);
		if (errno)
			h_die("pthread_create");
		h_nanosleep_ms(1);
	}
	while (atomic_load(&done) < id)
		h_nanosleep_ms(1);
	h_say("created %ld mark %ld failed %ld\n", id, mark, atomic_load(&failed));
	return 0;
}
