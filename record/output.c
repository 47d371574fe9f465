/* SPDX-License-Identifier: MIT */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <paths.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "../common/macro.h"
#include "../common/thread.h"
#include "../common/timeutil.h"

#define DEFAULT_QUEUE_RECORDS 4096
#define DEFAULT_QUEUE_BYTES (16u << 20)
#define DEFAULT_DROP_REPORT_NS (30 * NSEC_PER_SEC) /* Falco's rate for its drop alerts */
#define DEFAULT_METRICS_NS (1 * NSEC_PER_SEC)
#define DEFAULT_RETRY_NS (1 * NSEC_PER_SEC)
#define DEFAULT_CLOSE_TIMEOUT_NS (5 * NSEC_PER_SEC)
#define DEFAULT_IDLE_EXIT_NS (1 * NSEC_PER_SEC)
/* a writer waiting for room (or for a FIFO's reader) looks at the close limit this often */
#define BLOCKED_SLICE_NS (100 * NSEC_PER_MSEC)
/* close: past its limit, what a writer stuck in a call poll(2) cannot cover still gets */
#define CLOSE_GRACE_NS (500 * NSEC_PER_MSEC)
/* close: the metrics file's last rewrite, after the other sinks are done */
#define METRICS_CLOSE_NS (1 * NSEC_PER_SEC)
/* distinct drop counters; past it they share one "_other" rule */
#define MAX_DROP_ENTRIES 1024

enum sink_kind { SINK_STREAM, SINK_SYSLOG, SINK_METRICS, N_SINKS };

/* the sink label of stallwatch_records_dropped_total */
static const char *const sink_metric_name[N_SINKS] = { "stream", "syslog", "metrics" };

/* A record, shared by the queues of the sinks that take it. */
struct queued {
	struct queued *next[N_SINKS];
	unsigned refs; /* queues holding it, + the producer while it submits (under lock) */
	char *json, *text;
	int priority;
	size_t bytes;
	char *action, *rule, *syscall; /* point into strings[] */
	char strings[];
};

#define DROP_ALL (-1) /* lost before any sink (rate-limit): every sink reports it */

struct drop_entry {
	char *reason, *rule, *action;
	int sink; /* DROP_ALL, or the enum sink_kind that lost them */
	int error; /* write-error: the errno (part of the key) */
	uint64_t count; /* since open */
	uint64_t reported
		[N_SINKS]; /* count when the last records-dropped record went to that sink */
	uint64_t since_ns[N_SINKS]; /* start of that sink's current reporting window */
	uint64_t metered; /* count already added to the metrics */
};

enum write_mode {
	WRITE_PLAIN, /* write(2): O_NONBLOCK on a description of our own, or a regular file */
	WRITE_SEND, /* send(2) with MSG_DONTWAIT: a socket we share (journald's stream) or ours */
	WRITE_POLLED, /* a blocking description we must not change: poll(2) for room, then write */
};

/* what became of one record on one sink */
enum outcome { DELIVERED, SKIPPED, LOST, GAVE_UP };

/*
 * sink_write() and friends: the close limit passed while the sink was
 * blocked (an errno that write(2), send(2) and open(2) never return)
 */
#define GAVE_UP_RC (-ECANCELED)

struct sink {
	struct output *out;
	enum sink_kind kind;
	bool on;
	char *label; /* stallwatch.dropped.sink: "output `FILE`", "stdout", "stderr", "syslog" */
	char *where; /* in notices: the label, "syslog (/dev/log)", "metrics file `FILE`" */

	/* ---- under out->lock ---- */
	struct queued *head, *tail;
	size_t records, bytes;
	bool reopen_requested, host_pending, watch_pending;
	struct metrics_host host;
	struct metrics_watch watch;
	bool stopping; /* close: take what is queued, report, end */
	bool started; /* a thread was created and not joined */
	bool idle_exited; /* it ended for lack of work: join it, start anew */
	bool done; /* it ended after stopping */
	bool abandoned; /* close gave up on it: it touches nothing any more */
	pthread_t thread;
	pthread_cond_t wake;
	uint64_t written, dropped_queue, dropped_write, unflushed;
	bool no_reader;

	/* ---- its writer thread (and open/close, when no thread runs) ---- */
	int fd;
	bool owns_fd;
	enum write_mode mode;
	bool failing;
	bool gave_up; /* the close limit passed with records in its queue */
	int error; /* errno of the current failure episode */
	uint64_t next_retry_ns;
	uint64_t last_drop_report_ns;
	/* the stream */
	char *path; /* -o FILE */
	enum record_format format;
	bool journal; /* $JOURNAL_STREAM is this fd: prefix "<N>" (sd-daemon(3)) */
	bool header_due; /* text: the column header goes before the next line */
	bool host_header; /* scan: the host columns' header, not the syscall one */
	/* syslog */
	struct sockaddr_un addr;
	int sock_type;
	int pid;
	/* the metrics file */
	uint64_t next_metrics_ns;
	bool metrics_dirty; /* a record or a drop since the last rewrite */
	uint64_t metrics_observed; /* calls in the histogram at the last rewrite */
	uint64_t metrics_suppressed; /* suppressed calls at the last rewrite */
	uint64_t metrics_kernel_filtered; /* calls filtered in the kernel at the last rewrite */
	uint64_t dropped_records_metered; /* records-dropped records counted in the metrics */
};

struct output {
	struct output_options o;
	char *host_name;
	struct sink sink[N_SINKS];
	struct metrics *metrics;
	bool waits_for_reader; /* -o FIFO had no reader at open */
	uint64_t traced_threads; /* tracer stores, metrics writer reads (relaxed) */
	uint64_t suppressed; /* the same */
	uint64_t kernel_filtered; /* the same */
	uint64_t dropped_records_written; /* records-dropped records the stream wrote (atomic) */
	uint64_t close_deadline_ns; /* 0 until close; then its limit (atomic) */

	pthread_mutex_t lock;
	pthread_cond_t finished; /* a thread set done */
	struct drop_entry *drops; /* under lock */
	size_t n_drops;
};

/* log.level names by syslog priority: LOG_EMERG is 0 ... LOG_DEBUG is 7 */
static const char *const level_names[] = { "emergency", "alert",  "critical",	   "error",
					   "warning",	"notice", "informational", "debug" };

int output_priority_of(const char *level)
{
	for (size_t i = 0; level && i < ARRAY_SIZE(level_names); i++)
		if (strcmp(level, level_names[i]) == 0)
			return (int)i; /* LOG_EMERG is 0 ... LOG_DEBUG is 7 */
	return LOG_WARNING;
}

static void notify(struct output *out, const char *fmt, ...) _printf_(2, 3);
static void notify(struct output *out, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!out->o.notify)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	out->o.notify(out->o.notify_opaque, line);
}

static struct timespec timespec_of(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / NSEC_PER_SEC),
				  .tv_nsec = (long)(ns % NSEC_PER_SEC) };
}

