/* SPDX-License-Identifier: MIT */
#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/macro.h"
#include "../common/timeutil.h"
#include "../common/utf8.h"

/* Kernel strings are bounded before they get here; this bounds them again. */
#define RECORD_STR_MAX 4096
#define RECORD_CMDLINE_MAX 4096

/* jansson 2.14 ships json_decrefp() for exactly this (json_auto_t) */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* json_string() rejects invalid UTF-8 (jansson 2.14): sanitise first. */
static json_t *json_kstring(const char *s, size_t len, char replace_nul)
{
	char buf[RECORD_STR_MAX * 3 + 1];

	if (len > RECORD_STR_MAX)
		len = RECORD_STR_MAX;
	sw_utf8_sanitize(s, len, buf, sizeof(buf), replace_nul);
	return json_string(buf);
}

static void set_new(json_t *obj, const char *key, json_t *value)
{
	/* json_object_set_new() steals value and copes with NULL (ENOMEM: field dropped) */
	if (value)
		json_object_set_new(obj, key, value);
}

static void set_str(json_t *obj, const char *key, const char *s)
{
	if (s)
		set_new(obj, key, json_kstring(s, strlen(s), 0));
}

static json_t *timestamp(uint64_t mono_ns, uint64_t real_minus_mono_ns)
{
	char buf[SW_RFC3339_LEN];

	return json_string(sw_format_rfc3339(mono_ns + real_minus_mono_ns, buf, sizeof(buf)));
}

/*
 * "/proc/PID/cgroup" text -> the process's cgroup path(s): v1 lines as
 * "CONTROLLERS:PATH" ("memory:/x", "cpu,cpuacct:/y"), the v2 line ("0::PATH")
 * as its bare PATH. A v2-only host thus gives ["/system.slice/x.service"].
 */
static json_t *cgroup_array(const char *text)
{
	json_t *arr = json_array();
	const char *line = text;

	if (!arr)
		return NULL;
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		const char *colon = memchr(line, ':', len);

		if (colon) {
			/* drop "ID:"; for v2 also the empty controller list */
			len -= (size_t)(colon + 1 - line);
			line = colon + 1;
			if (len > 0 && line[0] == ':') {
				line++;
				len--;
			}
		}
		if (len > 0) {
			json_t *s = json_kstring(line, len, 0);

			if (s)
				json_array_append_new(arr, s);
		}
		line = nl ? nl + 1 : NULL;
	}
	return arr;
}

void record_message(const struct record_syscall *ev, char *buf, size_t size)
{
	char dur[32], thr[32], comm[64];
	const char *object = ev->path ? ev->path : ev->fd_path;
	bool stuck = strcmp(ev->action, "stuck-syscall") == 0;

	sw_format_duration(ev->duration_ns, dur, sizeof(dur));
	sw_format_threshold(ev->threshold_ns, thr, sizeof(thr));
	sw_utf8_sanitize(ev->proc.name ? ev->proc.name : "?",
			 ev->proc.name ? strlen(ev->proc.name) : 1, comm, sizeof(comm), 0);
	snprintf(buf, size, "%s()%s%.*s %s %s%s (threshold %s) in %s[%d/%d]%s%s%s", ev->name,
		 object ? " of " : "", object ? 1024 : 0, object ? object : "",
		 stuck ? "in flight for" : "took", ev->partial ? "at least " : "", dur, thr, comm,
		 ev->proc.pid, ev->proc.tid, ev->note ? " (" : "", ev->note ? ev->note : "",
		 ev->note ? ")" : "");
}

/*
 * The fields every record starts with (interface.md), in this order:
 * @timestamp, message (sanitised to UTF-8), event, log.level, rule.name.
 * Returns the event object, for fields of one kind (event.start).
 */
static json_t *set_header(json_t *root, uint64_t event_mono_ns, uint64_t real_minus_mono_ns,
			  const char *message, const char *kind, const char *action,
			  uint64_t duration_ns, const char *level, const char *rule_name)
{
	char msg_utf8[2048 * 3];
	json_t *event = json_object(), *log = json_object(), *rule = json_object();

	sw_utf8_sanitize(message, strlen(message), msg_utf8, sizeof(msg_utf8), 0);
	set_new(root, "@timestamp", timestamp(event_mono_ns, real_minus_mono_ns));
	set_new(root, "message", json_string(msg_utf8));
	set_new(event, "kind", json_string(kind));
	set_new(event, "action", json_string(action));
	set_new(event, "duration", json_integer((json_int_t)duration_ns));
	set_new(root, "event", event);
	set_new(log, "level", json_string(level));
	set_new(root, "log", log);
	set_new(rule, "name", json_string(rule_name));
	set_new(root, "rule", rule);
	return event;
}

