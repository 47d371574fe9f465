/* SPDX-License-Identifier: MIT */
/*
 * record.h - schema v1 records (doc/schema.md) and where they go.
 *
 * The tracer fills a struct record_syscall with what it knows (borrowed
 * strings, valid for the call only) and hands it to recorder_syscall(), which
 * sanitises strings to UTF-8, encodes one JSON Lines record (or one text
 * line) and writes it to the sink with ONE write(2). Nothing here runs on the
 * tracer's fast path: only calls that crossed their threshold get here.
 */
#ifndef SW_RECORD_RECORD_H
#define SW_RECORD_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/error.h"

#define RECORD_SCHEMA_VERSION 1

enum record_format {
	RECORD_FORMAT_JSON,
	RECORD_FORMAT_TEXT,
};

/* Process identity; every string may be NULL (the process may be gone). */
struct record_process {
	pid_t pid; /* host tgid; 0 if unknown */
	pid_t tid; /* host tid */
	pid_t vpid; /* pid in its own pid namespace (NSpid: last field); 0 if unknown */
	const char *name; /* comm of the process */
	const char *thread_name; /* comm of the thread */
	const char *executable;
	const char *command_line; /* raw /proc/PID/cmdline bytes, NUL separated */
	size_t command_line_len;
	const char *cgroup; /* raw /proc/PID/cgroup text, one "ID:CONTROLLERS:PATH" per line */
};

/* At most this many ENOENT producers under a directory in stallwatch.host.enoent.top */
#define RECORD_ENOENT_TOP_MAX 5

/* One (process, directory) of the ENOENT-storm detector's table (tracer/storm.h). */
struct record_enoent_producer {
	pid_t pid; /* host tgid */
	char name[64]; /* comm, "" if unknown (PROCINFO_COMM_MAX) */
	char directory[4096];
	uint64_t distinct; /* distinct failed names since the pair was first seen (estimate) */
	uint64_t count; /* failed lookups since then */
};

/*
 * stallwatch.host of a syscall record (doc/schema.md, "stallwatch.host"):
 * the host signals that bear on that one call, named as in host records.
 * cgroupscan/hostctx.h fills it; each group is written only when its has_
 * flag is set. Owned strings: the record may outlive the sample it came from.
 */
struct record_call_host {
	/* a call on a cgroup memory.stat / cgroup.stat: the latest host sample */
	bool has_memcg;
	char memcg_hierarchy[8]; /* "v1", "v2", "none" */
	char memcg_unavailable[256]; /* why online/offline are left out, or "" */
	bool memcg_counted;
	uint64_t memcg_online, memcg_offline, memcg_offline_min, memcg_offline_max;
	bool has_memcg_rate;
	double memcg_offline_growth_per_min;
	bool has_stat_read;
	uint64_t stat_read_ns;
	char stat_read_path[4096];
	uint64_t memcg_sample_age_ns; /* how old the sample was when the record was built */
	bool has_memcg_previous; /* the sample before it: the trend */
	uint64_t previous_age_ns;
	bool previous_counted, previous_has_stat_read;
	uint64_t previous_offline, previous_stat_read_ns;

	/* inotify_add_watch, fanotify_mark, rmdir, umount2: dentry-state read for the record */
	bool has_dentry;
	uint64_t dentry_total, dentry_unused;
	bool has_dentry_negative;
	uint64_t dentry_negative;
	bool has_dentry_growth; /* since an earlier reading at least 1 s older */
	double dentry_negative_growth_per_s;
	uint64_t dentry_growth_interval_ns;
	/*
	 * ... and, when the ENOENT-storm detector runs, the traced processes
	 * that failed the most lookups of distinct names in that directory or
	 * below it (tracer/storm.h), most distinct names first
	 */
	bool has_enoent;
	char enoent_directory[4096];
	size_t n_enoent_top;
	struct record_enoent_producer enoent_top[RECORD_ENOENT_TOP_MAX];

