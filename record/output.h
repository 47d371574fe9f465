/* SPDX-License-Identifier: MIT */
/*
 * output.h - where encoded records go, without ever blocking the tracer.
 *
 * The producer (the tracer loop, or the scan loop) hands each encoded record
 * to output_submit(), which only appends it to the bounded in-memory queue of
 * each sink and returns. Each sink has its own queue and its own writer
 * thread, so a stuck sink holds up nobody else:
 *   - the stream: stdout/stderr or `-o FILE` (append, 0600; SIGUSR1 reopens);
 *   - syslog (`--syslog`): datagrams to /dev/log sent by us, not syslog(3),
 *     in its format (`<PRI>Mmm dd hh:mm:ss stallwatch[PID]: JSON`, facility
 *     daemon), so that nothing can hold the exit (glibc's closelog() waits
 *     for a send() blocked in another thread);
 *   - the Prometheus textfile (`--metrics-file`, record/metrics.h).
 * Writes never block: a pipe, FIFO, terminal or socket is written with
 * O_NONBLOCK (on a description of our own: an inherited pipe is reopened
 * through /proc/self/fd, a socket gets MSG_DONTWAIT) and the writer waits
 * for it in poll(2), so close can end the wait at its limit and count what
 * is left exactly. A regular file is written plainly.
 *
 * Every record ends up written or counted, per sink: rate-limit (the rule's
 * per-process limit, counted by the producer, before any sink), queue-full
 * (that sink's queue was full), write-error (ENOSPC, EIO, EPIPE, ...; at
 * close, EAGAIN for what a blocked sink still held, ENXIO for a FIFO no
 * process opened for reading). Losses are reported in `records-dropped`
 * records on the sink that lost them (doc/sinks.md): rate-limit and
 * queue-full at most once per 30 s per (reason, rule) and a final one at
 * close; write errors in the first record the sink can write again. What no
 * such record could report comes back in output_stats for one stderr line.
 * The stderr line about a failing sink comes once per episode via `notify`.
 *
 * A writer thread exists only while its sink has work (a record, a drop
 * report or retry due); the metrics file's stays for its rewrites in run and
 * attach. A tracer with nothing to write stays single-threaded.
 *
 * Threading: output_open/submit/count_dropped/reopen/host_metrics/close are
 * for the producer thread; output_observe is the tracer's lock-free hot path.
 */
#ifndef SW_RECORD_OUTPUT_H
#define SW_RECORD_OUTPUT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/error.h"
#include "metrics.h"
#include "record.h"

struct output;

