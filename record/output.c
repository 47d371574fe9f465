/* SPDX-License-Identifier: MIT */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "../common/macro.h"
#include "../common/timeutil.h"

#define DEFAULT_QUEUE_RECORDS 4096
#define DEFAULT_QUEUE_BYTES (16u << 20)
#define DEFAULT_DROP_REPORT_NS (30 * NSEC_PER_SEC) /* Falco's rate for its drop alerts */
#define DEFAULT_METRICS_NS (1 * NSEC_PER_SEC)
#define DEFAULT_RETRY_NS (1 * NSEC_PER_SEC)
#define DEFAULT_CLOSE_TIMEOUT_NS (5 * NSEC_PER_SEC)
#define DEFAULT_IDLE_EXIT_NS (1 * NSEC_PER_SEC)
/* distinct (reason, rule, sink) drop counters; past it they share one "_other" rule */
#define MAX_DROP_ENTRIES 1024

struct queued {
	struct queued *next;
	char *json, *text;
	int priority;
	size_t bytes;
	char *action, *rule, *syscall; /* point into strings[] */
	char strings[];
};

enum drop_sink {
	DROP_ALL = -1, /* rate-limit, queue-full: reported to every sink */
	DROP_STREAM = 0, /* write-error of the stream sink */
};

struct drop_entry {
	char *reason, *rule, *action;
	int sink; /* enum drop_sink */
	int error; /* write-error: errno of the episode */
	uint64_t count; /* since open */
	uint64_t reported; /* count when the last records-dropped record went out */
	uint64_t metered; /* count already added to the metrics */
	uint64_t since_ns; /* start of the current reporting window */
};

struct stream {
	int fd;
	bool owns_fd;
	char *path;
	char *label; /* "output `FILE`", "stdout", "stderr" */
	enum record_format format;
	bool journal; /* $JOURNAL_STREAM is this fd: prefix "<N>" (sd-daemon(3)) */
	bool header_due; /* text: the column header goes before the next line */
	bool host_header; /* scan: the host columns' header, not the syscall one */
	bool failing;
	int error;
	uint64_t written;
};

struct output {
	struct output_options o;
	char *host_name;
	struct stream stream;
	struct metrics *metrics;
	uint64_t traced_threads;
	uint64_t suppressed; /* tracer stores, writer reads (relaxed) */

	/* ---- shared with the producer: under lock ---- */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct queued *head, *tail;
	size_t queued_records, queued_bytes;
	bool stopping, reopen_requested;
	struct metrics_host host;
	bool host_pending;
	struct drop_entry *drops;
	size_t n_drops;
	uint64_t dropped_queue;

	/* ---- writer thread only ---- */
	pthread_t thread;
	bool started;
	bool done; /* the thread finished (under lock) */
	bool idle_exited; /* it ended for lack of work: join it, start anew (under lock) */
	pthread_cond_t finished;
	uint64_t last_drop_report_ns;
	uint64_t next_metrics_ns;
	bool metrics_dirty; /* a record or a drop since the last rewrite */
	uint64_t metrics_observed; /* calls in the histogram at the last rewrite */
	uint64_t metrics_suppressed; /* suppressed calls at the last rewrite */
	uint64_t next_retry_ns;
	bool syslog_opened;
};

int output_priority_of(const char *level)
{
	static const char *const names[] = { "emergency", "alert",  "critical",	     "error",
					     "warning",	  "notice", "informational", "debug" };

	for (size_t i = 0; level && i < ARRAY_SIZE(names); i++)
		if (strcmp(level, names[i]) == 0)
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

static int open_stream_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);

	return fd < 0 ? -errno : fd;
}