	/* network calls: softnet_stat read for the record */
	bool has_softnet;
	uint64_t time_squeeze, softnet_dropped;
	bool has_softnet_delta; /* since the latest host sample */
	uint64_t time_squeeze_delta, softnet_dropped_delta, softnet_delta_interval_ns;

	/* PSI (not for waits): cpu, memory, io; absent without PSI; read at most every 100 ms */
	struct {
		bool present, has_full;
		double some_avg10, full_avg10;
	} pressure[3];

	uint64_t read_ns; /* what reading host files for this record cost */
};

/*
 * stallwatch.evidence (doc/schema.md): where a call's time went and where
 * in the kernel it waited, from whichever backend can tell (bpf: its
 * scheduler programs; /proc for the others). A field is written only when
 * its RECORD_EVIDENCE_* bit is in `known`.
 */
#define RECORD_EVIDENCE_TIMES 0x01u /* on_cpu_ns, runq_ns, blocked_ns, blocks */
#define RECORD_EVIDENCE_STATE 0x02u
#define RECORD_EVIDENCE_WCHAN 0x04u
#define RECORD_EVIDENCE_STACK 0x08u /* kernel_stack (n_frames may still be 0: see below) */
#define RECORD_EVIDENCE_WINDOW 0x10u /* the times cover window_ns, not the whole call */
#define RECORD_EVIDENCE_SAMPLES 0x20u /* cpu_samples (a sampler ran) */
#define RECORD_EVIDENCE_NO_BLOCKS 0x40u /* with TIMES: blocks was not counted (/proc) */

#define RECORD_EVIDENCE_FRAMES 32
#define RECORD_EVIDENCE_FRAME_LEN 128
#define RECORD_EVIDENCE_WCHAN_LEN 128

/* kernel_stack_from: what the stack shows */
#define RECORD_STACK_BLOCK "block" /* where the call last went to sleep */
#define RECORD_STACK_CPU_SAMPLE "cpu-sample" /* where a cpu-clock sample found it running */
#define RECORD_STACK_PROC "proc" /* /proc/TID/stack at the stuck moment */

/* kernel_stack_unavailable of /proc/TID/stack (procevidence.c) */
#define RECORD_STACK_RUNNING "running" /* a running thread has no readable stack */
#define RECORD_STACK_NOT_PERMITTED "not permitted (/proc/TID/stack needs CAP_SYS_ADMIN)"

struct record_evidence {
	unsigned int known; /* RECORD_EVIDENCE_* */
	uint64_t on_cpu_ns; /* on a CPU */
	uint64_t runq_ns; /* runnable, waiting for a CPU */
	uint64_t blocked_ns; /* asleep */
	uint64_t blocks; /* times it went to sleep */
	uint64_t window_ns; /* RECORD_EVIDENCE_WINDOW: the span the times cover */
	uint64_t cpu_samples;
	char state; /* R, S, D, ...: at the stuck moment, or at the last block */
	char wchan[RECORD_EVIDENCE_WCHAN_LEN]; /* the function it waits in */
	const char *stack_from; /* RECORD_STACK_* */
	/* NULL: frames below; else why there are none ("kernel addresses hidden") */
	const char *stack_unavailable;
	size_t n_frames; /* innermost first, "function+0xoff" */
	char frames[RECORD_EVIDENCE_FRAMES][RECORD_EVIDENCE_FRAME_LEN];
};

