/* SPDX-License-Identifier: MIT */
/*
 * recorder.h - what the tracer and the scan loop call to emit records.
 *
 * A recorder encodes a record in the formats its sinks need (JSON for a JSON
 * stream and for syslog, one text line for a text stream; record.h) and
 * queues it for the sinks' writer threads (output.h). It never does I/O
 * itself, so a slow sink can never stall the tracer: records are dropped and
 * counted instead (records-dropped, doc/sinks.md). Only calls that crossed their
 * threshold get here; the one hot-path entry is recorder_observe().
 */
#ifndef SW_RECORD_RECORDER_H
#define SW_RECORD_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/error.h"
#include "metrics.h"
#include "output.h"
#include "record.h"

struct recorder_options {
	const char *output_path; /* -o FILE, or NULL: fd */
	int fd; /* STDOUT_FILENO or STDERR_FILENO (run: the command owns stdout) */
	enum record_format format;
	bool format_auto; /* text when the stream is a terminal */
	bool syslog; /* --syslog */
	const char *metrics_path; /* --metrics-file */
	const char *mode; /* "run", "attach", "scan" */
	size_t metrics_slots; /* run/attach: syscall slots of the duration histogram */
	/* a sink failed or recovered: one line for stderr (from a writer thread) */
	void (*notify)(void *opaque, const char *line);
	void *notify_opaque;
};

struct recorder {
	struct output *out;
	enum record_format format; /* of the stream */
	bool want_json; /* a JSON stream or syslog needs the JSON line */
	char host_name[256];
	/*
	 * CLOCK_REALTIME - CLOCK_MONOTONIC, kept while it moves by less than
	 * 1 ms (NTP slew), so the stuck and the slow record of one call carry
	 * the same event.start; a clock step is picked up at once.
	 */
	int64_t real_minus_mono_ns;
};

/*
 * Open the sinks (a sink's writer thread starts with its first record and
 * ends when idle). Never waits: a -o FIFO without a reader is opened when one
 * comes (recorder_waits_for_reader).
 */
int recorder_init(struct recorder *rec, const struct recorder_options *o, struct sw_error *err);
/* -o FILE is a FIFO nobody had open for reading: records wait in the queue until someone does. */
static inline bool recorder_waits_for_reader(const struct recorder *rec)
{
	return output_waits_for_reader(rec->out);
}
/* Flush, report the last drops, stop the writer; stats may be NULL. */
void recorder_done(struct recorder *rec, struct output_stats *stats);

/* Encode and queue. 0, or -errno: the record was dropped (and counted). */
int recorder_syscall(struct recorder *rec, const struct record_syscall *ev);
int recorder_host(struct recorder *rec, const struct record_host *hr);
int recorder_summary(struct recorder *rec, const struct record_summary *sum);
int recorder_enoent(struct recorder *rec, const struct record_enoent *ev);
int recorder_watch_status(struct recorder *rec, const struct record_watch_status *ws);

/* n records of rule and action were cut before encoding (RECORD_DROP_RATE_LIMIT). */
void recorder_dropped(struct recorder *rec, const char *reason, const char *rule,
		      const char *action, uint64_t n);

/* SIGUSR1: reopen -o FILE before the next write (no-op for stdout/stderr). */
void recorder_reopen(struct recorder *rec);

/* scan: the host gauges of the metrics file. */
int recorder_host_metrics(struct recorder *rec, const struct metrics_host *h);
/* watch: the daemon's gauges and counters of the metrics file. */
int recorder_watch_metrics(struct recorder *rec, const struct metrics_watch *w);

/* hot path: a completed watched call, for the metrics file's histogram */
static inline bool recorder_wants_durations(const struct recorder *rec)
{
	return output_has_metrics(rec->out);
}
static inline void recorder_observe(struct recorder *rec, size_t slot, const char *syscall,
				    uint64_t duration_ns)
{
	output_observe(rec->out, slot, syscall, duration_ns);
}
static inline void recorder_set_traced_threads(struct recorder *rec, uint64_t n)
{
	output_set_traced_threads(rec->out, n);
}
static inline void recorder_set_suppressed(struct recorder *rec, uint64_t n)
{
	output_set_suppressed(rec->out, n);
}
/* a backend that counts calls itself (bpf): one syscall's histogram, whole */
static inline void recorder_set_histogram(struct recorder *rec, size_t slot, const char *syscall,
					  const uint64_t bucket[METRICS_DURATION_BUCKETS],
					  uint64_t sum_ns)
{
	output_set_histogram(rec->out, slot, syscall, bucket, sum_ns);
}
static inline void recorder_set_kernel_filtered(struct recorder *rec, uint64_t n)
{
	output_set_kernel_filtered(rec->out, n);
}

#endif
