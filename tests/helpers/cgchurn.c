/* SPDX-License-Identifier: MIT */
/*
 * cgchurn - create and remove child directories of DIR as fast as it can
 * (a cgroup parent the test made): mkdir DIR/churn-N, rmdir DIR/churn-N,
 * N = 0, 1, 2, ... Each round keeps up to WIDTH children alive at once, so
 * a walker sees directories appear and vanish under it.
 *
 *   cgchurn DIR MAX_MS [WIDTH] [OUT]
 *
 * Reports "pid PID", runs until SIGTERM/SIGINT or MAX_MS, removes what it
 * still has, then reports "cycles N errors E" (E: mkdir/rmdir failures other
 * than EINTR). Exits 0, or 1 if DIR is unusable.
 */
#include "helper.h"

#include <sys/stat.h>

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_stop };
	long max_ms, width = 4, cycles = 0, errors = 0;
	uint64_t deadline;
	char path[4096];

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: cgchurn DIR MAX_MS [WIDTH] [OUT]\n");
		return 2;
	}
	max_ms = h_atol(argv[2], "MAX_MS");
	if (argc > 3)
		width = h_atol(argv[3], "WIDTH");
	if (width < 1 || width > 64) {
		fprintf(stderr, "bad WIDTH: %ld\n", width);
		return 2;
	}
	h_out_open(argc > 4 ? argv[4] : "-");
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (access(argv[1], W_OK) < 0)
		h_die(argv[1]);
	h_say("pid %d\n", (int)getpid());
	deadline = h_now_ns() + (uint64_t)max_ms * 1000000ULL;
	while (!stop && h_now_ns() < deadline) {
		long base = cycles * width;

		for (long i = 0; i < width; i++) {
			snprintf(path, sizeof(path), "%s/churn-%ld", argv[1], base + i);
			if (mkdir(path, 0755) < 0 && errno != EINTR)
				errors++;
		}
		for (long i = 0; i < width; i++) {
			snprintf(path, sizeof(path), "%s/churn-%ld", argv[1], base + i);
			while (rmdir(path) < 0 && errno == EINTR)
				;
			if (access(path, F_OK) == 0)
				errors++;
		}
		cycles++;
	}
	h_say("cycles %ld errors %ld\n", cycles, errors);
	return 0;
}