struct record_syscall {
	const char *action; /* "slow-syscall" or "stuck-syscall" */
	const char *rule_name; /* policy rule that fired */
	const char *level; /* syslog severity name */
	const char *const *tags; /* the rule's tags (top-level `tags` array), may be empty */
	size_t n_tags;
	struct record_process proc;
	const char *name; /* syscall name as the program made it */
	long nr;
	uint64_t args[6];
	bool has_ret; /* false for stuck calls and calls ended by the process's death */
	int64_t ret; /* negative errno on failure */
	const char *fd_path;
	const char *path;
	uint64_t start_mono_ns; /* the call's start */
	uint64_t event_mono_ns; /* @timestamp: end (slow) or threshold crossing (stuck) */
	uint64_t duration_ns; /* event.duration */
	uint64_t threshold_ns;
	uint64_t sched_delay_ns; /* tracer run-queue delay that overlapped the call (upper bound) */
	bool sched_delay_known; /* sched_delay_ns was measured: written even when 0 */
	bool partial; /* started before the attach */
	bool wait; /* blocks until an event by design (%wait) */
	const char *note; /* extra human context for the message, or NULL */
	/* how the call was seen: RECORD_BACKEND_*; NULL leaves stallwatch.backend out */
	const char *backend;
	/*
	 * The end was bracketed, not seen (notify): duration_ns is the proven
	 * lower bound, duration_max_ns (when has_duration_max) the upper one.
	 */
	bool approximate;
	bool has_duration_max;
	uint64_t duration_max_ns;
	const char *end_seen; /* RECORD_END_*: what showed the bracketed end, or NULL */
	const char *inflight_evidence; /* RECORD_INFLIGHT_*: what proved it in flight, or NULL */
	const struct record_call_host *host; /* stallwatch.host, or NULL */
	const struct record_evidence *evidence; /* stallwatch.evidence, or NULL */
};

/* stallwatch.backend */
#define RECORD_BACKEND_PTRACE "ptrace"
#define RECORD_BACKEND_NOTIFY "seccomp-notify"
#define RECORD_BACKEND_BPF "bpf"

/* stallwatch.end_seen: how the end of a bracketed call was seen (doc/schema.md) */
#define RECORD_END_NEXT_CALL "next-call" /* the thread's next notification */
#define RECORD_END_PROC_SAMPLE "proc-sample" /* /proc/TID/syscall no longer shows it */
#define RECORD_END_CPU_TIME "cpu-time" /* its user CPU time grew: back in user space */
#define RECORD_END_THREAD_EXIT "thread-exit" /* the thread was gone */

/* stallwatch.inflight_evidence: what proved a call still in flight (doc/schema.md) */
#define RECORD_INFLIGHT_PROC_SYSCALL "proc-syscall" /* /proc/TID/syscall: same nr, args, pc */
#define RECORD_INFLIGHT_CPU_TIME "cpu-time" /* running; only its system CPU time grew */
#define RECORD_INFLIGHT_STATE "state" /* /proc/TID/syscall unreadable: its state S or D */

/* One slab family in a host record (top growing caches, leak suspects). */
struct record_slab_cache {
	const char *name;
	uint64_t bytes;
	double slope_bytes_per_hour;
	double r2;
	double span_s;
};

/* A pressure (PSI) resource, /proc/pressure/NAME. */
struct record_pressure {
	const char *name; /* "cpu", "memory", "io" */
	double some_avg10, full_avg10;
	bool has_full;
};

/*
 * A host record: `host-scan` (event.kind metric) or one of its alerts
 * (memcg-offline, memcg-stat-slow, negative-dentries, slab-growth; event.kind
 * alert). Each group of fields is written only when its has_ flag is set, so
 * a host without a signal has no field for it (doc/scan.md: a group of
 * fields is left out when its source cannot be read).
 */
struct record_host {
	const char *action;
	const char *level;
	const char *rule_name;
	const char *message; /* NULL: written from the fields */
	uint64_t sample_mono_ns; /* @timestamp */
	uint64_t scan_ns; /* event.duration and stallwatch.self.scan_ns */

	bool has_memcg;
	const char *memcg_hierarchy; /* "v1" / "v2" / "none" */
	const char *memcg_unavailable; /* why offline is not counted, or NULL */
	bool memcg_counted;
	uint64_t memcg_online, memcg_offline, memcg_offline_min, memcg_offline_max;
	uint64_t memcg_est_pinned_bytes;
	bool memcg_walked;
	uint64_t memcg_walk_ns;
	bool has_memcg_rate;
	double memcg_offline_growth_per_min;
	bool has_stat_read;
	uint64_t stat_read_ns, stat_read_p50_ns, stat_reads;
	const char *stat_read_path;

