/* SPDX-License-Identifier: MIT */
/*
 * loop.c - workload for bench/quick.sh: N getppid() calls in each of T
 * threads. Prints the mean ns per call as a thread sees it, timed with the
 * vDSO clock (no syscall), and the aggregate wall ns per call.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long iterations;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *worker(void *arg)
{
	long long t0 = now_ns();

	for (long i = 0; i < iterations; i++)
		syscall(SYS_getppid);
	*(long long *)arg = now_ns() - t0;
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 2 ? atoi(argv[2]) : 1;
	pthread_t tid[64];
	long long elapsed[64], t0, sum = 0;

	iterations = argc > 1 ? atol(argv[1]) : 10000;
	if (threads < 1 || threads > 64)
		return 2;
	t0 = now_ns();
	for (int i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, worker, &elapsed[i]);
	for (int i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		sum += elapsed[i];
	}
	printf("ns_per_call=%.0f agg_ns_per_call=%.0f\n", (double)sum / threads / iterations,
	       (double)(now_ns() - t0) / ((double)iterations * threads));
	return 0;
}
