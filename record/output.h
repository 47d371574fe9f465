/* SPDX-License-Identifier: MIT */
/*
 * output.h - where encoded records go, without ever blocking the tracer.
 *
 * The producer (the tracer loop, or the scan loop) hands each encoded record
 * to output_submit(), which only appends it to a bounded in-memory queue and
 * returns. ONE writer thread owns every sink and does all their I/O:
 *   - the stream: stdout/stderr or `-o FILE` (append, 0600; SIGUSR1 reopens);
 *   - syslog(3) (`--syslog`: /dev/log, ident stallwatch, facility daemon);
 *   - the Prometheus textfile (`--metrics-file`, record/metrics.h).
 * A slow or stuck sink (a full pipe, a stopped journal reader, a blocked
 * /dev/log) fills the queue; past its bound records are dropped and counted
 * (reason queue-full) and the traced program is never slowed by it.
 *
 * Lost records are never silent: every loss is counted per (reason, rule) -
 * rate-limit (the rule's per-process limit, counted by the producer),
 * queue-full, write-error (per sink: ENOSPC, EIO, EPIPE ...) - and reported
 * in `records-dropped` records (doc/sinks.md): rate-limit and queue-full at
 * most once per 30 s per (reason, rule) and a final one at close; a sink's
 * write errors in the first record it can write again. The stderr line about
 * a failing sink comes once per failure episode through `notify`.
 *
 * Threading: output_submit/count_dropped/reopen/host_metrics/close are for
 * the producer thread; output_observe is the tracer's lock-free hot path.
 */
#ifndef SW_RECORD_OUTPUT_H
#define SW_RECORD_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/error.h"
#include "metrics.h"
#include "record.h"

struct output;

struct output_options {
	const char *path; /* -o FILE; NULL: fd */
	int fd; /* stdout or stderr when path is NULL (never closed) */
	enum record_format format; /* of the stream sink */
	bool syslog; /* --syslog */
	const char *metrics_path; /* --metrics-file, or NULL */
	const char *mode; /* "run", "attach", "scan" (stallwatch_info) */
	size_t metrics_slots; /* syscall slots of the duration histogram (0: none) */
	const char *host_name; /* for records-dropped records */
	/* limits; 0 picks the default in brackets */
	size_t queue_max_records; /* [4096] */
	size_t queue_max_bytes; /* [16 MiB] */
	uint64_t drop_report_interval_ns; /* [30 s] */
	uint64_t metrics_interval_ns; /* [1 s] */
	uint64_t retry_interval_ns; /* a failing sink is retried this often when idle [1 s] */
	uint64_t close_timeout_ns; /* how long close waits for a stuck sink [5 s] */
	/* the writer thread exits after this long with nothing to do [1 s] */
	uint64_t idle_exit_ns;
	/* one human line about a sink (failing, writable again); called from the writer thread */
	void (*notify)(void *opaque, const char *line);
	void *notify_opaque;
};

/* One queued record: its lines (malloc'd, owned by the queue from submit on) and what it is. */
struct output_record {
	char *json; /* JSON line with '\n': the JSON stream and syslog; NULL if neither needs it */
	char *text; /* text line(s) with '\n': a text stream; NULL otherwise */
	int priority; /* syslog priority (LOG_EMERG..LOG_DEBUG) from log.level */
	const char *action; /* copied: for metrics and drop accounting */
	const char *rule;
	const char *syscall; /* NULL for records that are not about a call */
};

struct output_stats {
	uint64_t written; /* records the stream sink took */
	uint64_t dropped_queue; /* queue-full */
	uint64_t dropped_write; /* write-error (stream) not reported in a record */
	int write_errno; /* the stream's first error of its last failure episode */
	uint64_t unflushed; /* records still queued when close gave up on a stuck sink */
};

/* Open the stream sink (path: O_APPEND|O_CREAT, 0600) and metrics state. 0 or -errno (err set). */
int output_open(struct output **ret, const struct output_options *o, struct sw_error *err);

/*
 * Start the writer thread (idempotent). Nobody needs to call it: submit,
 * drops, reopen, host metrics and close start it when there is work, and it
 * exits again after idle_exit_ns with nothing to do (no record queued, no
 * drop report or sink retry due, no --metrics-file). Why: a tracer with
 * nothing to write stays single-threaded. (An idle extra thread once looked
 * 2-3x costly per stop; with the benchmark's warm-up it costs nothing
 * measurable, so this rests on simplicity, doc/performance.md "Steady
 * state".) The first record comes after `run` forked the command, so the
 * fork happens single-threaded.
 */
int output_start(struct output *out);

/* Whether the writer thread exists now (tests). */
bool output_writer_running(struct output *out);

/* Queue a record; takes r->json and r->text. 0, -ENOBUFS (queue full: counted) or -ENOMEM. */
int output_submit(struct output *out, struct output_record *r);

/* n records of rule (and action) were lost for reason (RECORD_DROP_*) before reaching the queue. */
void output_count_dropped(struct output *out, const char *reason, const char *rule,
			  const char *action, uint64_t n);

/* SIGUSR1: reopen -o FILE (logrotate) before the next write. Errors come through notify. */
void output_reopen(struct output *out);

/* scan: the latest host gauges for the metrics file (rewritten at once). */
int output_host_metrics(struct output *out, const struct metrics_host *h);

/* Hot path: one completed watched call (no-op without --metrics-file). */
void output_observe(struct output *out, size_t slot, const char *syscall, uint64_t duration_ns);
void output_set_traced_threads(struct output *out, uint64_t n);
void output_set_suppressed(struct output *out, uint64_t n);

/* Is the metrics file on? (callers skip output_observe work otherwise) */
bool output_has_metrics(const struct output *out);

/*
 * Flush what is queued, report the last drops, write the metrics file a last
 * time, stop the thread and free everything. Waits at most close_timeout_ns
 * for a stuck sink (its records are then counted in stats->unflushed).
 */
void output_close(struct output *out, struct output_stats *stats);

/* syslog priority of a log.level name (LOG_WARNING for an unknown one) */
int output_priority_of(const char *level);

#endif
