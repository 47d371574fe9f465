/* SPDX-License-Identifier: MIT */
/*
 * watch.h - `stallwatch watch`'s target table (watch.c), driven by the
 * loop (loop.c, MODE_WATCH): which processes the caller's select() chose,
 * kept in step with the proc connector's exec and exit events
 * (procconn.h), a periodic recheck (cgroup moves) and policy reloads. The
 * backend does the watching (backend_ops.watch_add, watch_release); this
 * decides who.
 */
#ifndef SW_TRACER_WATCH_H
#define SW_TRACER_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"
#include "tracer.h"

/*
 * Open the proc connector and an empty table. -errno with err saying why
 * the connector cannot be used: never a silent fallback to /proc polling.
 */
int watcher_new(struct tracer_loop *loop, const struct tracer_watch_options *opts,
		struct tracer_watch_stats *stats, struct watcher **ret, struct sw_error *err);
/*
 * From here on the connector raises SIGIO at the calling (tracing) thread.
 * After the backend is loaded: a signal pending in the verifier makes it
 * give up (-EAGAIN, kernel/bpf/verifier.c do_check(), signal_pending()),
 * and the loop's kick timer keeps one pending every 1 ms until it runs.
 */
int watcher_arm(struct watcher *w, struct sw_error *err);
void watcher_free(struct watcher *w);

/* The first pass over /proc (TRACER_WATCH_START); then ready() and the first tick(). */
void watcher_start(struct watcher *w, struct tracer_result *res);
/* EV_WATCH: drain the connector (connector) and/or run tick() (tick). */
void watcher_on_event(struct watcher *w, bool connector, bool tick);
/* EV_TIMER: tick() and the recheck when due; returns the next deadline (UINT64_MAX: none). */
uint64_t watcher_on_timer(struct watcher *w, uint64_t now_ns);
/* A SIGHUP's policy was adopted: select() again over every live and every watched process. */
void watcher_policy_adopted(struct watcher *w);
/*
 * SIGINT/SIGTERM: no process is taken or offered from here on; the
 * backend's detach (loop.c, start_detach) lets go of every one.
 */
void watcher_stop(struct watcher *w);

#endif