static bool is_write_error(const struct drop_entry *d)
{
	return strcmp(d->reason, RECORD_DROP_WRITE_ERROR) == 0;
}

/* ---- opening the stream --------------------------------------------------- */

/* sd_journal_stream_fd(3): $JOURNAL_STREAM is "DEV:INODE" of the journal's stream socket. */
static bool fd_is_journal(int fd)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2 || fstat(fd, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static bool is_fifo(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISFIFO(st.st_mode);
}

/*
 * -o FILE, never waiting: open(2) of a FIFO without O_NONBLOCK blocks until
 * a reader comes, with O_NONBLOCK it fails with ENXIO instead (fifo(7)).
 * The description is ours: a FIFO or a terminal keeps O_NONBLOCK (the writer
 * polls), a regular file is written plainly. The fd, or -errno.
 */
static int open_stream_path(const char *path)
{
	int fd =
		open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
	struct stat st;
	int flags;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (flags = fcntl(fd, F_GETFL)) >= 0)
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	return fd;
}

/*
 * stdout or stderr: never change its flags (the caller's shell and, in run,
 * the command share the description). A pipe or FIFO gets a description of
 * our own through /proc/self/fd, with O_NONBLOCK; a socket is sent to with
 * MSG_DONTWAIT; a regular file is written plainly; anything else (a
 * terminal) is polled for room before each write.
 */
static void stream_adopt_fd(struct sink *s, int fd)
{
	struct stat st;
	int flags;

	s->fd = fd;
	s->owns_fd = false;
	s->mode = WRITE_POLLED;
	if (fstat(fd, &st) < 0)
		return; /* writes will say why */
	if (S_ISSOCK(st.st_mode)) {
		s->mode = WRITE_SEND;
		return;
	}
	flags = fcntl(fd, F_GETFL);
	if (S_ISREG(st.st_mode) || (flags >= 0 && (flags & O_NONBLOCK))) {
		s->mode = WRITE_PLAIN;
		return;
	}
	if (S_ISFIFO(st.st_mode)) {
		char proc[64];
		int own;

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		own = open(proc, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (own >= 0) {
			s->fd = own;
			s->owns_fd = true;
			s->mode = WRITE_PLAIN;
		}
	}
}

/* ---- open ------------------------------------------------------------------ */

static void sink_free_fields(struct sink *s)
{
	if (s->owns_fd && s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->label);
	free(s->where);
	free(s->path);
}

static void output_free(struct output *out)
{
	for (size_t i = 0; i < out->n_drops; i++) {
		free(out->drops[i].reason);
		free(out->drops[i].rule);
		free(out->drops[i].action);
	}
	free(out->drops);
	for (int k = 0; k < N_SINKS; k++) {
		sink_free_fields(&out->sink[k]);
		pthread_cond_destroy(&out->sink[k].wake);
	}
	metrics_free(out->metrics);
	free(out->host_name);
	pthread_cond_destroy(&out->finished);
	pthread_mutex_destroy(&out->lock);
	free(out);
}

static int open_stream(struct output *out, const struct output_options *o, struct sw_error *err)
{
	struct sink *s = &out->sink[SINK_STREAM];
	bool tty = false;

	s->on = true;
	if (o->path) {
		int fd;

		s->path = strdup(o->path);
		if (asprintf(&s->label, "output `%s`", o->path) < 0)
			s->label = NULL;
		if (!s->path || !s->label)
			return sw_error_set(err, -ENOMEM, "out of memory");
		fd = open_stream_path(o->path);
		if (fd == -ENXIO && is_fifo(o->path)) {
			/* no process has it open for reading: opened when one does */
			out->waits_for_reader = true;
		} else if (fd < 0) {
			return sw_error_set(err, fd, "cannot open output `%s`", o->path);
		} else {
			s->fd = fd;
			s->owns_fd = true;
			s->mode = WRITE_PLAIN;
			tty = isatty(fd);
		}
	} else {
		s->label = strdup(o->fd == STDERR_FILENO ? "stderr" : "stdout");
		if (!s->label)
			return sw_error_set(err, -ENOMEM, "out of memory");
		s->journal = fd_is_journal(o->fd);
		tty = isatty(o->fd);
		stream_adopt_fd(s, o->fd);
	}
	s->where = strdup(s->label);
	if (!s->where)
		return sw_error_set(err, -ENOMEM, "out of memory");
	/* --format not given: text for a terminal (perf trace, bcc), JSON Lines otherwise */
	s->format = o->format_auto ? (tty ? RECORD_FORMAT_TEXT : RECORD_FORMAT_JSON) : o->format;
	s->header_due = s->format == RECORD_FORMAT_TEXT;
	s->host_header = o->mode && strcmp(o->mode, "scan") == 0;
	return 0;
}

static int open_syslog(struct output *out, const struct output_options *o, struct sw_error *err)
{
	struct sink *s = &out->sink[SINK_SYSLOG];
	const char *path = o->syslog_path ? o->syslog_path : _PATH_LOG;

	s->on = true;
	s->addr.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(s->addr.sun_path))
		return sw_error_set(err, -ENAMETOOLONG, "syslog socket `%s`", path);
	memcpy(s->addr.sun_path, path, strlen(path) + 1);
	s->sock_type = SOCK_DGRAM;
	s->pid = (int)getpid();
	s->label = strdup("syslog");
	if (asprintf(&s->where, "syslog (%s)", path) < 0)
		s->where = NULL;
	if (!s->label || !s->where)
		return sw_error_set(err, -ENOMEM, "out of memory");
	return 0;
}

static int open_metrics(struct output *out, const struct output_options *o, struct sw_error *err)
{
	struct sink *s = &out->sink[SINK_METRICS];

	s->on = true;
	out->metrics = metrics_new(o->metrics_path, o->mode ? o->mode : "run", o->metrics_slots);
	if (!out->metrics)
		return sw_error_set(err, -errno, "metrics file `%s`", o->metrics_path);
	if (asprintf(&s->label, "metrics file `%s`", o->metrics_path) < 0)
		return sw_error_set(err, -ENOMEM, "out of memory");
	s->where = strdup(s->label);
	if (!s->where)
		return sw_error_set(err, -ENOMEM, "out of memory");
	/* fail early and clearly on a bad directory, not in the writer thread */
	return metrics_write(out->metrics, err);
}