static void set_host(json_t *root, const char *host_name)
{
	json_t *host = json_object();

	set_str(host, "name", host_name);
	set_new(root, "host", host);
}

/* The `stallwatch` object every record has: schema and the monotonic time of @timestamp. */
static json_t *new_stallwatch(uint64_t mono_ns)
{
	json_t *sw = json_object();

	set_new(sw, "schema", json_integer(RECORD_SCHEMA_VERSION));
	set_new(sw, "mono_ns", json_integer((json_int_t)mono_ns));
	return sw;
}

static json_t *encode_json(const struct record_syscall *ev, const char *host_name,
			   uint64_t real_minus_mono_ns)
{
	_cleanup_json_ json_t *root = json_object();
	json_t *event, *process, *thread, *sw, *sc, *args;
	char message[2048];
	bool stuck = strcmp(ev->action, "stuck-syscall") == 0;

	if (!root)
		return NULL;
	record_message(ev, message, sizeof(message));
	event = set_header(root, ev->event_mono_ns, real_minus_mono_ns, message, "alert",
			   ev->action, ev->duration_ns, ev->level, ev->rule_name);
	set_new(event, "start", timestamp(ev->start_mono_ns, real_minus_mono_ns));

	if (ev->n_tags) {
		/* ECS `tags`: the rule's tags, strings from the policy (jansson checked UTF-8) */
		json_t *tags = json_array();

		for (size_t i = 0; tags && i < ev->n_tags; i++)
			json_array_append_new(tags, json_string(ev->tags[i]));
		set_new(root, "tags", tags);
	}

	set_host(root, host_name);

	process = json_object();
	if (ev->proc.pid > 0)
		set_new(process, "pid", json_integer(ev->proc.pid));
	if (ev->proc.vpid > 0)
		set_new(process, "vpid", json_integer(ev->proc.vpid));
	set_str(process, "name", ev->proc.name);
	set_str(process, "executable", ev->proc.executable);
	if (ev->proc.command_line) {
		size_t len = ev->proc.command_line_len;

		/* cmdline ends with a NUL; don't turn it into a trailing space */
		while (len > 0 && ev->proc.command_line[len - 1] == 0)
			len--;
		if (len > RECORD_CMDLINE_MAX)
			len = RECORD_CMDLINE_MAX;
		set_new(process, "command_line", json_kstring(ev->proc.command_line, len, ' '));
	}
	thread = json_object();
	set_new(thread, "id", json_integer(ev->proc.tid));
	set_str(thread, "name", ev->proc.thread_name);
	set_new(process, "thread", thread);
	if (ev->proc.cgroup)
		set_new(process, "cgroup", cgroup_array(ev->proc.cgroup));
	set_new(root, "process", process);

	sw = new_stallwatch(ev->event_mono_ns);
	set_new(sw, "threshold_ns", json_integer((json_int_t)ev->threshold_ns));
	if (ev->sched_delay_ns)
		set_new(sw, "sched_delay_ns", json_integer((json_int_t)ev->sched_delay_ns));
	if (ev->partial)
		set_new(sw, "partial", json_true());
	sc = json_object();
	set_str(sc, "name", ev->name);
	set_new(sc, "nr", json_integer(ev->nr));
	args = json_array();
	for (size_t i = 0; args && i < ARRAY_SIZE(ev->args); i++)
		/* raw register values; as signed 64-bit like the kernel's long */
		json_array_append_new(args, json_integer((json_int_t)ev->args[i]));
	set_new(sc, "args", args);
	if (ev->has_ret && !stuck) {
		set_new(sc, "ret", json_integer(ev->ret));
		if (ev->ret < 0 && ev->ret >= -4095) {
			const char *name = strerrorname_np((int)-ev->ret);

			if (name)
				set_new(sc, "errno", json_string(name));
		}
	}
	set_str(sc, "fd_path", ev->fd_path);
	set_str(sc, "path", ev->path);
	if (ev->note)
		set_str(sc, "note", ev->note);
	set_new(sw, "syscall", sc);
	set_new(root, "stallwatch", sw);
	return TAKE_PTR(root);
}

