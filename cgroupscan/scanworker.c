/* SPDX-License-Identifier: MIT */
#include "scanworker.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/thread.h"
#include "../common/timeutil.h"

struct scanworker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* CLOCK_MONOTONIC: stop, new thresholds */
	bool stopping;
	bool thresholds_changed;
	struct policy_scan thresholds;
	const char *proc_root, *slab_sysfs;
	void (*waker)(void *arg);
	void *waker_arg;
	struct hostscan_result *queue[SCANWORKER_QUEUE];
	size_t head, n;
	int error; /* a failed scan not yet taken */
	struct sw_error error_msg;
	uint64_t scans, lost;
};

static void push_locked(struct scanworker *w, struct hostscan_result *res)
{
	if (w->n == SCANWORKER_QUEUE) {
		/* the taker fell behind: the newest scan says more than the oldest */
		free(w->queue[w->head]);
		w->head = (w->head + 1) % SCANWORKER_QUEUE;
		w->n--;
		w->lost++;
	}
	w->queue[(w->head + w->n) % SCANWORKER_QUEUE] = res;
	w->n++;
}

static void *worker_main(void *arg)
{
	struct scanworker *w = arg;
	struct hostscan_state st;
	bool have_state = hostscan_state_init(&st) == 0;

	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		struct hostscan_options ho = { .proc_root = w->proc_root,
					       .slab_sysfs = w->slab_sysfs };
		struct policy_scan th = w->thresholds;
		struct hostscan_result *res = malloc(sizeof(*res));
		struct sw_error err = {};
		uint64_t start_ns = sw_mono_ns(), deadline_ns;
		int r;

		pthread_mutex_unlock(&w->lock);
		ho.thresholds = &th;
		if (!have_state)
			r = sw_error_set(&err, -ENOMEM, "host scan: out of memory");
		else if (!res)
			r = sw_error_set(&err, -ENOMEM, "host scan: out of memory");
		else
			r = hostscan_run(&ho, &st, res, &err);
		pthread_mutex_lock(&w->lock);
		w->scans++;
		if (r < 0) {
			free(res);
			w->error = r;
			w->error_msg = err;
		} else
			push_locked(w, res);
		/*
		 * Under the lock: once set_waker(NULL) returned, the waker's
		 * loop may be gone and is never called again
		 */
		if (w->waker)
			w->waker(w->waker_arg);
		w->thresholds_changed = false;
		for (;;) {
			struct timespec ts;

			/* a new interval counts from the start of the last scan */
			deadline_ns = start_ns + w->thresholds.interval_ns;
			if (w->stopping || sw_mono_ns() >= deadline_ns)
				break;
			ts.tv_sec = (time_t)(deadline_ns / NSEC_PER_SEC);
			ts.tv_nsec = (long)(deadline_ns % NSEC_PER_SEC);
			pthread_cond_timedwait(&w->wake, &w->lock, &ts);
		}
	}
	pthread_mutex_unlock(&w->lock);
	if (have_state)
		hostscan_state_free(&st);
	return NULL;
}

int scanworker_start(struct scanworker **ret, const struct scanworker_options *o,
		     struct sw_error *err)
{
	struct scanworker *w = calloc(1, sizeof(*w));
	pthread_condattr_t attr;
	int r;

	*ret = NULL;
	if (!w)
		return sw_error_set(err, -ENOMEM, "host scans: out of memory");
	w->thresholds = *o->thresholds;
	if (w->thresholds.interval_ns < POLICY_SCAN_INTERVAL_MIN_NS)
		w->thresholds.interval_ns = POLICY_SCAN_INTERVAL_MIN_NS;
	w->proc_root = o->proc_root ? o->proc_root : "/proc";
	w->slab_sysfs = o->slab_sysfs ? o->slab_sysfs : SLAB_SYSFS_ROOT;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &attr);
	pthread_condattr_destroy(&attr);
	r = sw_thread_create_quiet(&w->thread, worker_main, w);
	if (r < 0) {
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return sw_error_set(err, r, "host scans: cannot start their thread");
	}
	*ret = w;
	return 0;
}

void scanworker_set_waker(struct scanworker *w, void (*wake)(void *arg), void *arg)
{
	pthread_mutex_lock(&w->lock);
	w->waker = wake;
	w->waker_arg = arg;
	pthread_mutex_unlock(&w->lock);
}

void scanworker_set_thresholds(struct scanworker *w, const struct policy_scan *th)
{
	pthread_mutex_lock(&w->lock);
	w->thresholds = *th;
	if (w->thresholds.interval_ns < POLICY_SCAN_INTERVAL_MIN_NS)
		w->thresholds.interval_ns = POLICY_SCAN_INTERVAL_MIN_NS;
	w->thresholds_changed = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

int scanworker_take(struct scanworker *w, struct hostscan_result **ret, struct sw_error *err)
{
	int r = 0;

	*ret = NULL;
	pthread_mutex_lock(&w->lock);
	if (w->error) {
		r = w->error;
		if (err)
			*err = w->error_msg;
		w->error = 0;
	} else if (w->n) {
		*ret = w->queue[w->head];
		w->head = (w->head + 1) % SCANWORKER_QUEUE;
		w->n--;
		r = 1;
	}
	pthread_mutex_unlock(&w->lock);
	return r;
}

uint64_t scanworker_scans(struct scanworker *w)
{
	uint64_t n;

	pthread_mutex_lock(&w->lock);
	n = w->scans;
	pthread_mutex_unlock(&w->lock);
	return n;
}

uint64_t scanworker_lost(struct scanworker *w)
{
	uint64_t n;

	pthread_mutex_lock(&w->lock);
	n = w->lost;
	pthread_mutex_unlock(&w->lock);
	return n;
}

void scanworker_stop(struct scanworker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	while (w->n) {
		free(w->queue[w->head]);
		w->head = (w->head + 1) % SCANWORKER_QUEUE;
		w->n--;
	}
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