int output_open(struct output **ret, const struct output_options *o, struct sw_error *err)
{
	struct output *out = calloc(1, sizeof(*out));
	pthread_condattr_t attr;
	uint64_t now = sw_mono_ns();
	int r;

	if (!out)
		return sw_error_set(err, -ENOMEM, "out of memory");
	out->o = *o;
	if (!out->o.queue_max_records)
		out->o.queue_max_records = DEFAULT_QUEUE_RECORDS;
	if (!out->o.queue_max_bytes)
		out->o.queue_max_bytes = DEFAULT_QUEUE_BYTES;
	if (!out->o.drop_report_interval_ns)
		out->o.drop_report_interval_ns = DEFAULT_DROP_REPORT_NS;
	if (!out->o.metrics_interval_ns)
		out->o.metrics_interval_ns = DEFAULT_METRICS_NS;
	if (!out->o.retry_interval_ns)
		out->o.retry_interval_ns = DEFAULT_RETRY_NS;
	if (!out->o.close_timeout_ns)
		out->o.close_timeout_ns = DEFAULT_CLOSE_TIMEOUT_NS;
	if (!out->o.idle_exit_ns)
		out->o.idle_exit_ns = DEFAULT_IDLE_EXIT_NS;
	/* not kept: copies below */
	out->o.path = out->o.metrics_path = out->o.syslog_path = NULL;
	pthread_mutex_init(&out->lock, NULL);
	/* timed waits on CLOCK_MONOTONIC: a wall-clock step must not stall or spin a writer */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&out->finished, &attr);
	for (int k = 0; k < N_SINKS; k++) {
		struct sink *s = &out->sink[k];

		s->out = out;
		s->kind = (enum sink_kind)k;
		s->fd = -1;
		s->last_drop_report_ns = now;
		pthread_cond_init(&s->wake, &attr);
	}
	pthread_condattr_destroy(&attr);
	out->host_name = strdup(o->host_name ? o->host_name : "localhost");
	if (!out->host_name) {
		r = sw_error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	r = open_stream(out, o, err);
	if (r == 0 && o->syslog)
		r = open_syslog(out, o, err);
	if (r == 0 && o->metrics_path)
		r = open_metrics(out, o, err);
	if (r < 0)
		goto fail;
	*ret = out;
	return 0;
fail:
	output_free(out);
	return r;
}

enum record_format output_format(const struct output *out)
{
	return out->sink[SINK_STREAM].format;
}

bool output_waits_for_reader(const struct output *out)
{
	return out->waits_for_reader;
}

bool output_has_metrics(const struct output *out)
{
	return out && out->metrics;
}

void output_observe(struct output *out, size_t slot, const char *syscall, uint64_t duration_ns)
{
	if (out->metrics)
		metrics_observe(out->metrics, slot, syscall, duration_ns);
}

void output_set_suppressed(struct output *out, uint64_t n)
{
	__atomic_store_n(&out->suppressed, n, __ATOMIC_RELAXED);
}

void output_set_histogram(struct output *out, size_t slot, const char *syscall,
			  const uint64_t bucket[METRICS_DURATION_BUCKETS], uint64_t sum_ns)
{
	if (out->metrics)
		metrics_set_histogram(out->metrics, slot, syscall, bucket, sum_ns);
}

void output_set_kernel_filtered(struct output *out, uint64_t n)
{
	__atomic_store_n(&out->kernel_filtered, n, __ATOMIC_RELAXED);
}

void output_set_traced_threads(struct output *out, uint64_t n)
{
	__atomic_store_n(&out->traced_threads, n, __ATOMIC_RELAXED);
}

/* ---- drop accounting (under lock) ---------------------------------------- */

static struct drop_entry *drop_entry(struct output *out, const char *reason, const char *rule,
				     const char *action, int sink, int error)
{
	struct drop_entry *v;

	if (!rule)
		rule = "";
	if (!action)
		action = "";
	for (size_t i = 0; i < out->n_drops; i++) {
		struct drop_entry *d = &out->drops[i];

		if (d->sink == sink && d->error == error && strcmp(d->reason, reason) == 0 &&
		    strcmp(d->rule, rule) == 0 && strcmp(d->action, action) == 0)
			return d;
	}
	/* a reload storm of generated rule names must not grow this without bound */
	if (out->n_drops >= MAX_DROP_ENTRIES && strcmp(rule, "_other") != 0)
		return drop_entry(out, reason, "_other", action, sink, error);
	v = realloc(out->drops, (out->n_drops + 1) * sizeof(*v));
	if (!v)
		return NULL;
	out->drops = v;
	v = &out->drops[out->n_drops];
	*v = (struct drop_entry){ .reason = strdup(reason),
				  .rule = strdup(rule),
				  .action = strdup(action),
				  .sink = sink,
				  .error = error };
	if (!v->reason || !v->rule || !v->action) {
		free(v->reason);
		free(v->rule);
		free(v->action);
		return NULL;
	}
	out->n_drops++;
	return v;
}

static void count_drop_locked(struct output *out, const char *reason, const char *rule,
			      const char *action, int sink, uint64_t n, int error)
{
	struct drop_entry *d = drop_entry(out, reason, rule, action, sink, error);
	uint64_t now = sw_mono_ns();

	if (!d)
		return; /* ENOMEM: the count is lost, nothing else */
	for (int k = 0; k < N_SINKS; k++)
		if (d->count == d->reported[k])
			d->since_ns[k] = now;
	d->count += n;
}

/*
 * Whether sink k reports entry d in a records-dropped record: its own
 * losses, and (stream, syslog) those before any sink. write_errors: the
 * write-error ones (reported first when the sink recovers), or the others.
 */
static bool reports(const struct drop_entry *d, enum sink_kind k, bool write_errors)
{
	if (d->sink == DROP_ALL)
		return !write_errors && k != SINK_METRICS;
	return d->sink == (int)k && is_write_error(d) == write_errors;
}

/* ---- threads ---------------------------------------------------------------- */

static void free_queued(struct queued *q)
{
	free(q->json);
	free(q->text);
	free(q);
}

static void *sink_main(void *arg);

static int sink_start_locked(struct sink *s)
{
	int r;

	s->done = false;
	r = sw_thread_create_quiet(&s->thread, sink_main, s);
	if (r < 0)
		return r;
	s->started = true;
	return 0;
}

/*
 * With the lock held: make sure sink s has a thread that will see what we
 * add before unlocking: start one if there is none; if it ended for lack of
 * work, join it (the lock is dropped meanwhile) and start a new one. A
 * writer only ends idle while holding the lock with nothing to do, so
 * nothing added under the lock is ever orphaned. 0 or -errno.
 */
static int sink_ensure_locked(struct sink *s)
{
	struct output *out = s->out;

	for (;;) {
		if (s->started && !s->idle_exited)
			return 0;
		if (s->idle_exited) {
			pthread_mutex_unlock(&out->lock);
			pthread_join(s->thread, NULL);
			pthread_mutex_lock(&out->lock);
			s->started = s->idle_exited = false;
			continue;
		}
		return sink_start_locked(s);
	}
}

int output_start(struct output *out)
{
	int r = 0;

	pthread_mutex_lock(&out->lock);
	for (int k = 0; k < N_SINKS && r == 0; k++)
		if (out->sink[k].on)
			r = sink_ensure_locked(&out->sink[k]);
	pthread_mutex_unlock(&out->lock);
	return r;
}