int output_open(struct output **ret, const struct output_options *o, struct sw_error *err)
{
	struct output *out = calloc(1, sizeof(*out));
	pthread_condattr_t attr;
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
	out->o.path = out->o.metrics_path = NULL; /* not kept: copies below */
	out->host_name = strdup(o->host_name ? o->host_name : "localhost");
	out->stream.fd = o->fd;
	out->stream.format = o->format;
	out->stream.header_due = o->format == RECORD_FORMAT_TEXT;
	out->stream.host_header = o->mode && strcmp(o->mode, "scan") == 0;
	if (o->path) {
		out->stream.path = strdup(o->path);
		if (asprintf(&out->stream.label, "output `%s`", o->path) < 0)
			out->stream.label = NULL;
	} else {
		out->stream.label = strdup(o->fd == STDERR_FILENO ? "stderr" : "stdout");
		out->stream.journal = fd_is_journal(o->fd);
	}
	if (!out->host_name || !out->stream.label || (o->path && !out->stream.path)) {
		r = sw_error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	if (o->path) {
		out->stream.fd = open_stream_file(o->path);
		if (out->stream.fd < 0) {
			r = sw_error_set(err, out->stream.fd, "cannot open output `%s`", o->path);
			goto fail;
		}
		out->stream.owns_fd = true;
	}
	if (o->metrics_path) {
		out->metrics =
			metrics_new(o->metrics_path, o->mode ? o->mode : "run", o->metrics_slots);
		if (!out->metrics) {
			r = sw_error_set(err, -errno, "metrics file `%s`", o->metrics_path);
			goto fail;
		}
		/* fail early and clearly on a bad directory, not in the writer thread */
		r = metrics_write(out->metrics, err);
		if (r < 0)
			goto fail;
	}
	pthread_mutex_init(&out->lock, NULL);
	/* timed waits on CLOCK_MONOTONIC: a wall-clock step must not stall or spin the writer */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&out->wake, &attr);
	pthread_cond_init(&out->finished, &attr);
	pthread_condattr_destroy(&attr);
	out->last_drop_report_ns = sw_mono_ns();
	*ret = out;
	return 0;
fail:
	if (out->stream.owns_fd && out->stream.fd >= 0)
		close(out->stream.fd);
	metrics_free(out->metrics);
	free(out->stream.path);
	free(out->stream.label);
	free(out->host_name);
	free(out);
	return r;
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

void output_set_traced_threads(struct output *out, uint64_t n)
{
	__atomic_store_n(&out->traced_threads, n, __ATOMIC_RELAXED);
}

/* ---- drop accounting (under lock) ---------------------------------------- */

static struct drop_entry *drop_entry(struct output *out, const char *reason, const char *rule,
				     const char *action, int sink)
{
	struct drop_entry *v;

	if (!rule)
		rule = "";
	if (!action)
		action = "";
	for (size_t i = 0; i < out->n_drops; i++) {
		struct drop_entry *d = &out->drops[i];

		if (d->sink == sink && strcmp(d->reason, reason) == 0 &&
		    strcmp(d->rule, rule) == 0 && strcmp(d->action, action) == 0)
			return d;
	}
	/* a reload storm of generated rule names must not grow this without bound */
	if (out->n_drops >= MAX_DROP_ENTRIES && strcmp(rule, "_other") != 0)
		return drop_entry(out, reason, "_other", action, sink);
	v = realloc(out->drops, (out->n_drops + 1) * sizeof(*v));
	if (!v)
		return NULL;
	out->drops = v;
	v = &out->drops[out->n_drops];
	*v = (struct drop_entry){ .reason = strdup(reason),
				  .rule = strdup(rule),
				  .action = strdup(action),
				  .sink = sink };
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
	struct drop_entry *d = drop_entry(out, reason, rule, action, sink);

	if (!d)
		return; /* ENOMEM: the count is lost, nothing else */
	if (d->count == d->reported)
		d->since_ns = sw_mono_ns();
	if (!d->error)
		d->error = error;
	d->count += n;
}

static int lock_writer(struct output *out);

void output_count_dropped(struct output *out, const char *reason, const char *rule,
			  const char *action, uint64_t n)
{
	/* without a thread the count still stands: close reports it */
	if (lock_writer(out) < 0)
		pthread_mutex_lock(&out->lock);
	count_drop_locked(out, reason, rule, action, DROP_ALL, n, 0);
	pthread_cond_signal(&out->wake); /* its report may now be due */
	pthread_mutex_unlock(&out->lock);
}

/* ---- the producer side ------------------------------------------------- */

static void free_queued(struct queued *q)
{
	free(q->json);
	free(q->text);
	free(q);
}

static void *writer_main(void *arg);

int output_start(struct output *out)
{
	sigset_t all, old;
	int r;

	if (out->started)
		return 0;
	if (out->o.syslog && !out->syslog_opened) {
		/* LOG_NDELAY: connect now, in this order with the first record */
		openlog("stallwatch", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		out->syslog_opened = true;
	}
	out->done = false;
	/*
	 * Every signal is the tracer thread's business (its handlers end
	 * wait4 with EINTR): the writer starts with all of them blocked.
	 * SIGPIPE is thread-directed, so a closed pipe only gives EPIPE here.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&out->thread, NULL, writer_main, out);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		return r;
	out->started = true;
	return 0;
}

/*
 * Take the lock with a writer thread that will see what we add: start it if
 * there is none, and if it ended for lack of work, join it and start a new
 * one. The writer only ends while holding the lock with nothing to do, so
 * whatever we add before unlocking is never orphaned. 0 with the lock held,
 * or -errno without it.
 */
static int lock_writer(struct output *out)
{
	for (;;) {
		if (!out->started) {
			int r = output_start(out);

			if (r < 0)
				return r;
		}
		pthread_mutex_lock(&out->lock);
		if (!out->idle_exited)
			return 0;
		pthread_mutex_unlock(&out->lock);
		pthread_join(out->thread, NULL);
		out->started = false;
		out->idle_exited = false;
	}
}

bool output_writer_running(struct output *out)
{
	bool running;

	pthread_mutex_lock(&out->lock);
	running = out->started && !out->idle_exited;
	pthread_mutex_unlock(&out->lock);
	return running;
}

int output_submit(struct output *out, struct output_record *r)
{
	size_t la = r->action ? strlen(r->action) + 1 : 1, lr = r->rule ? strlen(r->rule) + 1 : 1,
	       ls = r->syscall ? strlen(r->syscall) + 1 : 0;
	struct queued *q;
	bool have_writer;
	int ret = 0;

	q = malloc(sizeof(*q) + la + lr + ls);
	if (!q) {
		ret = -ENOMEM;
		goto drop;
	}
	*q = (struct queued){ .json = r->json, .text = r->text, .priority = r->priority };
	r->json = r->text = NULL; /* the queue owns them now */
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

	have_writer = lock_writer(out) == 0;
	if (!have_writer)
		pthread_mutex_lock(&out->lock);
	/* no thread to write it (counted like a full queue), or a full queue */
	if (!have_writer || out->queued_records >= out->o.queue_max_records ||
	    out->queued_bytes + q->bytes > out->o.queue_max_bytes) {
		count_drop_locked(out, RECORD_DROP_QUEUE_FULL, q->rule, q->action, DROP_ALL, 1, 0);
		out->dropped_queue++;
		pthread_mutex_unlock(&out->lock);
		free_queued(q);
		return -ENOBUFS;
	}
	if (out->tail)
		out->tail->next = q;
	else
		out->head = q;
	out->tail = q;
	out->queued_records++;
	out->queued_bytes += q->bytes;
	pthread_cond_signal(&out->wake);
	pthread_mutex_unlock(&out->lock);
	return 0;

drop:
	free(r->json);
	free(r->text);
	r->json = r->text = NULL;
	pthread_mutex_lock(&out->lock);
	count_drop_locked(out, RECORD_DROP_QUEUE_FULL, r->rule, r->action, DROP_ALL, 1, 0);
	out->dropped_queue++;
	pthread_mutex_unlock(&out->lock);
	return ret;
}

void output_reopen(struct output *out)
{
	/* without a thread the request waits for the next one */
	if (lock_writer(out) < 0)
		pthread_mutex_lock(&out->lock);
	out->reopen_requested = true;
	pthread_cond_signal(&out->wake);
	pthread_mutex_unlock(&out->lock);
}

int output_host_metrics(struct output *out, const struct metrics_host *h)
{
	int r;

	if (!out->metrics)
		return 0;
	r = lock_writer(out);
	if (r < 0)
		return r;
	out->host = *h;
	out->host_pending = true;
	pthread_cond_signal(&out->wake);
	pthread_mutex_unlock(&out->lock);
	return 0;
}

/* ---- the writer thread -------------------------------------------------- */

/*
 * Write it all. A regular file that took only part of it (ENOSPC midway)
 * is cut back to where it was, so the file never holds a torn JSON line:
 * only when nobody else appended meanwhile (the file ends where we stopped).
 */
static int write_all(int fd, const char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n < 0) {
			int r = -errno;
			struct stat st;
			off_t end;

			if (r == -EINTR)
				continue;
			if (done && (end = lseek(fd, 0, SEEK_CUR)) >= (off_t)done &&
			    fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == end &&
			    ftruncate(fd, end - (off_t)done) < 0)
				r = -errno;
			return r;
		}
		done += (size_t)n;
	}
	return 0;
}

/*
 * One record line to the stream, as one write(2) (appends to a file and pipe
 * writes up to PIPE_BUF are atomic), with the journal's "<N>" prefix and, for
 * text, the column header first.
 */
static int stream_write(struct stream *s, const char *line, int priority)
{
	_cleanup_free_ char *buf = NULL;
	const char *data = line;
	size_t len = strlen(line);
	int r;

	if (s->header_due) {
		const char *header =
			s->host_header ? record_text_host_header() : record_text_header();

		r = write_all(s->fd, header, strlen(header));
		if (r < 0)
			return r;
		s->header_due = false;
	}
	if (s->journal) {
		/* SyslogLevelPrefix= (systemd.exec(5)): journald strips it into PRIORITY= */
		if (asprintf(&buf, "<%d>%s", priority, line) < 0)
			return -ENOMEM;
		data = buf;
		len = strlen(buf);
	}
	return write_all(s->fd, data, len);
}

static const char *stream_line(const struct stream *s, const struct queued *q)
{
	return s->format == RECORD_FORMAT_TEXT ? q->text : q->json;
}

static char *encode_dropped(struct output *out, const struct drop_entry *d, bool final,
			    enum record_format format, uint64_t now_ns)
{
	struct record_dropped rd = {
		.reason = d->reason,
		.rule = d->rule,
		.action = d->action[0] ? d->action : NULL,
		.sink = d->sink == DROP_STREAM ? out->stream.label : NULL,
		.error = d->error,
		.count = d->count - d->reported,
		.since_mono_ns = d->since_ns,
		.mono_ns = now_ns,
		.final = final,
	};

	return record_encode_dropped(&rd, out->host_name, sw_real_ns() - sw_mono_ns(), format);
}

/*
 * A copy of drop entry i (the producer may append entries meanwhile): -1 past
 * the end, 0 when it is not sink's or nothing is new since its last report.
 */
static int drop_pending(struct output *out, size_t i, int sink, struct drop_entry *ret)
{
	pthread_mutex_lock(&out->lock);
	if (i >= out->n_drops) {
		pthread_mutex_unlock(&out->lock);
		return -1;
	}
	*ret = out->drops[i];
	pthread_mutex_unlock(&out->lock);
	return ret->sink == sink && ret->count != ret->reported;
}

/* The stream failed: tracing goes on; one line per failure episode. */
static void stream_failed(struct output *out, int r, uint64_t now_ns)
{
	out->stream.failing = true;
	out->stream.error = -r;
	out->next_retry_ns = now_ns + out->o.retry_interval_ns;
	notify(out, "cannot write to %s: %s; tracing goes on, lost records are counted",
	       out->stream.label, strerror(-r));
}

/*
 * The stream failed before: report its write errors in a records-dropped
 * record. Writable again when that worked; then say so once.
 */
static bool stream_recover(struct output *out, bool final, uint64_t now_ns)
{
	struct stream *s = &out->stream;
	uint64_t lost = 0;

	if (!s->failing)
		return true;
	for (size_t i = 0;; i++) {
		struct drop_entry d;
		_cleanup_free_ char *line = NULL;
		int pending = drop_pending(out, i, DROP_STREAM, &d);

		if (pending < 0)
			break;
		if (!pending)
			continue;
		line = encode_dropped(out, &d, final, s->format, now_ns);
		if (!line || stream_write(s, line, LOG_WARNING) < 0)
			return false;
		lost += d.count - d.reported;
		pthread_mutex_lock(&out->lock);
		out->drops[i].reported = d.count;
		out->drops[i].error = 0;
		pthread_mutex_unlock(&out->lock);
	}
	s->failing = false;
	notify(out,
	       "%s is writable again; %llu record(s) were lost (see the records-dropped record)",
	       s->label, (unsigned long long)lost);
	return true;
}

static void stream_deliver(struct output *out, const struct queued *q, uint64_t now_ns)
{
	struct stream *s = &out->stream;
	const char *line = stream_line(s, q);
	int r;

	if (!line)
		return;
	if (s->failing && !stream_recover(out, false, now_ns)) {
		pthread_mutex_lock(&out->lock);
		count_drop_locked(out, RECORD_DROP_WRITE_ERROR, q->rule, q->action, DROP_STREAM, 1,
				  s->error);
		pthread_mutex_unlock(&out->lock);
		return;
	}
	r = stream_write(s, line, q->priority);
	if (r == 0) {
		s->written++;
		return;
	}
	pthread_mutex_lock(&out->lock);
	count_drop_locked(out, RECORD_DROP_WRITE_ERROR, q->rule, q->action, DROP_STREAM, 1, -r);
	pthread_mutex_unlock(&out->lock);
	stream_failed(out, r, now_ns);
}

static void syslog_deliver(struct output *out, const char *json, int priority)
{
	size_t len;

	if (!out->o.syslog || !json)
		return;
	/* Falco's syslog_output: the record, no trailing newline */
	len = strlen(json);
	if (len && json[len - 1] == '\n')
		len--;
	syslog(priority, "%.*s", (int)len, json);
}

static void deliver(struct output *out, struct queued *q, uint64_t now_ns)
{
	stream_deliver(out, q, now_ns);
	syslog_deliver(out, q->json, q->priority);
	if (out->metrics) {
		metrics_count_record(out->metrics, q->action, q->rule, q->syscall);
		out->metrics_dirty = true;
	}
}

static void do_reopen(struct output *out)
{
	struct stream *s = &out->stream;
	int fd;

	if (!s->path)
		return;
	fd = open_stream_file(s->path);
	if (fd < 0) {
		notify(out, "cannot reopen %s: %s; still writing to the old file", s->label,
		       strerror(-fd));
		return;
	}
	/* the old file (renamed by logrotate) got every line written so far */
	close(s->fd);
	s->fd = fd;
	s->header_due = s->format == RECORD_FORMAT_TEXT;
	/* a new file is a new chance for a sink that failed (ENOSPC on the old disk) */
	if (s->failing)
		out->next_retry_ns = 0;
}

/* records-dropped for rate-limit and queue-full: at most once per interval, and at close. */
static void report_drops(struct output *out, bool final, uint64_t now_ns)
{
	if (!final && now_ns - out->last_drop_report_ns < out->o.drop_report_interval_ns)
		return;
	/* a failing stream gets them once it recovers (the counts wait) */
	if (out->stream.failing)
		return;
	out->last_drop_report_ns = now_ns;
	for (size_t i = 0;; i++) {
		struct drop_entry d;
		_cleanup_free_ char *json = NULL, *text = NULL;
		int r = 0, pending = drop_pending(out, i, DROP_ALL, &d);

		if (pending < 0)
			break;
		if (!pending)
			continue;
		if (out->stream.format == RECORD_FORMAT_JSON || out->o.syslog)
			json = encode_dropped(out, &d, final, RECORD_FORMAT_JSON, now_ns);
		if (out->stream.format == RECORD_FORMAT_TEXT)
			text = encode_dropped(out, &d, final, RECORD_FORMAT_TEXT, now_ns);
		if (out->stream.format == RECORD_FORMAT_TEXT ? text : json)
			r = stream_write(&out->stream,
					 out->stream.format == RECORD_FORMAT_TEXT ? text : json,
					 LOG_WARNING);
		if (r < 0) {
			/* counted with the others when the stream recovers */
			stream_failed(out, r, now_ns);
			return;
		}
		syslog_deliver(out, json, LOG_WARNING);
		if (out->metrics) {
			out->metrics_dirty = true;
			metrics_count_record(out->metrics, "records-dropped", RECORD_DROP_RULE,
					     NULL);
		}
		pthread_mutex_lock(&out->lock);
		out->drops[i].reported = d.count;
		pthread_mutex_unlock(&out->lock);
	}
}

static void write_metrics(struct output *out, uint64_t now_ns)
{
	struct sw_error err = {};

	pthread_mutex_lock(&out->lock);
	for (size_t i = 0; i < out->n_drops; i++) {
		struct drop_entry *d = &out->drops[i];

		if (d->count != d->metered) {
			metrics_count_dropped(out->metrics, d->reason, d->rule,
					      d->count - d->metered);
			d->metered = d->count;
		}
	}
	pthread_mutex_unlock(&out->lock);
	metrics_set_traced_threads(out->metrics,
				   __atomic_load_n(&out->traced_threads, __ATOMIC_RELAXED));
	metrics_set_suppressed(out->metrics, __atomic_load_n(&out->suppressed, __ATOMIC_RELAXED));
	if (metrics_write(out->metrics, &err) < 0)
		notify(out, "%s: %s", err.msg, strerror(-err.code));
	out->next_metrics_ns = now_ns + out->o.metrics_interval_ns;
	out->metrics_dirty = false;
}

/*
 * run/attach: rewrite at most once per interval, and only when something
 * changed: a record, a drop, or a call in the histogram (a quiet tracee
 * costs one pass over the slots per second, no I/O).
 */
static bool metrics_due(struct output *out, uint64_t now_ns)
{
	uint64_t observed;

	if (!out->o.metrics_slots || now_ns < out->next_metrics_ns)
		return false;
	observed = metrics_observed(out->metrics);
	pthread_mutex_lock(&out->lock);
	for (size_t i = 0; i < out->n_drops && !out->metrics_dirty; i++)
		out->metrics_dirty = out->drops[i].count != out->drops[i].metered;
	pthread_mutex_unlock(&out->lock);
	if (__atomic_load_n(&out->suppressed, __ATOMIC_RELAXED) != out->metrics_suppressed)
		out->metrics_dirty = true;
	if (!out->metrics_dirty && observed == out->metrics_observed) {
		out->next_metrics_ns = now_ns + out->o.metrics_interval_ns;
		return false;
	}
	out->metrics_observed = observed;
	out->metrics_suppressed = __atomic_load_n(&out->suppressed, __ATOMIC_RELAXED);
	return true;
}

static uint64_t next_deadline(const struct output *out)
{
	uint64_t next = UINT64_MAX;

	if (out->metrics && out->o.metrics_slots)
		next = out->next_metrics_ns;
	if (out->stream.failing && out->next_retry_ns < next)
		next = out->next_retry_ns;
	for (size_t i = 0; i < out->n_drops; i++)
		if (out->drops[i].sink == DROP_ALL &&
		    out->drops[i].count != out->drops[i].reported) {
			uint64_t due = out->last_drop_report_ns + out->o.drop_report_interval_ns;

			if (due < next)
				next = due;
			break;
		}
	return next;
}

static void *writer_main(void *arg)
{
	struct output *out = arg;

	pthread_mutex_lock(&out->lock);
	for (;;) {
		struct queued *batch;
		bool reopen, stopping, host_pending;
		struct metrics_host host;
		uint64_t now_ns;

		while (!out->head && !out->stopping && !out->reopen_requested &&
		       !out->host_pending) {
			uint64_t deadline = next_deadline(out);
			struct timespec ts;

			if (deadline == UINT64_MAX) {
				/* nothing due: wait a while, then end (lock_writer starts a new one) */
				uint64_t idle_end = sw_mono_ns() + out->o.idle_exit_ns;

				ts.tv_sec = (time_t)(idle_end / NSEC_PER_SEC);
				ts.tv_nsec = (long)(idle_end % NSEC_PER_SEC);
				if (pthread_cond_timedwait(&out->wake, &out->lock, &ts) ==
					    ETIMEDOUT &&
				    !out->head && !out->stopping && !out->reopen_requested &&
				    !out->host_pending && next_deadline(out) == UINT64_MAX) {
					out->idle_exited = true;
					pthread_mutex_unlock(&out->lock);
					return NULL;
				}
				continue;
			}
			if (deadline <= sw_mono_ns())
				break;
			ts.tv_sec = (time_t)(deadline / NSEC_PER_SEC);
			ts.tv_nsec = (long)(deadline % NSEC_PER_SEC);
			if (pthread_cond_timedwait(&out->wake, &out->lock, &ts) == ETIMEDOUT)
				break;
		}
		batch = out->head;
		out->head = out->tail = NULL;
		out->queued_records = out->queued_bytes = 0;
		reopen = out->reopen_requested;
		out->reopen_requested = false;
		stopping = out->stopping;
		host_pending = out->host_pending;
		out->host_pending = false;
		host = out->host;
		pthread_mutex_unlock(&out->lock);

		now_ns = sw_mono_ns();
		if (reopen)
			do_reopen(out);
		while (batch) {
			struct queued *q = batch;

			batch = q->next;
			deliver(out, q, now_ns);
			free_queued(q);
		}
		now_ns = sw_mono_ns();
		if (out->stream.failing && (now_ns >= out->next_retry_ns || stopping)) {
			if (!stream_recover(out, stopping, now_ns))
				out->next_retry_ns = now_ns + out->o.retry_interval_ns;
		}
		report_drops(out, stopping, now_ns);
		if (out->metrics) {
			if (host_pending)
				metrics_set_host(out->metrics, &host);
			if (host_pending || stopping || metrics_due(out, now_ns))
				write_metrics(out, now_ns);
		}
		pthread_mutex_lock(&out->lock);
		if (stopping && !out->head)
			break;
	}
	out->done = true;
	pthread_cond_broadcast(&out->finished);
	pthread_mutex_unlock(&out->lock);
	return NULL;
}

/* ---- close ---------------------------------------------------------------- */

static void output_free(struct output *out)
{
	while (out->head) {
		struct queued *q = out->head;

		out->head = q->next;
		free_queued(q);
	}
	for (size_t i = 0; i < out->n_drops; i++) {
		free(out->drops[i].reason);
		free(out->drops[i].rule);
		free(out->drops[i].action);
	}
	free(out->drops);
	if (out->stream.owns_fd && out->stream.fd >= 0)
		close(out->stream.fd);
	metrics_free(out->metrics);
	free(out->stream.path);
	free(out->stream.label);
	free(out->host_name);
	pthread_cond_destroy(&out->wake);
	pthread_cond_destroy(&out->finished);
	pthread_mutex_destroy(&out->lock);
	free(out);
}

void output_close(struct output *out, struct output_stats *stats)
{
	struct output_stats st = {};
	bool finished = true;

	if (!out) {
		if (stats)
			*stats = st;
		return;
	}
	/*
	 * A running writer is told to stop; one that ended for lack of work is
	 * joined and, like a writer never started, run once more if drops are
	 * unreported or the metrics file needs its last state.
	 */
	if ((out->started || out->n_drops || out->metrics) && lock_writer(out) == 0) {
		uint64_t deadline = sw_mono_ns() + out->o.close_timeout_ns;
		struct timespec ts = { .tv_sec = (time_t)(deadline / NSEC_PER_SEC),
				       .tv_nsec = (long)(deadline % NSEC_PER_SEC) };

		/* from here on it cannot end idle: `stopping` is set */
		out->stopping = true;
		pthread_cond_signal(&out->wake);
		while (!out->done)
			if (pthread_cond_timedwait(&out->finished, &out->lock, &ts) == ETIMEDOUT)
				break;
		finished = out->done;
		st.unflushed = out->queued_records;
		pthread_mutex_unlock(&out->lock);
		if (finished)
			pthread_join(out->thread, NULL);
	}
	st.written = out->stream.written;
	st.dropped_queue = out->dropped_queue;
	st.write_errno = out->stream.error;
	for (size_t i = 0; i < out->n_drops; i++)
		if (out->drops[i].sink == DROP_STREAM)
			st.dropped_write += out->drops[i].count - out->drops[i].reported;
	if (stats)
		*stats = st;
	if (out->o.syslog)
		closelog();
	/*
	 * A sink stuck in write(2) (a stopped reader of a full pipe) keeps its
	 * thread: the process is about to exit; freeing under it would crash.
	 */
	if (finished)
		output_free(out);
}