struct output_options {
	const char *path; /* -o FILE; NULL: fd */
	int fd; /* stdout or stderr when path is NULL (never closed, its flags never changed) */
	enum record_format format; /* of the stream sink */
	bool format_auto; /* text when the stream is a terminal, else JSON (format is ignored) */
	bool syslog; /* --syslog */
	const char *syslog_path; /* the syslog socket [/dev/log] (tests) */
	const char *metrics_path; /* --metrics-file, or NULL */
	const char *mode; /* "run", "attach", "scan" (stallwatch_info) */
	size_t metrics_slots; /* syscall slots of the duration histogram (0: none) */
	const char *host_name; /* for records-dropped records */
	/* limits; 0 picks the default in brackets */
	size_t queue_max_records; /* per sink [4096] */
	size_t queue_max_bytes; /* per sink [16 MiB] */
	uint64_t drop_report_interval_ns; /* [30 s] */
	uint64_t metrics_interval_ns; /* [1 s] */
	uint64_t retry_interval_ns; /* a failing sink is retried this often when idle [1 s] */
	/* how long close waits for the stream and syslog to take what is queued [5 s] */
	uint64_t close_timeout_ns;
	/* the writer thread exits after this long with nothing to do [1 s] */
	uint64_t idle_exit_ns;
	/* one human line about a sink (failing, writable again); called from a writer thread */
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

/* What became of the records of one sink (stream or syslog). */
struct output_sink_stats {
	bool on;
	uint64_t written; /* records the sink took */
	uint64_t dropped_queue; /* queue-full: its queue was full */
	uint64_t dropped_write; /* write-error while running */
	uint64_t unflushed; /* still queued when close gave up (write-error EAGAIN or ENXIO) */
	bool no_reader; /* they waited for a process to open the FIFO for reading */
	/*
	 * Of those losses, what no records-dropped record on this sink
	 * reports (it could not be written): the caller says it on stderr.
	 */
	uint64_t unreported_queue, unreported_write, unreported_unflushed;
	int write_errno; /* the first error of the unreported write errors */
};

struct output_stats {
	struct output_sink_stats stream, syslog;
	char stream_label[PATH_MAX + 16]; /* "output `FILE`", "stdout" or "stderr" */
	uint64_t close_timeout_ns; /* the limit close waited for at most */
};

/*
 * Open the stream sink (path: O_APPEND|O_CREAT, 0600, never waiting: a FIFO
 * no process reads yet is opened later, see output_waits_for_reader) and the
 * metrics state. 0 or -errno (err set).
 */
int output_open(struct output **ret, const struct output_options *o, struct sw_error *err);

/* The stream's format (format_auto resolved). */
enum record_format output_format(const struct output *out);

/* -o FILE is a FIFO no process had open for reading at open: records wait until one does. */
bool output_waits_for_reader(const struct output *out);

/*
 * Start the writer threads of every sink (idempotent). Nobody needs to call
 * it: submit, drops, reopen, host metrics and close start a sink's thread
 * when it has work, and it exits again after idle_exit_ns with nothing to do
 * (no record queued, no drop report or sink retry due; the metrics file's
 * stays in run and attach). Why: a tracer with nothing to write stays
 * single-threaded (doc/performance.md "Steady state" measured what an idle
 * extra thread costs). The first record comes after `run` forked the
 * command, so the fork happens single-threaded.
 */
int output_start(struct output *out);

/* Whether a writer thread exists now (tests). */
bool output_writer_running(struct output *out);

/*
 * Queue a record for every sink on; takes r->json and r->text. 0 (queued
 * for at least one sink), -ENOBUFS (no sink could queue it: counted) or
 * -ENOMEM (counted). A sink whose queue is full counts it as queue-full.
 */
int output_submit(struct output *out, struct output_record *r);

/* n records of rule (and action) were lost for reason (RECORD_DROP_*) before reaching the queues. */
void output_count_dropped(struct output *out, const char *reason, const char *rule,
			  const char *action, uint64_t n);

/* SIGUSR1: reopen -o FILE (logrotate) before the next write. Errors come through notify. */
void output_reopen(struct output *out);

/* scan: the latest host gauges for the metrics file (rewritten at once). */
int output_host_metrics(struct output *out, const struct metrics_host *h);

/* watch: the daemon's numbers for the metrics file (rewritten at once). */
int output_watch_metrics(struct output *out, const struct metrics_watch *w);

/* Hot path: one completed watched call (no-op without --metrics-file). */
void output_observe(struct output *out, size_t slot, const char *syscall, uint64_t duration_ns);
void output_set_traced_threads(struct output *out, uint64_t n);
void output_set_suppressed(struct output *out, uint64_t n);
/* bulk counts of a backend that counts calls itself (metrics_set_histogram) */
void output_set_histogram(struct output *out, size_t slot, const char *syscall,
			  const uint64_t bucket[METRICS_DURATION_BUCKETS], uint64_t sum_ns);
void output_set_kernel_filtered(struct output *out, uint64_t n);

/* Is the metrics file on? (callers skip output_observe work otherwise) */
bool output_has_metrics(const struct output *out);

/*
 * Flush what is queued, report the last drops, write the metrics file a last
 * time, stop the threads and free everything. Waits at most close_timeout_ns
 * for the stream and syslog: what a blocked sink still holds then is counted
 * (stats->*.unflushed), and a final records-dropped record is tried once.
 * Then at most 1 s more for the metrics file's last rewrite. stats may be
 * NULL.
 */
void output_close(struct output *out, struct output_stats *stats);

/* syslog priority of a log.level name (LOG_WARNING for an unknown one) */
int output_priority_of(const char *level);

#endif