bool output_writer_running(struct output *out)
{
	bool running = false;

	pthread_mutex_lock(&out->lock);
	for (int k = 0; k < N_SINKS; k++)
		running |= out->sink[k].started && !out->sink[k].idle_exited;
	pthread_mutex_unlock(&out->lock);
	return running;
}

/* ---- the producer side ------------------------------------------------- */

static const char *stream_line(const struct sink *s, const struct queued *q)
{
	return s->format == RECORD_FORMAT_TEXT ? q->text : q->json;
}

/* Does sink s take record q at all? (a stream gets its format's line, syslog the JSON) */
static bool sink_wants(const struct sink *s, const struct queued *q)
{
	switch (s->kind) {
	case SINK_STREAM:
		return stream_line(s, q) != NULL;
	case SINK_SYSLOG:
		return q->json != NULL;
	default:
		return true;
	}
}

void output_count_dropped(struct output *out, const char *reason, const char *rule,
			  const char *action, uint64_t n)
{
	pthread_mutex_lock(&out->lock);
	count_drop_locked(out, reason, rule, action, DROP_ALL, n, 0);
	/* its report may now be due; without a thread the count still stands: close reports it */
	for (int k = 0; k < N_SINKS; k++)
		if (out->sink[k].on && sink_ensure_locked(&out->sink[k]) == 0)
			pthread_cond_signal(&out->sink[k].wake);
	pthread_mutex_unlock(&out->lock);
}

int output_submit(struct output *out, struct output_record *r)
{
	size_t la = r->action ? strlen(r->action) + 1 : 1, lr = r->rule ? strlen(r->rule) + 1 : 1,
	       ls = r->syscall ? strlen(r->syscall) + 1 : 0;
	bool wanted = false, queued = false, last;
	struct queued *q;

	q = malloc(sizeof(*q) + la + lr + ls);
	if (!q) {
		free(r->json);
		free(r->text);
		r->json = r->text = NULL;
		pthread_mutex_lock(&out->lock);
		count_drop_locked(out, RECORD_DROP_QUEUE_FULL, r->rule, r->action, DROP_ALL, 1, 0);
		pthread_mutex_unlock(&out->lock);
		return -ENOMEM;
	}
	/* refs 1: ours, so no writer frees it while we still add it to queues */
	*q = (struct queued){
		.json = r->json, .text = r->text, .priority = r->priority, .refs = 1
	};
	r->json = r->text = NULL; /* the queues own them now */
	q->action = q->strings;
	memcpy(q->action, r->action ? r->action : "", la);
	q->rule = q->action + la;
	memcpy(q->rule, r->rule ? r->rule : "", lr);
	if (r->syscall) {
		q->syscall = q->rule + lr;
		memcpy(q->syscall, r->syscall, ls);
	}
	q->bytes = sizeof(*q) + la + lr + ls + (q->json ? strlen(q->json) : 0) +
		   (q->text ? strlen(q->text) : 0);

	pthread_mutex_lock(&out->lock);
	for (int k = 0; k < N_SINKS; k++) {
		struct sink *s = &out->sink[k];

		if (!s->on || !sink_wants(s, q))
			continue;
		wanted = true;
		/* a full queue, or no thread to write it (counted like a full queue) */
		if (s->records >= out->o.queue_max_records ||
		    s->bytes + q->bytes > out->o.queue_max_bytes || sink_ensure_locked(s) < 0) {
			count_drop_locked(out, RECORD_DROP_QUEUE_FULL, q->rule, q->action, k, 1, 0);
			s->dropped_queue++;
			continue;
		}
		q->next[k] = NULL;
		if (s->tail)
			s->tail->next[k] = q;
		else
			s->head = q;
		s->tail = q;
		s->records++;
		s->bytes += q->bytes;
		q->refs++;
		queued = true;
		pthread_cond_signal(&s->wake);
	}
	last = --q->refs == 0;
	pthread_mutex_unlock(&out->lock);
	if (last)
		free_queued(q);
	return queued || !wanted ? 0 : -ENOBUFS;
}

void output_reopen(struct output *out)
{
	struct sink *s = &out->sink[SINK_STREAM];

	pthread_mutex_lock(&out->lock);
	/* without a thread the request waits for the next one */
	s->reopen_requested = true;
	if (sink_ensure_locked(s) == 0)
		pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&out->lock);
}

int output_host_metrics(struct output *out, const struct metrics_host *h)
{
	struct sink *s = &out->sink[SINK_METRICS];
	int r;

	if (!out->metrics)
		return 0;
	pthread_mutex_lock(&out->lock);
	r = sink_ensure_locked(s);
	if (r == 0) {
		s->host = *h;
		s->host_pending = true;
		pthread_cond_signal(&s->wake);
	}
	pthread_mutex_unlock(&out->lock);
	return r;
}

int output_watch_metrics(struct output *out, const struct metrics_watch *w)
{
	struct sink *s = &out->sink[SINK_METRICS];
	int r;

	if (!out->metrics)
		return 0;
	pthread_mutex_lock(&out->lock);
	r = sink_ensure_locked(s);
	if (r == 0) {
		s->watch = *w;
		s->watch_pending = true;
		pthread_cond_signal(&s->wake);
	}
	pthread_mutex_unlock(&out->lock);
	return r;
}

/* ---- writing without blocking ------------------------------------------- */

static uint64_t close_deadline(const struct output *out)
{
	return __atomic_load_n(&out->close_deadline_ns, __ATOMIC_ACQUIRE);
}

