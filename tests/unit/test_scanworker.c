/* SPDX-License-Identifier: MIT */
/*
 * test_scanworker.c - cgroupscan/scanworker.h: scans run on the worker at
 * once and then every interval, wake the taker after each, and stop
 * cleanly; a new interval (SIGHUP) applies from the next wait.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "../../cgroupscan/scanworker.h"
#include "../../common/timeutil.h"
#include "unit.h"

static atomic_int wakes;

static void count_wake(void *arg)
{
	(void)arg;
	atomic_fetch_add(&wakes, 1);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait up to ms for at least n wakes. */
static bool wait_wakes(int n, long ms)
{
	for (long t = 0; t < ms && atomic_load(&wakes) < n; t += 10)
		sleep_ms(10);
	return atomic_load(&wakes) >= n;
}

static int test_scans_and_wakes(void)
{
	struct policy_scan th;
	struct scanworker *w = NULL;
	struct hostscan_result *res = NULL;
	struct sw_error err = {};
	int taken = 0, r;

	policy_scan_defaults(&th);
	th.interval_ns = 100 * NSEC_PER_MSEC;
	atomic_store(&wakes, 0);
	CHECK(scanworker_start(&w, &(struct scanworker_options){ .thresholds = &th }, &err) == 0);
	scanworker_set_waker(w, count_wake, NULL);
	/* the first scan may end before the waker was set: count from the results */
	CHECK(wait_wakes(2, 5000)); /* a busy host: loose */
	while ((r = scanworker_take(w, &res, &err)) != 0) {
		CHECK(r == 1 && res);
		CHECK(res->sample_mono_ns > 0);
		free(res);
		taken++;
	}
	CHECK(taken >= 2);
	CHECK(scanworker_scans(w) >= 2);
	/* a long interval: no further scan comes soon */
	th.interval_ns = 3600 * NSEC_PER_SEC;
	scanworker_set_thresholds(w, &th);
	sleep_ms(300); /* a scan in progress may still end */
	atomic_store(&wakes, 0);
	sleep_ms(400);
	CHECK(atomic_load(&wakes) == 0);
	/* no waker any more: never called after set_waker(NULL) returned */
	scanworker_set_waker(w, NULL, NULL);
	scanworker_stop(w); /* frees the results never taken */
	return 0;
}

static int test_queue_bounded(void)
{
	struct policy_scan th;
	struct scanworker *w = NULL;
	struct hostscan_result *res = NULL;
	struct sw_error err = {};
	int taken = 0;

	policy_scan_defaults(&th);
	th.interval_ns = 100 * NSEC_PER_MSEC;
	atomic_store(&wakes, 0);
	CHECK(scanworker_start(&w, &(struct scanworker_options){ .thresholds = &th }, &err) == 0);
	scanworker_set_waker(w, count_wake, NULL);
	/* nobody takes: the queue keeps the newest SCANWORKER_QUEUE */
	CHECK(wait_wakes(SCANWORKER_QUEUE + 2, 10000));
	scanworker_set_waker(w, NULL, NULL);
	while (scanworker_take(w, &res, &err) > 0) {
		free(res);
		taken++;
	}
	CHECK(taken >= SCANWORKER_QUEUE - 1 && taken <= SCANWORKER_QUEUE + 1);
	CHECK(scanworker_lost(w) >= 1);
	scanworker_stop(w);
	return 0;
}

UNIT_MAIN(TEST(test_scans_and_wakes), TEST(test_queue_bounded))