char *record_encode_syscall(const struct record_syscall *ev, const char *host_name,
			    uint64_t real_minus_mono_ns, enum record_format format)
{
	if (format == RECORD_FORMAT_TEXT) {
		char ts[SW_RFC3339_LEN], message[2048], msg_utf8[sizeof(message) * 3];
		char *line = NULL;

		record_message(ev, message, sizeof(message));
		sw_utf8_sanitize(message, strlen(message), msg_utf8, sizeof(msg_utf8), 0);
		sw_format_rfc3339(ev->event_mono_ns + real_minus_mono_ns, ts, sizeof(ts));
		if (asprintf(&line, "%s %s %s: %s\n", ts, ev->level, ev->action, msg_utf8) < 0)
			return NULL;
		return line;
	}

	_cleanup_json_ json_t *root = encode_json(ev, host_name, real_minus_mono_ns);
	_cleanup_free_ char *body = NULL;
	char *line;
	size_t len;

	if (!root)
		return NULL;
	body = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!body)
		return NULL;
	len = strlen(body);
	line = malloc(len + 2);
	if (!line)
		return NULL;
	memcpy(line, body, len);
	line[len] = '\n';
	line[len + 1] = 0;
	return line;
}

int recorder_init(struct recorder *rec, const char *path, int fd, enum record_format format,
		  bool format_auto, struct sw_error *err)
{
	memset(rec, 0, sizeof(*rec));
	rec->sink.fd = fd;
	if (path) {
		rec->sink.path = strdup(path);
		if (!rec->sink.path)
			return sw_error_set(err, -ENOMEM, "out of memory");
		rec->sink.fd =
			open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
		if (rec->sink.fd < 0) {
			int r = -errno;

			free(rec->sink.path);
			rec->sink.path = NULL;
			return sw_error_set(err, r, "cannot open output `%s`", path);
		}
		rec->sink.owns_fd = true;
	}
	rec->sink.format = format;
	if (format_auto)
		rec->sink.format = isatty(rec->sink.fd) ? RECORD_FORMAT_TEXT : RECORD_FORMAT_JSON;
	rec->real_minus_mono_ns = (int64_t)(sw_real_ns() - sw_mono_ns());
	if (gethostname(rec->host_name, sizeof(rec->host_name) - 1) < 0)
		snprintf(rec->host_name, sizeof(rec->host_name), "localhost");
	return 0;
}

void recorder_done(struct recorder *rec)
{
	if (rec->sink.owns_fd && rec->sink.fd >= 0)
		close(rec->sink.fd);
	rec->sink.fd = -1;
	free(rec->sink.path);
	rec->sink.path = NULL;
}