	bool has_dentry;
	uint64_t dentry_total, dentry_unused;
	bool has_dentry_negative;
	uint64_t dentry_negative;
	bool has_dentry_rate;
	double dentry_negative_rate_per_s;

	bool has_slab; /* meminfo */
	uint64_t slab_unreclaimable_bytes, slab_reclaimable_bytes, mem_total_bytes;
	bool has_percpu;
	uint64_t percpu_bytes;
	bool slab_sampled; /* /proc/slabinfo was read this scan */
	uint64_t slab_read_ns;
	const char *slab_unavailable;
	const struct record_slab_cache *slab_top;
	size_t n_slab_top;

	bool has_softnet;
	uint64_t time_squeeze;
	bool has_squeeze_delta;
	uint64_t time_squeeze_delta;

	const struct record_pressure *pressure;
	size_t n_pressure;

	/* alerts: why, and what to do next */
	const char *alert_reason;
	const char *alert_next_step;
	const char *alert_cache; /* slab-growth: the family */
};

/*
 * An enoent-storm record (doc/schema.md): one process failed lookups of
 * many distinct names in one directory (tracer/enoent.h decides).
 */
struct record_enoent {
	const char *level;
	const char *rule_name;
	/*
	 * What fired: NULL or "window" (distinct_per_s over the window), "day"
	 * (distinct_per_day within a day; window_ns is then the day)
	 */
	const char *trigger;
	struct record_process proc;
	const char *directory; /* resolved path, or NULL */
	uint64_t dir_dev, dir_ino; /* the start directory's device and inode (0, 0: the root) */
	uint64_t start_mono_ns; /* the storm's first failed lookup (event.start) */
	uint64_t last_mono_ns; /* its latest (event.duration ends there) */
	uint64_t event_mono_ns; /* @timestamp: when the record was made */
	uint64_t distinct; /* distinct failed names of the storm (estimate) */
	uint64_t count; /* failed lookups of the storm */
	double rate_per_s; /* distinct / (last - start) */
	double peak_per_s; /* highest window rate seen */
	double threshold_per_s; /* distinct_per_s of the policy */
	uint64_t window_ns;
	double distinct_error_pct; /* the sketch's standard error */
	uint64_t total_distinct, total_count; /* since the directory was first seen failing */
	uint64_t tracked_since_mono_ns;
	uint64_t evictions; /* pairs the detector dropped for room so far */
	const char *const *samples;
	size_t n_samples;
	const char *backend;
	const char *note; /* why the record came early, or NULL */
};

/*
 * `watch`: the daemon's own cost and its target set, every 60 s and at exit
 * (event.action watch-status, event.kind metric; doc/schema.md). Its
 * stallwatch.self object extends the host-scan record's.
 */
struct record_watch_status {
	uint64_t mono_ns; /* @timestamp */
	uint64_t since_mono_ns; /* the previous watch-status (or the start): event.duration */
	uint64_t uptime_ns; /* since the daemon started */
	uint64_t rss_bytes; /* VmRSS */
	uint64_t cpu_ns; /* user + system of every thread (getrusage RUSAGE_SELF) */
	uint64_t targets; /* processes watched now */
	uint64_t added, released, exited; /* since start */
	uint64_t missed_max_targets, missed_failed; /* matched but not watched */
	uint64_t connector_lost; /* proc connector overruns */
	uint64_t pickups, pickup_ns_max, pickup_ns_mean; /* exec-to-watched delay */
	uint64_t stop_ns_max; /* ptrace: longest a target was held stopped */
	uint64_t scans, scans_lost; /* host scans done; results dropped untaken */
	const char *backend; /* "bpf", "ptrace" */
	bool host_wide; /* host-wide rules are applied */
};

