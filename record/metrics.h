/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - `--metrics-file=FILE`: Prometheus text exposition (format
 * 0.0.4) for node_exporter's textfile collector (doc/metrics.md).
 *
 * FILE is replaced atomically: the text is written to `<dir>/.<base>.<pid>.tmp`
 * (mode 0644 whatever the umask, so node_exporter's user can read it) and
 * rename(2)d over FILE, so the collector never reads half a file. The temp
 * name does not end in `.prom`, so the collector never picks it up.
 *
 * API:
 *   metrics_new/metrics_free       create (wall start time taken here), free
 *   metrics_observe                HOT PATH: one completed watched call
 *   metrics_count_record           one record made (action, rule, syscall)
 *   metrics_count_dropped          n records of a rule lost for a reason on a sink
 *   metrics_set_host               the latest host scan (`stallwatch scan`)
 *   metrics_set_watch              the watch daemon's targets and own cost
 *   metrics_count_stall            one slow/stuck record, by rule and severity
 *   metrics_set_traced_threads     run/attach: how many threads are traced
 *   metrics_render                 the exposition text (malloc'd)
 *   metrics_write                  render + temp file + rename over FILE
 *
 * Threading:
 *   - metrics_observe() is called by ONE thread, the tracer (single writer).
 *     It takes no lock and makes no syscall: the first call for a slot
 *     allocates the slot's entry and publishes it with a RELEASE store; later
 *     calls are relaxed atomic load+store increments (one writer needs no
 *     locked read-modify-write).
 *   - Every other function is called from ONE other thread (the metrics
 *     file's writer thread) or with the caller's lock held. metrics_render() and
 *     metrics_write() read the observe() entries with ACQUIRE/relaxed atomic
 *     loads, concurrently with metrics_observe().
 *   - metrics_new() and metrics_free() run while no other thread uses m.
 *
 * Bounded size: each counter family keeps at most METRICS_MAX_SERIES label
 * sets; later ones are counted with rule="_other" (other labels kept) in at
 * most METRICS_MAX_OVERFLOW more series, and past that in one series whose
 * labels are all "_other". A hostile policy cannot grow FILE without bound.
 */
#ifndef SW_RECORD_METRICS_H
#define SW_RECORD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/error.h"

#define METRICS_MAX_SERIES 10000
#define METRICS_MAX_OVERFLOW 1000
#define METRICS_OTHER "_other"

/* The latest host scan (stallwatch scan); each has_ flag says whether its group was measured. */
struct metrics_host {
	uint64_t sample_unix_ns; /* wall time of the sample */
	uint64_t scan_ns; /* how long the scan took */
	bool has_memcg;
	uint64_t memcg_online, memcg_offline;
	bool has_stat_read;
	uint64_t stat_read_ns; /* slowest self-timed memory.stat read */
	bool has_dentry;
	uint64_t dentry_total;
	bool has_dentry_negative;
	uint64_t dentry_negative;
	bool has_slab;
	uint64_t slab_unreclaimable_bytes, slab_reclaimable_bytes;
};

/* `watch`: the daemon's target set and own cost (doc/metrics.md, "watch"). */
struct metrics_watch {
	uint64_t targets; /* watched now */
	uint64_t added_total, released_total;
	uint64_t missed_max_targets, missed_failed;
	uint64_t pickup_ns_max; /* worst exec-to-watched delay */
	uint64_t rss_bytes; /* stallwatch_self_resident_bytes */
};

struct metrics;

/*
 * path: FILE; mode: "run", "attach" or "scan" (stallwatch_info); n_slots:
 * size of the syscall slot table of metrics_observe() (0 for scan: no
 * duration histogram, no stallwatch_traced_threads). Writes nothing.
 * Returns NULL with errno set (EINVAL, ENOMEM) on failure.
 */
struct metrics *metrics_new(const char *path, const char *mode, size_t n_slots);
void metrics_free(struct metrics *m);

/*
 * HOT PATH, tracer thread only: one completed watched call. slot < n_slots
 * identifies the syscall (the caller computes it, e.g. abi * NR_MAX + nr);
 * syscall is its name, a static string that outlives m (NULL: "unknown").
 * Slots with the same name are one series. If the first call of a slot cannot allocate, that
 * call is not counted (the next one tries again). slot >= n_slots is ignored.
 */
void metrics_observe(struct metrics *m, size_t slot, const char *syscall, uint64_t duration_ns);

/*
 * The duration histogram's buckets: le bounds in ns (the last bucket,
 * +Inf, has none). For backends that count calls elsewhere (bpf: in the
 * kernel) with the same bounds.
 */
#define METRICS_DURATION_BUCKETS 8
extern const uint64_t metrics_duration_le_ns[METRICS_DURATION_BUCKETS - 1];

/*
 * Tracer thread only, like metrics_observe(): set slot's series to counts
 * taken elsewhere (bulk: bpf sums the kernel's per-CPU counts): bucket[i]
 * calls in bucket i (not cumulative), sum_ns their total. Replaces what
 * the slot had; a slot is either observed or set, never both.
 */
void metrics_set_histogram(struct metrics *m, size_t slot, const char *syscall,
			   const uint64_t bucket[METRICS_DURATION_BUCKETS], uint64_t sum_ns);

/* Calls observed so far (any thread; the writer compares it to skip unchanged rewrites). */
uint64_t metrics_observed(const struct metrics *m);

/* One record made; syscall is NULL for records not about a call (label ""). 0 or -ENOMEM. */
int metrics_count_record(struct metrics *m, const char *action, const char *rule,
			 const char *syscall);

/*
 * n records of rule lost for reason (rate-limit, queue-full, write-error) on
 * sink ("stream", "syslog", "metrics"; "" or NULL: before any sink, e.g. a
 * rate limit). 0 or -ENOMEM.
 */
int metrics_count_dropped(struct metrics *m, const char *reason, const char *rule, const char *sink,
			  uint64_t n);

/* The latest host scan (copied); also counts stallwatch_scans_total. */
void metrics_set_host(struct metrics *m, const struct metrics_host *h);

/* watch: the daemon's numbers (copied), rendered from then on. */
void metrics_set_watch(struct metrics *m, const struct metrics_watch *w);

/*
 * A slow-syscall or stuck-syscall record of rule at severity (its
 * log.level): stallwatch_stalls_total{rule,severity}. 0 or -ENOMEM.
 */
int metrics_count_stall(struct metrics *m, const char *rule, const char *severity);

/* run/attach: stallwatch_calls_suppressed_total (calls explained by our own scheduling delay). */
void metrics_set_suppressed(struct metrics *m, uint64_t n);

/* run/attach: stallwatch_calls_filtered_in_kernel_total (bpf: %wait decided in the kernel). */
void metrics_set_kernel_filtered(struct metrics *m, uint64_t n);

/* run/attach: stallwatch_traced_threads. */
void metrics_set_traced_threads(struct metrics *m, uint64_t n);

/* The exposition text, malloc'd (the caller frees it), or NULL on ENOMEM. */
char *metrics_render(struct metrics *m);

/*
 * Render and replace FILE (temp file + rename). On any error the temp file
 * is removed, FILE is left as it was, and -errno is returned with err set
 * ("cannot write metrics file `FILE`").
 */
int metrics_write(struct metrics *m, struct sw_error *err);

#endif