int recorder_reopen(struct recorder *rec, struct sw_error *err)
{
	int fd;

	if (!rec->sink.path)
		return 0;
	fd = open(rec->sink.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return sw_error_set(err, -errno, "cannot reopen output `%s`", rec->sink.path);
	/* keep the fd number stable: the old one may be referenced nowhere else */
	close(rec->sink.fd);
	rec->sink.fd = fd;
	return 0;
}

static int sink_write(struct sink *sink, const char *line, size_t len)
{
	size_t off = 0;

	/*
	 * One write(2) per record: appends to a file and pipe writes up to
	 * PIPE_BUF are atomic. A short write (pipe buffer full, signal) is
	 * finished with more writes rather than dropped.
	 */
	while (off < len) {
		ssize_t n = write(sink->fd, line + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			sink->last_errno = errno;
			sink->records_dropped++;
			return -errno;
		}
		off += (size_t)n;
	}
	sink->records_written++;
	return 0;
}

static uint64_t wall_offset_ns(struct recorder *rec)
{
	int64_t now = (int64_t)(sw_real_ns() - sw_mono_ns()), drift;

	drift = now - rec->real_minus_mono_ns;
	if (drift > (int64_t)NSEC_PER_MSEC || drift < -(int64_t)NSEC_PER_MSEC)
		rec->real_minus_mono_ns = now;
	return (uint64_t)rec->real_minus_mono_ns;
}

/* Write one encoded record (NULL: encoding ran out of memory; the record is counted dropped). */
static int write_record(struct recorder *rec, char *line)
{
	_cleanup_free_ char *owned = line;

	if (!owned) {
		rec->sink.records_dropped++;
		return -ENOMEM;
	}
	return sink_write(&rec->sink, owned, strlen(owned));
}

int recorder_syscall(struct recorder *rec, const struct record_syscall *ev)
{
	return write_record(rec, record_encode_syscall(ev, rec->host_name, wall_offset_ns(rec),
						       rec->sink.format));
}

/* ---- host records (scan) ---------------------------------------------- */

static void host_message(const struct record_host *hr, char *buf, size_t size)
{
	if (hr->message) {
		snprintf(buf, size, "%s", hr->message);
		return;
	}
	if (hr->alert_reason) {
		snprintf(buf, size, "%s%s%s", hr->alert_reason,
			 hr->alert_next_step ? "; next: " : "", hr->alert_next_step ?: "");
		return;
	}
	/* host-scan: the headline numbers */
	size_t n = (size_t)snprintf(buf, size,
				    "host scan took %.1f ms:", (double)hr->scan_ns / NSEC_PER_MSEC);

	if (hr->has_memcg && hr->memcg_counted && n < size)
		n += (size_t)snprintf(buf + n, size - n, " %llu offline memcgs (%llu online, %s)",
				      (unsigned long long)hr->memcg_offline,
				      (unsigned long long)hr->memcg_online, hr->memcg_hierarchy);
	else if (hr->has_memcg && n < size)
		n += (size_t)snprintf(buf + n, size - n, " offline memcgs not counted");
	if (hr->has_stat_read && n < size)
		n += (size_t)snprintf(buf + n, size - n, ", memory.stat read %.1f us",
				      (double)hr->stat_read_ns / NSEC_PER_USEC);
	if (hr->has_dentry_negative && n < size)
		n += (size_t)snprintf(buf + n, size - n, ", %llu negative dentries",
				      (unsigned long long)hr->dentry_negative);
	if (hr->has_slab && n < size)
		snprintf(buf + n, size - n, ", unreclaimable slab %.1f MiB",
			 (double)hr->slab_unreclaimable_bytes / (1024.0 * 1024.0));
}

static json_t *real_json(double v)
{
	return json_real(v);
}

static json_t *encode_host_json(const struct record_host *hr, const char *host_name,
				uint64_t real_minus_mono_ns)
{
	_cleanup_json_ json_t *root = json_object();
	json_t *sw, *self;
	char message[1024];
	bool metric = strcmp(hr->action, "host-scan") == 0;

	if (!root)
		return NULL;
	host_message(hr, message, sizeof(message));
	set_header(root, hr->sample_mono_ns, real_minus_mono_ns, message,
		   metric ? "metric" : "alert", hr->action, hr->scan_ns, hr->level, hr->rule_name);
	set_host(root, host_name);
	sw = new_stallwatch(hr->sample_mono_ns);
	if (hr->has_memcg) {
		json_t *m = json_object();

		set_str(m, "hierarchy", hr->memcg_hierarchy);
		if (hr->memcg_counted) {
			set_new(m, "online", json_integer((json_int_t)hr->memcg_online));
			set_new(m, "offline", json_integer((json_int_t)hr->memcg_offline));
			set_new(m, "offline_min", json_integer((json_int_t)hr->memcg_offline_min));
			set_new(m, "offline_max", json_integer((json_int_t)hr->memcg_offline_max));
			set_new(m, "offline_est_bytes",
				json_integer((json_int_t)hr->memcg_est_pinned_bytes));
		}
		set_str(m, "unavailable", hr->memcg_unavailable);
		if (hr->memcg_walked)
			set_new(m, "walk_ns", json_integer((json_int_t)hr->memcg_walk_ns));
		if (hr->has_memcg_rate)
			set_new(m, "offline_growth_per_min",
				real_json(hr->memcg_offline_growth_per_min));
		if (hr->has_stat_read) {
			set_new(m, "stat_read_ns", json_integer((json_int_t)hr->stat_read_ns));
			set_new(m, "stat_read_p50_ns",
				json_integer((json_int_t)hr->stat_read_p50_ns));
			set_new(m, "stat_reads", json_integer((json_int_t)hr->stat_reads));
			set_str(m, "stat_read_path", hr->stat_read_path);
		}
		set_new(sw, "memcg", m);
	}
	if (hr->has_dentry) {
		json_t *d = json_object();

		set_new(d, "total", json_integer((json_int_t)hr->dentry_total));
		set_new(d, "unused", json_integer((json_int_t)hr->dentry_unused));
		if (hr->has_dentry_negative)
			set_new(d, "negative", json_integer((json_int_t)hr->dentry_negative));
		if (hr->has_dentry_rate)
			set_new(d, "negative_rate_per_s",
				real_json(hr->dentry_negative_rate_per_s));
		set_new(sw, "dentry", d);
	}
	if (hr->has_slab) {
		json_t *s = json_object();

		set_new(s, "unreclaimable_bytes",
			json_integer((json_int_t)hr->slab_unreclaimable_bytes));
		set_new(s, "reclaimable_bytes",
			json_integer((json_int_t)hr->slab_reclaimable_bytes));
		set_new(s, "mem_total_bytes", json_integer((json_int_t)hr->mem_total_bytes));
		if (hr->has_percpu)
			set_new(s, "percpu_bytes", json_integer((json_int_t)hr->percpu_bytes));
		set_new(s, "sampled", json_boolean(hr->slab_sampled));
		if (hr->slab_sampled)
			set_new(s, "read_ns", json_integer((json_int_t)hr->slab_read_ns));
		set_str(s, "unavailable", hr->slab_unavailable);
		set_str(s, "cache", hr->alert_cache);
		if (hr->n_slab_top) {
			json_t *top = json_array();

			for (size_t i = 0; top && i < hr->n_slab_top; i++) {
				const struct record_slab_cache *c = &hr->slab_top[i];
				json_t *o = json_object();

				set_str(o, "cache", c->name);
				set_new(o, "bytes", json_integer((json_int_t)c->bytes));
				set_new(o, "slope_bytes_per_hour",
					real_json(c->slope_bytes_per_hour));
				set_new(o, "r2", real_json(c->r2));
				set_new(o, "span_s", real_json(c->span_s));
				json_array_append_new(top, o);
			}
			set_new(s, "top_growing", top);
		}
		set_new(sw, "slab", s);
	}
	if (hr->has_softnet) {
		json_t *n = json_object();

		set_new(n, "time_squeeze", json_integer((json_int_t)hr->time_squeeze));
		if (hr->has_squeeze_delta)
			set_new(n, "time_squeeze_delta",
				json_integer((json_int_t)hr->time_squeeze_delta));
		set_new(sw, "softnet", n);
	}
	if (hr->n_pressure) {
		json_t *p = json_object();

		for (size_t i = 0; p && i < hr->n_pressure; i++) {
			json_t *r = json_object();

			set_new(r, "some_avg10", real_json(hr->pressure[i].some_avg10));
			if (hr->pressure[i].has_full)
				set_new(r, "full_avg10", real_json(hr->pressure[i].full_avg10));
			set_new(p, hr->pressure[i].name, r);
		}
		set_new(sw, "pressure", p);
	}
	if (hr->alert_reason) {
		json_t *a = json_object();

		set_str(a, "reason", hr->alert_reason);
		set_str(a, "next_step", hr->alert_next_step);
		set_new(sw, "alert", a);
	}
	self = json_object();
	set_new(self, "scan_ns", json_integer((json_int_t)hr->scan_ns));
	set_new(sw, "self", self);
	set_new(root, "stallwatch", sw);
	return TAKE_PTR(root);
}

char *record_encode_host(const struct record_host *hr, const char *host_name,
			 uint64_t real_minus_mono_ns, enum record_format format)
{
	_cleanup_json_ json_t *root = NULL;
	_cleanup_free_ char *body = NULL;
	char *line = NULL;

	if (format == RECORD_FORMAT_TEXT) {
		char ts[SW_RFC3339_LEN], message[1024], msg_utf8[sizeof(message) * 3];

		host_message(hr, message, sizeof(message));
		sw_utf8_sanitize(message, strlen(message), msg_utf8, sizeof(msg_utf8), 0);
		sw_format_rfc3339(hr->sample_mono_ns + real_minus_mono_ns, ts, sizeof(ts));
		if (asprintf(&line, "%s %s %s: %s\n", ts, hr->level, hr->action, msg_utf8) < 0)
			return NULL;
		return line;
	}
	root = encode_host_json(hr, host_name, real_minus_mono_ns);
	if (!root)
		return NULL;
	body = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!body || asprintf(&line, "%s\n", body) < 0)
		return NULL;
	return line;
}