/* --summary: one row per syscall (strace -c -w plus min/max/p99). */
struct record_summary_row {
	const char *name;
	uint64_t calls, errors, total_ns, min_ns, max_ns, p99_ns;
	/*
	 * Calls seen without their end or result (the notify backend): they
	 * count in calls only; times and errors cover calls - untimed.
	 */
	uint64_t untimed;
};

struct record_summary {
	const struct record_summary_row *rows; /* sorted by total_ns, descending */
	size_t n_rows;
	uint64_t since_mono_ns; /* when counting started */
	uint64_t mono_ns; /* now */
};

/* records-dropped: why records were lost (stallwatch.dropped.reason) */
#define RECORD_DROP_RATE_LIMIT "rate-limit" /* the rule's per-process rate limit */
#define RECORD_DROP_QUEUE_FULL "queue-full" /* the output queue was full */
#define RECORD_DROP_WRITE_ERROR "write-error" /* a sink could not write it */
#define RECORD_DROP_KERNEL_BUFFER "kernel-buffer" /* bpf: no room in the kernel's ring buffer */
#define RECORD_DROP_RULE "stallwatch.records-dropped" /* rule.name of the record */

/* A records-dropped record: count records of one rule lost for one reason. */
struct record_dropped {
	const char *reason; /* RECORD_DROP_* */
	const char *rule; /* the rule of the lost records */
	const char *action; /* their event.action (slow-syscall, stuck-syscall, ...) or NULL */
	const char *sink; /* write-error: which sink ("output `FILE`", "stdout", ...) */
	int error; /* write-error: the errno of the first failure */
	uint64_t count;
	uint64_t since_mono_ns; /* start of the counting window (event.start) */
	uint64_t mono_ns; /* @timestamp */
	bool final; /* the report at exit */
};

/*
 * Encoders: one malloc'd line ending in '\n' (JSON Lines or one text line),
 * or NULL on ENOMEM. No I/O: the recorder (recorder.h) queues the lines.
 */
char *record_encode_syscall(const struct record_syscall *ev, const char *host_name,
			    uint64_t real_minus_mono_ns, enum record_format format);
char *record_encode_host(const struct record_host *hr, const char *host_name,
			 uint64_t real_minus_mono_ns, enum record_format format);
/* --summary: one `summary` record (event.kind metric) in JSON, an aligned table in text */
char *record_encode_summary(const struct record_summary *sum, const char *host_name,
			    uint64_t real_minus_mono_ns, enum record_format format);
char *record_encode_dropped(const struct record_dropped *d, const char *host_name,
			    uint64_t real_minus_mono_ns, enum record_format format);
char *record_encode_enoent(const struct record_enoent *ev, const char *host_name,
			   uint64_t real_minus_mono_ns, enum record_format format);
void record_enoent_message(const struct record_enoent *ev, char *buf, size_t size);
void record_dropped_message(const struct record_dropped *d, char *buf, size_t size);
char *record_encode_watch_status(const struct record_watch_status *ws, const char *host_name,
				 uint64_t real_minus_mono_ns, enum record_format format);
void record_watch_status_message(const struct record_watch_status *ws, char *buf, size_t size);

/*
 * The column titles of the text format, with units, as one line ending in
 * '\n' (static, never NULL). Written once before the first text record of an
 * output, like the header of perf trace and the bcc tools.
 */
const char *record_text_header(void);
/*
 * The same for an output of host records (scan): their own columns, the
 * host numbers (memcgs online/offline, the slowest memory.stat read,
 * negative dentries, unreclaimable slab, PSI), then DETAIL.
 */
const char *record_text_host_header(void);

/* The human message of a record, e.g. "read() of /x took 153.0 ms (threshold 50 ms) in cat[1/1]". */
void record_message(const struct record_syscall *ev, char *buf, size_t size);

#endif