/* The next slice of a wait: its length in ms, or -1 once the close limit has passed. */
static int slice_ms(const struct sink *s)
{
	uint64_t now = sw_mono_ns(), end = close_deadline(s->out), slice = BLOCKED_SLICE_NS;

	if (end && now >= end)
		return -1;
	if (end && end - now < slice)
		slice = end - now;
	return (int)((slice + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC);
}

/*
 * Wait until the sink's fd takes data: poll(2) in slices, so that the close
 * limit is seen. 0, or GAVE_UP_RC once the limit has passed.
 */
static int sink_wait_writable(struct sink *s)
{
	for (;;) {
		struct pollfd p = { .fd = s->fd, .events = POLLOUT };
		int ms = slice_ms(s), n;

		if (ms < 0)
			return GAVE_UP_RC;
		n = poll(&p, 1, ms);
		if (n > 0 || (n < 0 && errno != EINTR))
			return 0; /* room, or an error the write will report */
	}
}

/* One slice of waiting for something that cannot be polled (a FIFO's reader). */
static int sink_pause(struct sink *s)
{
	int ms = slice_ms(s);

	if (ms < 0)
		return GAVE_UP_RC;
	poll(NULL, 0, ms);
	return 0;
}

/*
 * Write it all to the sink's fd, waiting while it is full but never past the
 * close limit. 0, GAVE_UP_RC (part of it may be out: a pipe takes more than
 * PIPE_BUF bytes in pieces), or -errno. A regular file that took only part
 * of it (ENOSPC midway) is cut back to where it was, so the file never holds
 * a torn JSON line: only when nobody else appended meanwhile.
 */
static int sink_write(struct sink *s, const char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n;
		int r;

		if (s->mode == WRITE_POLLED) {
			r = sink_wait_writable(s);
			if (r)
				return r;
		}
		if (s->mode == WRITE_SEND)
			n = send(s->fd, buf + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			n = write(s->fd, buf + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
			r = sink_wait_writable(s);
			if (r)
				return r;
			continue;
		}
		if (errno == EINTR)
			continue;
		r = -errno;
		{
			struct stat st;
			off_t end;

			if (done && (end = lseek(s->fd, 0, SEEK_CUR)) >= (off_t)done &&
			    fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == end &&
			    ftruncate(s->fd, end - (off_t)done) < 0)
				r = -errno;
		}
		return r;
	}
	return 0;
}

/* ---- the stream ---------------------------------------------------------- */

/*
 * A -o FIFO no process reads: try to open it, one slice at a time, until a
 * reader comes (0) or the close limit passes (GAVE_UP_RC). Records wait in
 * the queue meanwhile. -errno if it cannot be opened at all.
 */
static int stream_ensure_open(struct sink *s)
{
	while (s->fd < 0) {
		int fd = open_stream_path(s->path), r;

		if (fd >= 0) {
			s->fd = fd;
			s->owns_fd = true;
			s->mode = WRITE_PLAIN;
			return 0;
		}
		if (fd != -ENXIO || !is_fifo(s->path))
			return fd;
		r = sink_pause(s);
		if (r)
			return r;
	}
	return 0;
}

/*
 * One record line to the stream, as one write(2) (appends to a file and pipe
 * writes up to PIPE_BUF are atomic), with the journal's "<N>" prefix and, for
 * text, the column header first.
 */
static int stream_send(struct sink *s, const char *line, int priority)
{
	_cleanup_free_ char *buf = NULL;
	const char *header = NULL;
	char prefix[16] = "";
	int r = stream_ensure_open(s);

	if (r)
		return r;
	if (s->header_due)
		header = s->host_header ? record_text_host_header() : record_text_header();
	/* SyslogLevelPrefix= (systemd.exec(5)): journald strips it into PRIORITY= */
	if (s->journal)
		snprintf(prefix, sizeof(prefix), "<%d>", priority);
	if ((header || prefix[0]) &&
	    asprintf(&buf, "%s%s%s", header ? header : "", prefix, line) < 0) {
		buf = NULL;
		return -ENOMEM;
	}
	r = sink_write(s, buf ? buf : line, strlen(buf ? buf : line));
	if (r == 0)
		s->header_due = false;
	return r;
}

static void stream_reopen(struct sink *s)
{
	int fd;

	if (!s->path)
		return;
	fd = open_stream_path(s->path);
	if (fd == -ENXIO && is_fifo(s->path)) {
		/* a FIFO nobody reads now: the next write waits for its reader */
		if (s->owns_fd && s->fd >= 0)
			close(s->fd);
		s->fd = -1;
		s->header_due = s->format == RECORD_FORMAT_TEXT;
		return;
	}
	if (fd < 0) {
		notify(s->out, "cannot reopen %s: %s; still writing to the old file", s->where,
		       strerror(-fd));
		return;
	}
	/* the old file (renamed by logrotate) got every line written so far */
	if (s->owns_fd && s->fd >= 0)
		close(s->fd);
	s->fd = fd;
	s->owns_fd = true;
	s->mode = WRITE_PLAIN;
	s->header_due = s->format == RECORD_FORMAT_TEXT;
	/* a new file is a new chance for a sink that failed (ENOSPC on the old disk) */
	if (s->failing)
		s->next_retry_ns = 0;
}

/* ---- syslog --------------------------------------------------------------- */

/*
 * Connect to the syslog socket, as syslog(3) does: a datagram socket, or a
 * stream socket when the daemon listens on one (EPROTOTYPE). Non-blocking.
 */
static int syslog_connect(struct sink *s)
{
	static const int types[] = { SOCK_DGRAM, SOCK_STREAM };
	int r = -EPROTOTYPE;

	for (size_t i = 0; i < ARRAY_SIZE(types) && r == -EPROTOTYPE; i++) {
		int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

		if (fd < 0)
			return -errno;
		if (connect(fd, (const struct sockaddr *)&s->addr, sizeof(s->addr)) == 0) {
			s->fd = fd;
			s->owns_fd = true;
			s->mode = WRITE_SEND;
			s->sock_type = types[i];
			return 0;
		}
		r = -errno;
		close(fd);
	}
	return r;
}

/*
 * What syslog(3) sends (glibc misc/syslog.c; RFC 3164 section 4.1):
 * `<PRI>Mmm dd hh:mm:ss stallwatch[PID]: MSG`, PRI = facility daemon |
 * severity, the time local, the month in English whatever the locale. A
 * stream socket gets the terminating NUL too. NULL on ENOMEM.
 */
static char *syslog_message(const struct sink *s, const char *json, int priority, size_t *len)
{
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	size_t n = strlen(json);
	time_t now = time(NULL);
	char stamp[32] = "";
	struct tm tm;
	char *msg;
	int r;

	if (n && json[n - 1] == '\n')
		n--;
	if (localtime_r(&now, &tm) && tm.tm_mon >= 0 && tm.tm_mon < 12)
		snprintf(stamp, sizeof(stamp), "%s %2d %02d:%02d:%02d ", months[tm.tm_mon],
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	r = asprintf(&msg, "<%d>%sstallwatch[%d]: %.*s", LOG_DAEMON | (priority & LOG_PRIMASK),
		     stamp, s->pid, (int)n, json);
	if (r < 0)
		return NULL;
	*len = (size_t)r + (s->sock_type == SOCK_STREAM);
	return msg;
}

static int syslog_send(struct sink *s, const char *json, int priority)
{
	for (int attempt = 0;; attempt++) {
		_cleanup_free_ char *msg = NULL;
		size_t len;
		int r;

		if (s->fd < 0) {
			r = syslog_connect(s);
			if (r < 0)
				return r;
		}
		msg = syslog_message(s, json, priority, &len);
		if (!msg)
			return -ENOMEM;
		r = sink_write(s, msg, len);
		if (r == 0 || r == GAVE_UP_RC)
			return r;
		close(s->fd);
		s->fd = -1;
		/* the daemon restarted (a new socket at the path): reconnect once, as syslog(3) does */
		if (attempt ||
		    (r != -ECONNREFUSED && r != -ENOTCONN && r != -ECONNRESET && r != -EPIPE))
			return r;
	}
}

/* ---- delivery ------------------------------------------------------------ */

/* One line (a record or a records-dropped record) to the sink: 0, GAVE_UP_RC or -errno. */
static int sink_send_line(struct sink *s, const char *line, int priority)
{
	return s->kind == SINK_STREAM ? stream_send(s, line, priority) :
					syslog_send(s, line, priority);
}

static char *encode_dropped(const struct sink *s, const struct drop_entry *d, bool final,
			    uint64_t now_ns)
{
	struct record_dropped rd = {
		.reason = d->reason,
		.rule = d->rule,
		.action = d->action[0] ? d->action : NULL,
		.sink = d->sink == (int)s->kind && is_write_error(d) ? s->label : NULL,
		.error = d->error,
		.count = d->count - d->reported[s->kind],
		.since_mono_ns = d->since_ns[s->kind],
		.mono_ns = now_ns,
		.final = final,
	};

	return record_encode_dropped(&rd, s->out->host_name, sw_real_ns() - sw_mono_ns(),
				     s->kind == SINK_STREAM ? s->format : RECORD_FORMAT_JSON);
}

/*
 * A copy of drop entry i (the producer may append entries meanwhile): -1 past
 * the end (or once close gave up on the sink), 0 when sink s does not report
 * it (see reports()) or nothing is new since its last report.
 */
static int drop_pending(struct sink *s, size_t i, bool write_errors, struct drop_entry *ret)
{
	struct output *out = s->out;

	pthread_mutex_lock(&out->lock);
	if (i >= out->n_drops || s->abandoned) {
		pthread_mutex_unlock(&out->lock);
		return -1;
	}
	*ret = out->drops[i];
	pthread_mutex_unlock(&out->lock);
	return reports(ret, s->kind, write_errors) && ret->count != ret->reported[s->kind];
}

/* A records-dropped record of entry i went out with count. */
static void drop_reported(struct sink *s, size_t i, uint64_t count)
{
	pthread_mutex_lock(&s->out->lock);
	s->out->drops[i].reported[s->kind] = count;
	pthread_mutex_unlock(&s->out->lock);
	if (s->kind == SINK_STREAM)
		__atomic_add_fetch(&s->out->dropped_records_written, 1, __ATOMIC_RELAXED);
}

/* The sink failed: tracing goes on; one line per failure episode. */
static void sink_failed(struct sink *s, int r, uint64_t now_ns)
{
	s->failing = true;
	s->error = -r;
	s->next_retry_ns = now_ns + s->out->o.retry_interval_ns;
	notify(s->out, "cannot write to %s: %s; tracing goes on, lost records are counted",
	       s->where, strerror(-r));
}

/*
 * The sink failed before: report its write errors in records-dropped
 * records. Writable again when that worked (0); then say so once.
 * GAVE_UP_RC or -errno while it still fails.
 */
static int sink_recover(struct sink *s, bool final, uint64_t now_ns)
{
	uint64_t lost = 0;

	if (!s->failing)
		return 0;
	for (size_t i = 0;; i++) {
		struct drop_entry d;
		_cleanup_free_ char *line = NULL;
		int r, pending = drop_pending(s, i, true, &d);

		if (pending < 0)
			break;
		if (!pending)
			continue;
		line = encode_dropped(s, &d, final, now_ns);
		if (!line)
			return -ENOMEM;
		r = sink_send_line(s, line, LOG_WARNING);
		if (r)
			return r;
		lost += d.count - d.reported[s->kind];
		drop_reported(s, i, d.count);
	}
	s->failing = false;
	if (s->gave_up)
		notify(s->out,
		       "%s: %llu record(s) still queued at exit were not written: the close limit "
		       "passed (see the records-dropped record)",
		       s->where, (unsigned long long)lost);
	else
		notify(s->out,
		       "%s is writable again; %llu record(s) were lost (see the records-dropped "
		       "record)",
		       s->where, (unsigned long long)lost);
	return 0;
}

/* n records of q's rule were lost on sink s with error (under lock). */
static void count_lost_locked(struct sink *s, const struct queued *q, int error)
{
	count_drop_locked(s->out, RECORD_DROP_WRITE_ERROR, q->rule, q->action, s->kind, 1, error);
	s->dropped_write++;
}

static enum outcome sink_deliver(struct sink *s, const struct queued *q, uint64_t now_ns)
{
	const char *line;
	int r;

	if (s->kind == SINK_METRICS) {
		metrics_count_record(s->out->metrics, q->action, q->rule, q->syscall);
		/* the priority came from log.level: the rule's severity */
		if ((strcmp(q->action, "slow-syscall") == 0 ||
		     strcmp(q->action, "stuck-syscall") == 0) &&
		    q->priority >= 0 && (size_t)q->priority < ARRAY_SIZE(level_names))
			metrics_count_stall(s->out->metrics, q->rule, level_names[q->priority]);
		s->metrics_dirty = true;
		return DELIVERED;
	}
	line = s->kind == SINK_STREAM ? stream_line(s, q) : q->json;
	if (!line)
		return SKIPPED;
	/* past the close limit a slow sink that never says EAGAIN (a regular file) stops too */
	if (slice_ms(s) < 0)
		return GAVE_UP;
	if (s->failing) {
		r = sink_recover(s, false, now_ns);
		if (r == GAVE_UP_RC)
			return GAVE_UP;
		if (r < 0) {
			pthread_mutex_lock(&s->out->lock);
			count_lost_locked(s, q, s->error);
			pthread_mutex_unlock(&s->out->lock);
			return LOST;
		}
	}
	r = sink_send_line(s, line, q->priority);
	if (r == 0)
		return DELIVERED;
	if (r == GAVE_UP_RC)
		return GAVE_UP;
	pthread_mutex_lock(&s->out->lock);
	count_lost_locked(s, q, -r);
	pthread_mutex_unlock(&s->out->lock);
	sink_failed(s, r, now_ns);
	return LOST;
}

/*
 * Close gave up on the sink (its thread, or close itself when the thread is
 * stuck in a call): every record it still holds, the one in hand included,
 * is counted as a write-error, EAGAIN (blocked) or ENXIO (a FIFO no process
 * opened for reading). free_them: false while the stuck thread may still
 * read the one in hand. Under lock.
 */
static void sink_give_up_locked(struct sink *s, bool free_them)
{
	int error = EAGAIN;

	if (s->kind == SINK_STREAM && !s->abandoned && s->path && s->fd < 0) {
		s->no_reader = true;
		error = ENXIO;
	}
	while (s->head) {
		struct queued *q = s->head;

		s->head = q->next[s->kind];
		count_drop_locked(s->out, RECORD_DROP_WRITE_ERROR, q->rule, q->action, s->kind, 1,
				  error);
		s->unflushed++;
		if (--q->refs == 0 && free_them)
			free_queued(q);
	}
	s->tail = NULL;
	s->records = s->bytes = 0;
}

/* records-dropped for rate-limit and queue-full: at most once per interval, and at close. */
static int report_drops(struct sink *s, bool final, uint64_t now_ns)
{
	/* a failing sink gets them once it recovers (the counts wait) */
	if (s->failing ||
	    (!final && now_ns - s->last_drop_report_ns < s->out->o.drop_report_interval_ns))
		return 0;
	s->last_drop_report_ns = now_ns;
	for (size_t i = 0;; i++) {
		struct drop_entry d;
		_cleanup_free_ char *line = NULL;
		int r, pending = drop_pending(s, i, false, &d);

		if (pending < 0)
			break;
		if (!pending || !(line = encode_dropped(s, &d, final, now_ns)))
			continue;
		r = sink_send_line(s, line, LOG_WARNING);
		if (r == GAVE_UP_RC)
			return r;
		if (r < 0) {
			/* counted with the others when the sink recovers */
			sink_failed(s, r, now_ns);
			return r;
		}
		drop_reported(s, i, d.count);
	}
	return 0;
}

/* ---- the metrics file ------------------------------------------------------ */

static void write_metrics(struct sink *s, uint64_t now_ns)
{
	struct output *out = s->out;
	struct sw_error err = {};
	uint64_t n;

	pthread_mutex_lock(&out->lock);
	for (size_t i = 0; i < out->n_drops; i++) {
		struct drop_entry *d = &out->drops[i];

		if (d->count != d->metered) {
			metrics_count_dropped(out->metrics, d->reason, d->rule,
					      d->sink == DROP_ALL ? "" : sink_metric_name[d->sink],
					      d->count - d->metered);
			d->metered = d->count;
		}
	}
	pthread_mutex_unlock(&out->lock);
	n = __atomic_load_n(&out->dropped_records_written, __ATOMIC_RELAXED);
	for (; s->dropped_records_metered < n; s->dropped_records_metered++)
		metrics_count_record(out->metrics, "records-dropped", RECORD_DROP_RULE, NULL);
	metrics_set_traced_threads(out->metrics,
				   __atomic_load_n(&out->traced_threads, __ATOMIC_RELAXED));
	metrics_set_suppressed(out->metrics, __atomic_load_n(&out->suppressed, __ATOMIC_RELAXED));
	metrics_set_kernel_filtered(out->metrics,
				    __atomic_load_n(&out->kernel_filtered, __ATOMIC_RELAXED));
	if (metrics_write(out->metrics, &err) < 0)
		notify(out, "%s: %s", err.msg, strerror(-err.code));
	s->next_metrics_ns = now_ns + out->o.metrics_interval_ns;
	s->metrics_dirty = false;
}

/*
 * run/attach: rewrite at most once per interval, and only when something
 * changed: a record, a drop, or a call in the histogram (a quiet tracee
 * costs one pass over the slots per second, no I/O).
 */
static bool metrics_due(struct sink *s, uint64_t now_ns)
{
	struct output *out = s->out;
	uint64_t observed, suppressed, kernel_filtered;

	if (!out->o.metrics_slots || now_ns < s->next_metrics_ns)
		return false;
	observed = metrics_observed(out->metrics);
	suppressed = __atomic_load_n(&out->suppressed, __ATOMIC_RELAXED);
	kernel_filtered = __atomic_load_n(&out->kernel_filtered, __ATOMIC_RELAXED);
	pthread_mutex_lock(&out->lock);
	for (size_t i = 0; i < out->n_drops && !s->metrics_dirty; i++)
		s->metrics_dirty = out->drops[i].count != out->drops[i].metered;
	pthread_mutex_unlock(&out->lock);
	if (suppressed != s->metrics_suppressed || kernel_filtered != s->metrics_kernel_filtered ||
	    __atomic_load_n(&out->dropped_records_written, __ATOMIC_RELAXED) !=
		    s->dropped_records_metered)
		s->metrics_dirty = true;
	if (!s->metrics_dirty && observed == s->metrics_observed) {
		s->next_metrics_ns = now_ns + out->o.metrics_interval_ns;
		return false;
	}
	s->metrics_observed = observed;
	s->metrics_suppressed = suppressed;
	s->metrics_kernel_filtered = kernel_filtered;
	return true;
}

/* ---- a sink's writer thread -------------------------------------------------- */

/* When this sink has something to do without a new record (under lock). */
static uint64_t sink_next_deadline(const struct sink *s)
{
	const struct output *out = s->out;
	uint64_t next = UINT64_MAX;

	if (s->kind == SINK_METRICS)
		return out->o.metrics_slots ? s->next_metrics_ns : UINT64_MAX;
	if (s->failing)
		next = s->next_retry_ns;
	for (size_t i = 0; i < out->n_drops; i++) {
		const struct drop_entry *d = &out->drops[i];

		if (reports(d, s->kind, false) && d->count != d->reported[s->kind]) {
			uint64_t due = s->last_drop_report_ns + out->o.drop_report_interval_ns;

			if (due < next)
				next = due;
			break;
		}
	}
	return next;
}

static bool sink_has_work_locked(const struct sink *s)
{
	return s->head || s->stopping || s->reopen_requested || s->host_pending || s->watch_pending;
}

/*
 * Wait (lock held) until there is work or something is due. false: nothing
 * came for idle_exit_ns with nothing due; the thread ends (lock released).
 */
static bool sink_wait_work_locked(struct sink *s)
{
	struct output *out = s->out;

	while (!sink_has_work_locked(s)) {
		uint64_t deadline = sink_next_deadline(s);
		struct timespec ts;

		if (deadline == UINT64_MAX) {
			/* nothing due: wait a while, then end (sink_ensure_locked starts a new one) */
			ts = timespec_of(sw_mono_ns() + out->o.idle_exit_ns);
			if (pthread_cond_timedwait(&s->wake, &out->lock, &ts) == ETIMEDOUT &&
			    !sink_has_work_locked(s) && sink_next_deadline(s) == UINT64_MAX) {
				s->idle_exited = true;
				pthread_mutex_unlock(&out->lock);
				return false;
			}
			continue;
		}
		if (deadline <= sw_mono_ns())
			break;
		ts = timespec_of(deadline);
		if (pthread_cond_timedwait(&s->wake, &out->lock, &ts) == ETIMEDOUT)
			break;
	}
	return true;
}

/*
 * Write the queue, one record at a time: a record stays queued (and counted
 * as such) until this sink is done with it, so close can count exactly what
 * a blocked sink still holds. false: close gave up on the sink.
 */
static bool sink_drain(struct sink *s)
{
	struct output *out = s->out;

	for (;;) {
		struct queued *q;
		enum outcome res;
		bool last;

		pthread_mutex_lock(&out->lock);
		q = s->head; /* only this thread takes from the head */
		pthread_mutex_unlock(&out->lock);
		if (!q)
			return true;
		res = sink_deliver(s, q, sw_mono_ns());
		pthread_mutex_lock(&out->lock);
		if (s->abandoned) {
			pthread_mutex_unlock(&out->lock);
			return false;
		}
		if (res == GAVE_UP) {
			sink_give_up_locked(s, true);
			pthread_mutex_unlock(&out->lock);
			/* what it held is a write-error now: try once to report it */
			s->failing = true;
			s->gave_up = true;
			s->error = EAGAIN;
			return true;
		}
		if (res == DELIVERED)
			s->written++;
		s->head = q->next[s->kind];
		if (!s->head)
			s->tail = NULL;
		s->records--;
		s->bytes -= q->bytes;
		last = --q->refs == 0;
		pthread_mutex_unlock(&out->lock);
		if (last)
			free_queued(q);
	}
}

static void *sink_main(void *arg)
{
	struct sink *s = arg;
	struct output *out = s->out;

	pthread_mutex_lock(&out->lock);
	for (;;) {
		bool stopping, reopen, host_pending, watch_pending;
		struct metrics_host host;
		struct metrics_watch watch;
		uint64_t now_ns;

		if (!sink_wait_work_locked(s))
			return NULL;
		stopping = s->stopping;
		reopen = s->reopen_requested;
		s->reopen_requested = false;
		host_pending = s->host_pending;
		s->host_pending = false;
		host = s->host;
		watch_pending = s->watch_pending;
		s->watch_pending = false;
		watch = s->watch;
		pthread_mutex_unlock(&out->lock);

		if (reopen)
			stream_reopen(s);
		if (host_pending)
			metrics_set_host(out->metrics, &host);
		if (watch_pending)
			metrics_set_watch(out->metrics, &watch);
		if (!sink_drain(s))
			return NULL;
		now_ns = sw_mono_ns();
		if (s->kind == SINK_METRICS) {
			if (host_pending || watch_pending || stopping || metrics_due(s, now_ns))
				write_metrics(s, now_ns);
		} else {
			if (s->failing && (now_ns >= s->next_retry_ns || stopping) &&
			    sink_recover(s, stopping, now_ns) != 0)
				s->next_retry_ns = now_ns + out->o.retry_interval_ns;
			report_drops(s, stopping, now_ns);
		}
		pthread_mutex_lock(&out->lock);
		if (s->abandoned) {
			pthread_mutex_unlock(&out->lock);
			return NULL;
		}
		if (stopping && !s->head)
			break;
	}
	s->done = true;
	pthread_cond_broadcast(&out->finished);
	pthread_mutex_unlock(&out->lock);
	return NULL;
}

/* ---- close ---------------------------------------------------------------- */

/* Something for sink s to report although it never ran (its thread could not start). */
static bool sink_has_unreported_locked(const struct sink *s)
{
	for (size_t i = 0; i < s->out->n_drops; i++) {
		const struct drop_entry *d = &s->out->drops[i];

		if ((reports(d, s->kind, false) || reports(d, s->kind, true)) &&
		    d->count != d->reported[s->kind])
			return true;
	}
	return false;
}

/* Tell sink s to take what it holds, report and end (under lock). */
static void sink_stop_locked(struct sink *s)
{
	if (!s->on || (s->kind != SINK_METRICS && !s->started && !sink_has_unreported_locked(s)) ||
	    sink_ensure_locked(s) < 0)
		return;
	s->stopping = true;
	pthread_cond_signal(&s->wake);
}

static bool sink_finished_locked(const struct sink *s)
{
	return !s->started || s->done || s->abandoned;
}

/*
 * Wait until the sinks of mask are done, or until deadline (lock held);
 * give up then on those still in a call: what they hold is counted.
 * Whether one was abandoned.
 */
static bool wait_sinks_locked(struct output *out, unsigned mask, uint64_t deadline)
{
	struct timespec ts = timespec_of(deadline);
	bool abandoned = false;

	for (;;) {
		bool all = true;

		for (int k = 0; k < N_SINKS; k++)
			if (mask & (1u << k))
				all &= sink_finished_locked(&out->sink[k]);
		if (all || pthread_cond_timedwait(&out->finished, &out->lock, &ts) == ETIMEDOUT)
			break;
	}
	for (int k = 0; k < N_SINKS; k++) {
		struct sink *s = &out->sink[k];

		if (!(mask & (1u << k)) || sink_finished_locked(s))
			continue;
		/*
		 * Stuck in a call poll(2) could not cover (a write(2) to a
		 * regular file on a hung NFS server): it keeps its thread and
		 * touches nothing any more; the process is about to exit.
		 */
		s->abandoned = true;
		sink_give_up_locked(s, false);
		abandoned = true;
	}
	return abandoned;
}

static void sink_stats_locked(const struct output *out, enum sink_kind k,
			      struct output_sink_stats *st)
{
	const struct sink *s = &out->sink[k];

	st->on = s->on;
	st->written = s->written;
	st->dropped_queue = s->dropped_queue;
	st->dropped_write = s->dropped_write;
	st->unflushed = s->unflushed;
	st->no_reader = s->no_reader;
	for (size_t i = 0; i < out->n_drops; i++) {
		const struct drop_entry *d = &out->drops[i];
		uint64_t n = d->count - d->reported[k];

		if (d->sink != (int)k || !n)
			continue;
		if (!is_write_error(d))
			st->unreported_queue += n;
		else if (d->error == EAGAIN || d->error == ENXIO)
			st->unreported_unflushed += n;
		else {
			st->unreported_write += n;
			if (!st->write_errno)
				st->write_errno = d->error;
		}
	}
}

void output_close(struct output *out, struct output_stats *stats)
{
	struct output_stats st = {};
	uint64_t deadline;
	bool abandoned;

	if (!out) {
		if (stats)
			*stats = st;
		return;
	}
	deadline = sw_mono_ns() + out->o.close_timeout_ns;
	__atomic_store_n(&out->close_deadline_ns, deadline, __ATOMIC_RELEASE);
	pthread_mutex_lock(&out->lock);
	/* the stream and syslog take what they hold until the limit, each on its own */
	sink_stop_locked(&out->sink[SINK_STREAM]);
	sink_stop_locked(&out->sink[SINK_SYSLOG]);
	abandoned = wait_sinks_locked(out, 1u << SINK_STREAM | 1u << SINK_SYSLOG,
				      deadline + CLOSE_GRACE_NS);
	/* the metrics file last: it gets every final count */
	sink_stop_locked(&out->sink[SINK_METRICS]);
	abandoned |= wait_sinks_locked(out, 1u << SINK_METRICS, sw_mono_ns() + METRICS_CLOSE_NS);
	sink_stats_locked(out, SINK_STREAM, &st.stream);
	sink_stats_locked(out, SINK_SYSLOG, &st.syslog);
	snprintf(st.stream_label, sizeof(st.stream_label), "%s", out->sink[SINK_STREAM].label);
	st.close_timeout_ns = out->o.close_timeout_ns;
	pthread_mutex_unlock(&out->lock);
	if (stats)
		*stats = st;
	if (abandoned)
		return; /* freeing under a thread still in a call would crash it */
	for (int k = 0; k < N_SINKS; k++)
		if (out->sink[k].started)
			pthread_join(out->sink[k].thread, NULL);
	output_free(out);
}