int recorder_host(struct recorder *rec, const struct record_host *hr)
{
	return write_record(
		rec, record_encode_host(hr, rec->host_name, wall_offset_ns(rec), rec->sink.format));
}

/* ---- summary (--summary) ---------------------------------------------- */

static char *summary_table(const struct record_summary *sum)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	uint64_t calls = 0, errors = 0, total = 0;

	if (!f)
		return NULL;
	fprintf(f, "%10s %8s %12s %10s %10s %10s %10s  %s\n", "calls", "errors", "total_ms",
		"min_us", "avg_us", "max_us", "p99_us", "syscall");
	for (size_t i = 0; i < sum->n_rows; i++) {
		const struct record_summary_row *r = &sum->rows[i];

		fprintf(f, "%10llu %8llu %12.3f %10.1f %10.1f %10.1f %10.1f  %s\n",
			(unsigned long long)r->calls, (unsigned long long)r->errors,
			(double)r->total_ns / NSEC_PER_MSEC, (double)r->min_ns / NSEC_PER_USEC,
			(double)r->total_ns / (double)r->calls / NSEC_PER_USEC,
			(double)r->max_ns / NSEC_PER_USEC, (double)r->p99_ns / NSEC_PER_USEC,
			r->name);
		calls += r->calls;
		errors += r->errors;
		total += r->total_ns;
	}
	fprintf(f, "%10llu %8llu %12.3f %10s %10s %10s %10s  %s\n", (unsigned long long)calls,
		(unsigned long long)errors, (double)total / NSEC_PER_MSEC, "", "", "", "", "total");
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static json_t *encode_summary_json(const struct record_summary *sum, const char *host_name,
				   uint64_t real_minus_mono_ns)
{
	_cleanup_json_ json_t *root = json_object();
	json_t *sw, *rows;
	uint64_t calls = 0, errors = 0;
	char message[256];

	if (!root)
		return NULL;
	for (size_t i = 0; i < sum->n_rows; i++) {
		calls += sum->rows[i].calls;
		errors += sum->rows[i].errors;
	}
	snprintf(message, sizeof(message),
		 "summary: %llu watched calls of %zu syscalls, %llu errors",
		 (unsigned long long)calls, sum->n_rows, (unsigned long long)errors);
	set_header(root, sum->mono_ns, real_minus_mono_ns, message, "metric", "summary",
		   sum->mono_ns - sum->since_mono_ns, "informational", "summary");
	set_host(root, host_name);
	sw = new_stallwatch(sum->mono_ns);
	rows = json_array();
	for (size_t i = 0; rows && i < sum->n_rows; i++) {
		const struct record_summary_row *r = &sum->rows[i];
		json_t *o = json_object();

		set_str(o, "syscall", r->name);
		set_new(o, "calls", json_integer((json_int_t)r->calls));
		set_new(o, "errors", json_integer((json_int_t)r->errors));
		set_new(o, "total_ns", json_integer((json_int_t)r->total_ns));
		set_new(o, "min_ns", json_integer((json_int_t)r->min_ns));
		set_new(o, "avg_ns", json_integer((json_int_t)(r->total_ns / r->calls)));
		set_new(o, "max_ns", json_integer((json_int_t)r->max_ns));
		set_new(o, "p99_ns", json_integer((json_int_t)r->p99_ns));
		json_array_append_new(rows, o);
	}
	set_new(sw, "summary", rows);
	set_new(root, "stallwatch", sw);
	return TAKE_PTR(root);
}

int recorder_summary(struct recorder *rec, const struct record_summary *sum)
{
	char *line = NULL;

	if (rec->sink.format == RECORD_FORMAT_TEXT)
		line = summary_table(sum);
	else {
		_cleanup_json_ json_t *root =
			encode_summary_json(sum, rec->host_name, wall_offset_ns(rec));
		_cleanup_free_ char *body =
			root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

		if (body && asprintf(&line, "%s\n", body) < 0)
			line = NULL;
	}
	return write_record(rec, line);
}
