/* SPDX-License-Identifier: MIT */
#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/macro.h"
#include "../common/timeutil.h"
#include "../common/escape.h"
#include "../common/utf8.h"

/* Kernel strings are bounded before they get here; this bounds them again. */
#define RECORD_STR_MAX 4096
#define RECORD_CMDLINE_MAX 4096

/* jansson 2.14 ships json_decrefp() for exactly this (json_auto_t) */
#define _cleanup_json_ _cleanup_(json_decrefp)

/*
 * Every record is dumped with these. Reals with 15 significant digits
 * (DBL_DIG): a value read as decimal text (PSI's "21.06") prints as it was
 * read, not as its binary neighbour with 17 digits (21.059999999999999).
 */
#define RECORD_JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

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

/* U+2265 and U+2264: the bounds of a bracketed duration, "≥153.0 ms (≤160.2 ms)" */
#define GE "\xe2\x89\xa5"
#define LE "\xe2\x89\xa4"

void record_message(const struct record_syscall *ev, char *buf, size_t size)
{
	char dur[32], max[40] = "", thr[32], comm[64];
	const char *object = ev->path ? ev->path : ev->fd_path;
	bool stuck = strcmp(ev->action, "stuck-syscall") == 0;

	sw_format_duration(ev->duration_ns, dur, sizeof(dur));
	/* a stuck call is still in flight: it has no upper bound yet */
	if (ev->has_duration_max && !stuck) {
		char d[32];

		snprintf(max, sizeof(max), " (" LE "%s)",
			 sw_format_duration(ev->duration_max_ns, d, sizeof(d)));
	}
	sw_format_threshold(ev->threshold_ns, thr, sizeof(thr));
	sw_utf8_sanitize(ev->proc.name ? ev->proc.name : "?",
			 ev->proc.name ? strlen(ev->proc.name) : 1, comm, sizeof(comm), 0);
	snprintf(buf, size, "%s()%s%.*s %s %s%s%s%s (threshold %s) in %s[%d/%d]%s%s%s", ev->name,
		 object ? " of " : "", object ? 1024 : 0, object ? object : "",
		 stuck ? "in flight for" : "took", ev->partial ? "at least " : "", max[0] ? GE : "",
		 dur, max, thr, comm, ev->proc.pid, ev->proc.tid, ev->note ? " (" : "",
		 ev->note ? ev->note : "", ev->note ? ")" : "");
}

/*
 * The fields every record starts with (doc/schema.md), in this order:
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

static json_t *real_json(double v, int decimals);

static void set_u64(json_t *obj, const char *key, uint64_t v)
{
	set_new(obj, key, json_integer((json_int_t)v));
}

/* stallwatch.host of a syscall record: the host-record names (doc/schema.md) */
static json_t *call_host_json(const struct record_call_host *h)
{
	static const char *const psi_names[3] = { "cpu", "memory", "io" };
	json_t *host = json_object(), *p = NULL;

	if (h->has_memcg) {
		json_t *m = json_object();

		set_str(m, "hierarchy", h->memcg_hierarchy);
		if (h->memcg_counted) {
			set_u64(m, "online", h->memcg_online);
			set_u64(m, "offline", h->memcg_offline);
			set_u64(m, "offline_min", h->memcg_offline_min);
			set_u64(m, "offline_max", h->memcg_offline_max);
		}
		if (h->memcg_unavailable[0])
			set_str(m, "unavailable", h->memcg_unavailable);
		if (h->has_memcg_rate)
			set_new(m, "offline_growth_per_min",
				real_json(h->memcg_offline_growth_per_min, 2));
		if (h->has_stat_read) {
			set_u64(m, "stat_read_ns", h->stat_read_ns);
			set_str(m, "stat_read_path", h->stat_read_path);
		}
		if (h->memcg_counted || h->has_stat_read)
			set_u64(m, "sample_age_ns", h->memcg_sample_age_ns);
		if (h->has_memcg_previous) {
			json_t *prev = json_object();

			set_u64(prev, "sample_age_ns", h->previous_age_ns);
			if (h->previous_counted)
				set_u64(prev, "offline", h->previous_offline);
			if (h->previous_has_stat_read)
				set_u64(prev, "stat_read_ns", h->previous_stat_read_ns);
			set_new(m, "previous", prev);
		}
		set_new(host, "memcg", m);
	}
	if (h->has_dentry) {
		json_t *d = json_object();

		set_u64(d, "total", h->dentry_total);
		set_u64(d, "unused", h->dentry_unused);
		if (h->has_dentry_negative)
			set_u64(d, "negative", h->dentry_negative);
		if (h->has_dentry_growth) {
			set_new(d, "negative_growth_per_s",
				real_json(h->dentry_negative_growth_per_s, 2));
			set_u64(d, "growth_interval_ns", h->dentry_growth_interval_ns);
		}
		set_new(host, "dentry", d);
	}
	if (h->has_enoent) {
		json_t *en = json_object(), *top = json_array();

		set_str(en, "directory", h->enoent_directory);
		for (size_t i = 0; i < h->n_enoent_top && i < RECORD_ENOENT_TOP_MAX; i++) {
			const struct record_enoent_producer *pr = &h->enoent_top[i];
			json_t *e = json_object(), *proc = json_object();

			set_new(proc, "pid", json_integer(pr->pid));
			if (pr->name[0])
				set_str(proc, "name", pr->name);
			set_new(e, "process", proc);
			set_str(e, "directory", pr->directory);
			set_u64(e, "distinct", pr->distinct);
			set_u64(e, "count", pr->count);
			json_array_append_new(top, e);
		}
		set_new(en, "top", top);
		set_new(host, "enoent", en);
	}
	if (h->has_softnet) {
		json_t *n = json_object();

		set_u64(n, "time_squeeze", h->time_squeeze);
		set_u64(n, "dropped", h->softnet_dropped);
		if (h->has_softnet_delta) {
			set_u64(n, "time_squeeze_delta", h->time_squeeze_delta);
			set_u64(n, "dropped_delta", h->softnet_dropped_delta);
			set_u64(n, "delta_interval_ns", h->softnet_delta_interval_ns);
		}
		set_new(host, "softnet", n);
	}
	for (size_t i = 0; i < ARRAY_SIZE(h->pressure); i++) {
		json_t *r;

		if (!h->pressure[i].present)
			continue;
		if (!p)
			p = json_object();
		r = json_object();
		/* the kernel prints PSI with two decimals */
		set_new(r, "some_avg10", real_json(h->pressure[i].some_avg10, 2));
		if (h->pressure[i].has_full)
			set_new(r, "full_avg10", real_json(h->pressure[i].full_avg10, 2));
		set_new(p, psi_names[i], r);
	}
	if (p)
		set_new(host, "pressure", p);
	set_u64(host, "read_ns", h->read_ns);
	return host;
}

/*
 * A call is "cpu-starved" when it waited for a CPU longer than it slept and
 * ran together: a true record of the host (or its cgroup's CPU limit), not
 * of what the call waited on.
 */
static bool evidence_cpu_starved(const struct record_evidence *e)
{
	return (e->known & RECORD_EVIDENCE_TIMES) && e->runq_ns > e->on_cpu_ns + e->blocked_ns;
}

static json_t *encode_evidence(const struct record_evidence *e)
{
	json_t *obj = json_object();
	char state[2] = { e->state, 0 };

	if (!obj)
		return NULL;
	if (e->known & RECORD_EVIDENCE_TIMES) {
		set_new(obj, "on_cpu_ns", json_integer((json_int_t)e->on_cpu_ns));
		set_new(obj, "runq_ns", json_integer((json_int_t)e->runq_ns));
		set_new(obj, "blocked_ns", json_integer((json_int_t)e->blocked_ns));
		if (!(e->known & RECORD_EVIDENCE_NO_BLOCKS))
			set_new(obj, "blocks", json_integer((json_int_t)e->blocks));
		if (evidence_cpu_starved(e))
			set_new(obj, "cpu_starved", json_true());
	}
	if (e->known & RECORD_EVIDENCE_WINDOW)
		set_new(obj, "window_ns", json_integer((json_int_t)e->window_ns));
	if ((e->known & RECORD_EVIDENCE_STATE) && e->state)
		set_str(obj, "state", state);
	if ((e->known & RECORD_EVIDENCE_WCHAN) && e->wchan[0])
		set_str(obj, "wchan", e->wchan);
	if (e->known & RECORD_EVIDENCE_STACK) {
		if (e->stack_unavailable)
			set_str(obj, "kernel_stack_unavailable", e->stack_unavailable);
		else if (e->n_frames) {
			json_t *frames = json_array();

			for (size_t i = 0; frames && i < e->n_frames && i < RECORD_EVIDENCE_FRAMES;
			     i++)
				json_array_append_new(
					frames, json_kstring(e->frames[i],
							     strnlen(e->frames[i],
								     RECORD_EVIDENCE_FRAME_LEN),
							     0));
			set_new(obj, "kernel_stack", frames);
			set_str(obj, "kernel_stack_from", e->stack_from);
		}
	}
	if (e->known & RECORD_EVIDENCE_SAMPLES)
		set_new(obj, "cpu_samples", json_integer((json_int_t)e->cpu_samples));
	return obj;
}

/* process.*: with_thread adds process.thread (a record about one call of one thread) */
static json_t *process_json(const struct record_process *p, bool with_thread)
{
	json_t *process = json_object(), *thread;

	if (!process)
		return NULL;
	if (p->pid > 0)
		set_new(process, "pid", json_integer(p->pid));
	if (p->vpid > 0)
		set_new(process, "vpid", json_integer(p->vpid));
	set_str(process, "name", p->name);
	set_str(process, "executable", p->executable);
	if (p->command_line) {
		size_t len = p->command_line_len;

		/* cmdline ends with a NUL; don't turn it into a trailing space */
		while (len > 0 && p->command_line[len - 1] == 0)
			len--;
		if (len > RECORD_CMDLINE_MAX)
			len = RECORD_CMDLINE_MAX;
		set_new(process, "command_line", json_kstring(p->command_line, len, ' '));
	}
	if (with_thread) {
		thread = json_object();
		set_new(thread, "id", json_integer(p->tid));
		set_str(thread, "name", p->thread_name);
		set_new(process, "thread", thread);
	}
	if (p->cgroup)
		set_new(process, "cgroup", cgroup_array(p->cgroup));
	return process;
}

static json_t *encode_json(const struct record_syscall *ev, const char *host_name,
			   uint64_t real_minus_mono_ns)
{
	_cleanup_json_ json_t *root = json_object();
	json_t *event, *sw, *sc, *args;
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

	set_new(root, "process", process_json(&ev->proc, true));

	sw = new_stallwatch(ev->event_mono_ns);
	set_new(sw, "threshold_ns", json_integer((json_int_t)ev->threshold_ns));
	if (ev->sched_delay_ns || ev->sched_delay_known)
		set_new(sw, "sched_delay_ns", json_integer((json_int_t)ev->sched_delay_ns));
	if (ev->partial)
		set_new(sw, "partial", json_true());
	set_str(sw, "backend", ev->backend);
	if (ev->approximate)
		set_new(sw, "approximate", json_true());
	if (ev->has_duration_max && !stuck)
		set_new(sw, "duration_max_ns", json_integer((json_int_t)ev->duration_max_ns));
	set_str(sw, "end_seen", ev->end_seen);
	set_str(sw, "inflight_evidence", ev->inflight_evidence);
	if (ev->evidence && ev->evidence->known)
		set_new(sw, "evidence", encode_evidence(ev->evidence));
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
	if (ev->wait)
		set_new(sc, "wait", json_true());
	if (ev->note)
		set_str(sc, "note", ev->note);
	set_new(sw, "syscall", sc);
	if (ev->host)
		set_new(sw, "host", call_host_json(ev->host));
	set_new(root, "stallwatch", sw);
	return TAKE_PTR(root);
}

/* ---- text format (terminals) ------------------------------------------- */

/*
 * One line per record under record_text_header(), like perf trace and the
 * bcc tools. Start column (0-based) and width in terminal cells of each
 * column; LAT(ms) and RET are right-aligned and end just before their _END.
 * The header spells the same layout (tests/unit/test_record.c checks both).
 */
#define TEXT_LEVEL 16
#define TEXT_LEVEL_W 13 /* "informational", as in JSON */
#define TEXT_EVENT 30
#define TEXT_EVENT_W 5
#define TEXT_COMM 36
#define TEXT_COMM_W 16
#define TEXT_PID 53
#define TEXT_PID_W 16
#define TEXT_SYSCALL 70
#define TEXT_SYSCALL_W 18
#define TEXT_LAT_END 100
#define TEXT_RET_END 111
#define TEXT_DETAIL 112

/* Host records (scan): after EVENT, right-aligned numbers ending before _END, then DETAIL. */
#define HOST_MEMCG_END 50
#define HOST_STAT_END 64
#define HOST_NEGATIVE_END 77
#define HOST_SLAB_END 94
#define HOST_PSI_END 115
#define HOST_DETAIL 116

const char *record_text_header(void)
{
	return "TIME            LEVEL         EVENT COMM             PID/TID          SYSCALL    "
	       "            LAT(ms)        RET DETAIL\n";
}

const char *record_text_host_header(void)
{
	return "TIME            LEVEL         EVENT MEMCGS(on/off) STAT_READ(ms) NEG_DENTRIES "
	       "UNRECL_SLAB(MiB)    PSI10(cpu/mem/io) DETAIL\n";
}

/* A text line being built, and the terminal cells written so far. */
struct text_line {
	FILE *f;
	char *buf;
	size_t size;
	size_t col;
};

enum text_mode {
	TEXT_FIELD, /* a fixed-width column: a control character becomes '?', as in ps(1) */
	TEXT_ESCAPE, /* free text: control characters as \n, \t, \xHH */
	TEXT_QUOTE, /* DETAIL's path: as TEXT_ESCAPE, in "..." where it could be misread */
};

/* The code point at s, which sw_utf8_sanitize() made well-formed; returns its length. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] < 0xe0) {
		*cp = (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
		return 2;
	}
	if (s[0] < 0xf0) {
		*cp = (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
		return 3;
	}
	*cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
	      (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
	return 4;
}

/*
 * Cells of a printable code point: 2 for East Asian wide and fullwidth
 * characters, else 1. Not wcwidth(3), whose answer depends on the locale;
 * this is enough to keep a CJK comm from pushing the columns.
 */
static size_t cp_cells(uint32_t cp)
{
	static const uint32_t wide[][2] = {
		{ 0x1100, 0x115f },   { 0x2e80, 0x303e },   { 0x3041, 0x33ff },
		{ 0x3400, 0x4dbf },   { 0x4e00, 0x9fff },   { 0xa000, 0xa4cf },
		{ 0xac00, 0xd7a3 },   { 0xf900, 0xfaff },   { 0xfe30, 0xfe4f },
		{ 0xff00, 0xff60 },   { 0xffe0, 0xffe6 },   { 0x1f300, 0x1f64f },
		{ 0x1f900, 0x1f9ff }, { 0x20000, 0x3fffd },
	};

	for (size_t i = 0; i < ARRAY_SIZE(wide); i++)
		if (cp >= wide[i][0] && cp <= wide[i][1])
			return 2;
	return 1;
}

static void text_raw(struct text_line *t, const char *s, size_t len, size_t cells)
{
	fwrite(s, 1, len, t->f);
	t->col += cells;
}

/* ASCII we made ourselves: numbers, tags, the time. */
static void text_ascii(struct text_line *t, const char *s)
{
	text_raw(t, s, strlen(s), strlen(s));
}

/*
 * Spaces up to column col, and always at least one: a value wider than its
 * column pushes the next one instead of running into it, and the columns
 * after that line up again where they can.
 */
static void text_to(struct text_line *t, size_t col)
{
	do
		text_raw(t, " ", 1, 1);
	while (t->col < col);
}

/* A path that is empty or has a space, quote, backslash or control character is quoted. */
static bool needs_quotes(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!*p)
		return true;
	while (*p) {
		uint32_t cp;

		p += utf8_next(p, &cp);
		if (cp == ' ' || cp == '"' || cp == '\\' || sw_escape_is_control(cp))
			return true;
	}
	return false;
}

/*
 * s sanitised to UTF-8 (comm, paths and messages come from the kernel or
 * the program), in at most max_cells cells: a longer value is cut on a
 * character boundary.
 */
static void text_put(struct text_line *t, const char *s, enum text_mode mode, size_t max_cells)
{
	char buf[RECORD_STR_MAX * 3 + 1];
	const unsigned char *p = (const unsigned char *)buf, *end;
	bool quote;

	end = p + sw_utf8_sanitize(s, strnlen(s, RECORD_STR_MAX), buf, sizeof(buf), 0);
	quote = mode == TEXT_QUOTE && needs_quotes(buf);
	if (quote)
		text_ascii(t, "\"");
	while (p < end) {
		uint32_t cp;
		size_t n = utf8_next(p, &cp), len = n, cells;
		const char *out = (const char *)p;
		char esc[SW_ESCAPE_SIZE(4)];

		if (sw_escape_is_control(cp) && mode == TEXT_FIELD) {
			out = "?";
			len = 1;
		} else if (sw_escape_is_control(cp)) {
			/* the C escapes every foreign string gets (common/escape.h) */
			len = sw_escape_char((const char *)p, n, cp, esc);
			out = esc;
		} else if (quote && (cp == '"' || cp == '\\')) {
			esc[0] = '\\';
			esc[1] = (char)cp;
			len = 2;
			out = esc;
		}
		cells = out == (const char *)p ? cp_cells(cp) : len;
		if (cells > max_cells)
			break;
		max_cells -= cells;
		text_raw(t, out, len, cells);
		p += n;
	}
	if (quote)
		text_ascii(t, "\"");
}

/* A left-aligned column: starts at col, cut to width cells. */
static void text_field(struct text_line *t, size_t col, const char *s, size_t width)
{
	text_to(t, col);
	text_put(t, s, TEXT_FIELD, width);
}

/* A right-aligned value of ours (ASCII, or a bound sign) that ends just before column end. */
static void text_right(struct text_line *t, size_t end, const char *s)
{
	size_t len = strlen(s), cells = 0;

	/* one cell per character: every byte but UTF-8 continuation bytes */
	for (size_t i = 0; i < len; i++)
		cells += ((unsigned char)s[i] & 0xc0) != 0x80;
	text_to(t, end > cells ? end - cells : 0);
	text_raw(t, s, len, cells);
}

/* Every text line starts with TIME, LEVEL and the EVENT tag. Returns 0 or -errno. */
static int text_begin(struct text_line *t, uint64_t real_ns, const char *level, const char *tag)
{
	time_t secs = (time_t)(real_ns / NSEC_PER_SEC);
	struct tm tm;
	char ts[64];

	*t = (struct text_line){ 0 };
	t->f = open_memstream(&t->buf, &t->size);
	if (!t->f)
		return -errno;
	/* local wall time, as strace -tt and the bcc tools print it; the JSON keeps UTC */
	if (!localtime_r(&secs, &tm))
		gmtime_r(&secs, &tm);
	snprintf(ts, sizeof(ts), "%02d:%02d:%02d.%06" PRIu64, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 real_ns % NSEC_PER_SEC / NSEC_PER_USEC);
	text_ascii(t, ts);
	/* the names of JSON's log.level, all 8 in full (the longest, informational, is 13) */
	text_field(t, TEXT_LEVEL, level ? level : "?", TEXT_LEVEL_W);
	text_field(t, TEXT_EVENT, tag, TEXT_EVENT_W);
	return 0;
}

/* The finished text, or NULL (ENOMEM). */
static char *text_close(struct text_line *t)
{
	if (fclose(t->f) != 0) {
		free(t->buf);
		return NULL;
	}
	return t->buf;
}

static char *text_end(struct text_line *t)
{
	fputc('\n', t->f);
	return text_close(t);
}

/*
 * Host, summary and records-dropped lines: TIME, LEVEL, EVENT, then `what: `
 * (if any) and the human message, in one line but not in columns.
 */
static int text_message(struct text_line *t, uint64_t real_ns, const char *level, const char *tag,
			const char *what, const char *message)
{
	int r = text_begin(t, real_ns, level, tag);

	if (r < 0)
		return r;
	text_to(t, TEXT_COMM);
	if (what) {
		text_put(t, what, TEXT_ESCAPE, SIZE_MAX);
		text_ascii(t, ": ");
	}
	text_put(t, message, TEXT_ESCAPE, SIZE_MAX);
	return 0;
}

/* RET: the return value, -ERRNO where the C library names it, `?` without one (stuck, exit). */
static void text_ret(const struct record_syscall *ev, bool stuck, char *buf, size_t size)
{
	const char *name = NULL;

	if (!ev->has_ret || stuck) {
		snprintf(buf, size, "?");
		return;
	}
	if (ev->ret < 0 && ev->ret >= -4095)
		name = strerrorname_np((int)-ev->ret);
	if (name)
		snprintf(buf, size, "-%s", name);
	else
		snprintf(buf, size, "%" PRId64, ev->ret);
}

/* Before each DETAIL item: to the DETAIL column, or one space after the item before. */
static void text_detail_sep(struct text_line *t, bool *started)
{
	if (*started)
		text_ascii(t, " ");
	else
		text_to(t, TEXT_DETAIL);
	*started = true;
}

/* DETAIL: where the time went, in percent of what the times cover, and where it waited. */
static void text_evidence(struct text_line *t, bool *started, const struct record_evidence *e)
{
	uint64_t total = e->on_cpu_ns + e->runq_ns + e->blocked_ns;
	char buf[96];

	if ((e->known & RECORD_EVIDENCE_TIMES) && total) {
		snprintf(buf, sizeof(buf),
			 "cpu %" PRIu64 "%% runq %" PRIu64 "%% blocked %" PRIu64 "%%",
			 e->on_cpu_ns * 100 / total, e->runq_ns * 100 / total,
			 e->blocked_ns * 100 / total);
		text_detail_sep(t, started);
		text_ascii(t, buf);
		if (evidence_cpu_starved(e)) {
			text_detail_sep(t, started);
			text_ascii(t, "cpu-starved");
		}
	}
	if ((e->known & RECORD_EVIDENCE_WCHAN) && e->wchan[0]) {
		text_detail_sep(t, started);
		text_ascii(t, "in ");
		text_put(t, e->wchan, TEXT_ESCAPE, SIZE_MAX);
	}
}

/*
 * DETAIL: the host signals of stallwatch.host that bear on the call, the
 * few a reader acts on (the JSON record has them all): offline memcgs and
 * their growth, the self-timed stat read, negative dentries and their
 * growth, the top ENOENT producer, softnet squeezes and drops since the
 * last sample, and PSI some avg10 of a resource under pressure (>= 1 %).
 */
static void text_call_host(struct text_line *t, bool *started, const struct record_call_host *h)
{
	static const char *const resource[] = { "cpu", "mem", "io" };
	char buf[192];

	if (h->has_memcg && h->memcg_counted) {
		int n = snprintf(buf, sizeof(buf), "memcg-offline %" PRIu64, h->memcg_offline);

		if (h->has_memcg_rate && n > 0 && (size_t)n < sizeof(buf))
			snprintf(buf + n, sizeof(buf) - (size_t)n, " (%+.0f/min)",
				 h->memcg_offline_growth_per_min);
		text_detail_sep(t, started);
		text_ascii(t, buf);
	}
	if (h->has_memcg && h->has_stat_read) {
		snprintf(buf, sizeof(buf), "stat-read %" PRIu64 ".%03" PRIu64 "ms",
			 h->stat_read_ns / NSEC_PER_MSEC,
			 h->stat_read_ns % NSEC_PER_MSEC / NSEC_PER_USEC);
		text_detail_sep(t, started);
		text_ascii(t, buf);
	}
	if (h->has_dentry && h->has_dentry_negative) {
		int n = snprintf(buf, sizeof(buf), "negative-dentries %" PRIu64,
				 h->dentry_negative);

		if (h->has_dentry_growth && n > 0 && (size_t)n < sizeof(buf))
			snprintf(buf + n, sizeof(buf) - (size_t)n, " (%+.0f/s)",
				 h->dentry_negative_growth_per_s);
		text_detail_sep(t, started);
		text_ascii(t, buf);
	}
	if (h->has_enoent && h->n_enoent_top > 0) {
		const struct record_enoent_producer *p = &h->enoent_top[0];

		text_detail_sep(t, started);
		text_ascii(t, "enoent-top ");
		text_put(t, p->name[0] ? p->name : "?", TEXT_ESCAPE, SIZE_MAX);
		snprintf(buf, sizeof(buf), "[%d] %" PRIu64 " names", (int)p->pid, p->distinct);
		text_ascii(t, buf);
	}
	if (h->has_softnet && h->has_softnet_delta &&
	    (h->time_squeeze_delta || h->softnet_dropped_delta)) {
		snprintf(buf, sizeof(buf), "softnet squeezed +%" PRIu64 " dropped +%" PRIu64,
			 h->time_squeeze_delta, h->softnet_dropped_delta);
		text_detail_sep(t, started);
		text_ascii(t, buf);
	}
	for (size_t i = 0; i < 3; i++) {
		if (!h->pressure[i].present || h->pressure[i].some_avg10 < 1.0)
			continue;
		snprintf(buf, sizeof(buf), "psi-%s %.1f%%", resource[i], h->pressure[i].some_avg10);
		text_detail_sep(t, started);
		text_ascii(t, buf);
	}
}

static char *text_syscall(const struct record_syscall *ev, uint64_t real_minus_mono_ns)
{
	bool stuck = strcmp(ev->action, "stuck-syscall") == 0, started = false;
	const char *object = ev->path ? ev->path : ev->fd_path;
	struct text_line t;
	char num[64];

	if (text_begin(&t, ev->event_mono_ns + real_minus_mono_ns, ev->level,
		       stuck ? "STUCK" : "SLOW") < 0)
		return NULL;
	text_field(&t, TEXT_COMM, ev->proc.name ? ev->proc.name : "?", TEXT_COMM_W);
	snprintf(num, sizeof(num), "%d/%d", (int)ev->proc.pid, (int)ev->proc.tid);
	text_field(&t, TEXT_PID, num, TEXT_PID_W);
	text_field(&t, TEXT_SYSCALL, ev->name ? ev->name : "?", TEXT_SYSCALL_W);
	/*
	 * A stuck call is still in flight: its latency so far is a lower
	 * bound (>). A bracketed one ended in between its two bounds (>=,
	 * then the upper one in DETAIL).
	 */
	snprintf(num, sizeof(num), "%s%" PRIu64 ".%03" PRIu64,
		 stuck ? ">" : (ev->has_duration_max ? GE : ""), ev->duration_ns / NSEC_PER_MSEC,
		 ev->duration_ns % NSEC_PER_MSEC / NSEC_PER_USEC);
	text_right(&t, TEXT_LAT_END, num);
	text_ret(ev, stuck, num, sizeof(num));
	text_right(&t, TEXT_RET_END, num);
	if (object) {
		text_detail_sep(&t, &started);
		text_put(&t, object, TEXT_QUOTE, SIZE_MAX);
	}
	if (ev->rule_name) {
		text_detail_sep(&t, &started);
		text_ascii(&t, "[");
		text_put(&t, ev->rule_name, TEXT_ESCAPE, SIZE_MAX);
		text_ascii(&t, "]");
	}
	if (ev->partial) {
		/* began before the attach: LAT(ms) counts from the attach */
		text_detail_sep(&t, &started);
		text_ascii(&t, "partial");
	}
	if (ev->has_duration_max && !stuck) {
		snprintf(num, sizeof(num), "(" LE "%" PRIu64 ".%03" PRIu64 " ms)",
			 ev->duration_max_ns / NSEC_PER_MSEC,
			 ev->duration_max_ns % NSEC_PER_MSEC / NSEC_PER_USEC);
		text_detail_sep(&t, &started);
		text_put(&t, num, TEXT_ESCAPE, SIZE_MAX);
	}
	if (ev->approximate) {
		/* an end bracketed, not seen (notify): LAT(ms) is a lower bound */
		text_detail_sep(&t, &started);
		text_ascii(&t, "approximate");
	}
	if (ev->note) {
		text_detail_sep(&t, &started);
		text_ascii(&t, "(");
		text_put(&t, ev->note, TEXT_ESCAPE, SIZE_MAX);
		text_ascii(&t, ")");
	}
	if (ev->evidence)
		text_evidence(&t, &started, ev->evidence);
	if (ev->host)
		text_call_host(&t, &started, ev->host);
	return text_end(&t);
}

char *record_encode_syscall(const struct record_syscall *ev, const char *host_name,
			    uint64_t real_minus_mono_ns, enum record_format format)
{
	if (format == RECORD_FORMAT_TEXT)
		return text_syscall(ev, real_minus_mono_ns);

	_cleanup_json_ json_t *root = encode_json(ev, host_name, real_minus_mono_ns);
	_cleanup_free_ char *body = NULL;
	char *line;
	size_t len;

	if (!root)
		return NULL;
	body = json_dumps(root, RECORD_JSON_FLAGS);
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

/*
 * A computed real rounded to the decimals it means something to (a rate
 * per second to 0.01, R² to 0.0001): 1669.9833333333333 says no more than
 * 1669.98. Without libm; a value too large to round is left as it is.
 */
static json_t *real_json(double v, int decimals)
{
	double scale = 1, x;

	for (int i = 0; i < decimals; i++)
		scale *= 10;
	x = v * scale;
	if (x > -9e15 && x < 9e15)
		v = (double)(long long)(x + (x < 0 ? -0.5 : 0.5)) / scale;
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
				real_json(hr->memcg_offline_growth_per_min, 2));
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
				real_json(hr->dentry_negative_rate_per_s, 2));
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
					real_json(c->slope_bytes_per_hour, 0));
				set_new(o, "r2", real_json(c->r2, 4));
				set_new(o, "span_s", real_json(c->span_s, 1));
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

			/* the kernel prints PSI with two decimals */
			set_new(r, "some_avg10", real_json(hr->pressure[i].some_avg10, 2));
			if (hr->pressure[i].has_full)
				set_new(r, "full_avg10", real_json(hr->pressure[i].full_avg10, 2));
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

/* PSI10: some avg10 of cpu, memory and io, `-` for one the host does not have; `-` without PSI */
static void text_psi(const struct record_host *hr, char *buf, size_t size)
{
	static const char *const order[] = { "cpu", "memory", "io" };
	size_t n = 0;

	snprintf(buf, size, "-");
	if (!hr->n_pressure)
		return; /* no PSI, or an alert (which leaves it out) */
	for (size_t k = 0; k < ARRAY_SIZE(order) && n < size; k++) {
		const struct record_pressure *p = NULL;

		for (size_t i = 0; i < hr->n_pressure; i++)
			if (strcmp(hr->pressure[i].name, order[k]) == 0)
				p = &hr->pressure[i];
		if (p)
			n += (size_t)snprintf(buf + n, size - n, "%s%.2f", k ? "/" : "",
					      p->some_avg10);
		else
			n += (size_t)snprintf(buf + n, size - n, "%s-", k ? "/" : "");
	}
}

/* Before each DETAIL item of a host-scan line: to the column, or ", " after the one before. */
static void text_host_sep(struct text_line *t, bool *started)
{
	if (*started)
		text_ascii(t, ", ");
	else
		text_to(t, HOST_DETAIL);
	*started = true;
}

/* DETAIL of a host-scan line: what the columns do not say, one item after another */
static void text_host_detail(struct text_line *t, const struct record_host *hr)
{
	char item[256];
	bool started = false;

	if (hr->has_memcg) {
		if (hr->memcg_unavailable)
			snprintf(item, sizeof(item), "%s, memcgs not counted: %s",
				 hr->memcg_hierarchy ?: "?", hr->memcg_unavailable);
		else
			snprintf(item, sizeof(item), "%s", hr->memcg_hierarchy ?: "?");
		text_host_sep(t, &started);
		text_put(t, item, TEXT_ESCAPE, SIZE_MAX);
	}
	if (hr->has_memcg_rate) {
		snprintf(item, sizeof(item), "offline %+.1f/min", hr->memcg_offline_growth_per_min);
		text_host_sep(t, &started);
		text_ascii(t, item);
	}
	if (hr->has_dentry_rate) {
		snprintf(item, sizeof(item), "negative %+.1f/s", hr->dentry_negative_rate_per_s);
		text_host_sep(t, &started);
		text_ascii(t, item);
	}
	if (hr->has_squeeze_delta && hr->time_squeeze_delta) {
		snprintf(item, sizeof(item), "time_squeeze +%" PRIu64, hr->time_squeeze_delta);
		text_host_sep(t, &started);
		text_ascii(t, item);
	}
	if (hr->n_slab_top) {
		snprintf(item, sizeof(item), "slab %s %+.1f MiB/h", hr->slab_top[0].name,
			 hr->slab_top[0].slope_bytes_per_hour / (1024.0 * 1024.0));
		text_host_sep(t, &started);
		text_put(t, item, TEXT_ESCAPE, SIZE_MAX);
	}
	snprintf(item, sizeof(item), "scan %.1f ms", (double)hr->scan_ns / NSEC_PER_MSEC);
	text_host_sep(t, &started);
	text_ascii(t, item);
}

/*
 * A host record under record_text_host_header(): host-scan is SCAN, an
 * alert ALERT (the alerts share one tag; DETAIL starts with the action).
 */
static char *text_host(const struct record_host *hr, uint64_t real_minus_mono_ns)
{
	bool scan = strcmp(hr->action, "host-scan") == 0;
	struct text_line t;
	char num[96], message[1024];

	if (text_begin(&t, hr->sample_mono_ns + real_minus_mono_ns, hr->level,
		       scan ? "SCAN" : "ALERT") < 0)
		return NULL;
	if (hr->has_memcg && hr->memcg_counted)
		snprintf(num, sizeof(num), "%" PRIu64 "/%" PRIu64, hr->memcg_online,
			 hr->memcg_offline);
	else
		snprintf(num, sizeof(num), "-");
	text_right(&t, HOST_MEMCG_END, num);
	if (hr->has_stat_read) /* rounded as the memcg-stat-slow alert's reason says it */
		snprintf(num, sizeof(num), "%.3f", (double)hr->stat_read_ns / NSEC_PER_MSEC);
	else
		snprintf(num, sizeof(num), "-");
	text_right(&t, HOST_STAT_END, num);
	if (hr->has_dentry_negative)
		snprintf(num, sizeof(num), "%" PRIu64, hr->dentry_negative);
	else
		snprintf(num, sizeof(num), "-");
	text_right(&t, HOST_NEGATIVE_END, num);
	if (hr->has_slab)
		snprintf(num, sizeof(num), "%.1f",
			 (double)hr->slab_unreclaimable_bytes / (1024.0 * 1024.0));
	else
		snprintf(num, sizeof(num), "-");
	text_right(&t, HOST_SLAB_END, num);
	text_psi(hr, num, sizeof(num));
	text_right(&t, HOST_PSI_END, num);
	if (scan && !hr->message)
		text_host_detail(&t, hr);
	else {
		host_message(hr, message, sizeof(message));
		text_to(&t, HOST_DETAIL);
		if (!scan) {
			text_put(&t, hr->action, TEXT_ESCAPE, SIZE_MAX);
			text_ascii(&t, ": ");
		}
		text_put(&t, message, TEXT_ESCAPE, SIZE_MAX);
	}
	return text_end(&t);
}

char *record_encode_host(const struct record_host *hr, const char *host_name,
			 uint64_t real_minus_mono_ns, enum record_format format)
{
	_cleanup_json_ json_t *root = NULL;
	_cleanup_free_ char *body = NULL;
	char *line = NULL;

	if (format == RECORD_FORMAT_TEXT)
		return text_host(hr, real_minus_mono_ns);
	root = encode_host_json(hr, host_name, real_minus_mono_ns);
	if (!root)
		return NULL;
	body = json_dumps(root, RECORD_JSON_FLAGS);
	if (!body || asprintf(&line, "%s\n", body) < 0)
		return NULL;
	return line;
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

		if (r->untimed == r->calls) {
			/* seen at entry only: no duration, no result to show */
			fprintf(f, "%10llu %8s %12s %10s %10s %10s %10s  %s\n",
				(unsigned long long)r->calls, "-", "-", "-", "-", "-", "-",
				r->name);
			calls += r->calls;
			continue;
		}
		fprintf(f, "%10llu %8llu %12.3f %10.1f %10.1f %10.1f %10.1f  %s\n",
			(unsigned long long)r->calls, (unsigned long long)r->errors,
			(double)r->total_ns / NSEC_PER_MSEC, (double)r->min_ns / NSEC_PER_USEC,
			(double)r->total_ns / (double)(r->calls - r->untimed) / NSEC_PER_USEC,
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

/* A title line in the columns (when, and how much), then the table. */
static char *text_summary(const struct record_summary *sum, uint64_t real_minus_mono_ns)
{
	_cleanup_free_ char *table = summary_table(sum);
	uint64_t calls = 0, errors = 0;
	struct text_line t;
	char message[256];

	if (!table)
		return NULL;
	for (size_t i = 0; i < sum->n_rows; i++) {
		calls += sum->rows[i].calls;
		errors += sum->rows[i].errors;
	}
	snprintf(message, sizeof(message),
		 "%llu watched calls of %zu syscall%s, %llu errors in %.1f s:",
		 (unsigned long long)calls, sum->n_rows, sum->n_rows == 1 ? "" : "s",
		 (unsigned long long)errors,
		 (double)(sum->mono_ns - sum->since_mono_ns) / NSEC_PER_SEC);
	if (text_message(&t, sum->mono_ns + real_minus_mono_ns, "informational", "SUMM", NULL,
			 message) < 0)
		return NULL;
	fputc('\n', t.f);
	fputs(table, t.f);
	return text_close(&t);
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
		if (r->untimed)
			set_new(o, "untimed", json_integer((json_int_t)r->untimed));
		if (r->untimed == r->calls) {
			/* seen at entry only (notify): no times, no errors to state */
			json_array_append_new(rows, o);
			continue;
		}
		set_new(o, "errors", json_integer((json_int_t)r->errors));
		set_new(o, "total_ns", json_integer((json_int_t)r->total_ns));
		set_new(o, "min_ns", json_integer((json_int_t)r->min_ns));
		set_new(o, "avg_ns",
			json_integer((json_int_t)(r->total_ns / (r->calls - r->untimed))));
		set_new(o, "max_ns", json_integer((json_int_t)r->max_ns));
		set_new(o, "p99_ns", json_integer((json_int_t)r->p99_ns));
		json_array_append_new(rows, o);
	}
	set_new(sw, "summary", rows);
	set_new(root, "stallwatch", sw);
	return TAKE_PTR(root);
}

char *record_encode_summary(const struct record_summary *sum, const char *host_name,
			    uint64_t real_minus_mono_ns, enum record_format format)
{
	char *line = NULL;

	if (format == RECORD_FORMAT_TEXT)
		return text_summary(sum, real_minus_mono_ns);
	_cleanup_json_ json_t *root = encode_summary_json(sum, host_name, real_minus_mono_ns);
	_cleanup_free_ char *body = root ? json_dumps(root, RECORD_JSON_FLAGS) : NULL;

	if (!body || asprintf(&line, "%s\n", body) < 0)
		return NULL;
	return line;
}

/* ---- records-dropped (output backpressure, rate limits) ---------------- */

void record_dropped_message(const struct record_dropped *d, char *buf, size_t size)
{
	const char *why = "";

	if (strcmp(d->reason, RECORD_DROP_RATE_LIMIT) == 0)
		why = "cut by the rule's rate limit";
	else if (strcmp(d->reason, RECORD_DROP_QUEUE_FULL) == 0)
		why = "not queued: the output queue was full (a sink is too slow)";
	else if (strcmp(d->reason, RECORD_DROP_WRITE_ERROR) == 0)
		why = "not written";
	snprintf(buf, size, "%llu %s%srecord%s of rule %s %s%s%s%s%s in the last %.1f s",
		 (unsigned long long)d->count, d->action ? d->action : "", d->action ? " " : "",
		 d->count == 1 ? "" : "s", d->rule ? d->rule : "?", why, d->sink ? " to " : "",
		 d->sink ? d->sink : "", d->error ? ": " : "", d->error ? strerror(d->error) : "",
		 (double)(d->mono_ns - d->since_mono_ns) / NSEC_PER_SEC);
}

char *record_encode_dropped(const struct record_dropped *d, const char *host_name,
			    uint64_t real_minus_mono_ns, enum record_format format)
{
	_cleanup_json_ json_t *root = NULL;
	_cleanup_free_ char *body = NULL;
	char message[1024], *line = NULL;
	json_t *sw, *dropped, *event;

	record_dropped_message(d, message, sizeof(message));
	if (format == RECORD_FORMAT_TEXT) {
		struct text_line t;

		if (text_message(&t, d->mono_ns + real_minus_mono_ns, "warning", "DROP", NULL,
				 message) < 0)
			return NULL;
		return text_end(&t);
	}
	root = json_object();
	if (!root)
		return NULL;
	event = set_header(root, d->mono_ns, real_minus_mono_ns, message, "event",
			   "records-dropped", d->mono_ns - d->since_mono_ns, "warning",
			   RECORD_DROP_RULE);
	set_new(event, "start", timestamp(d->since_mono_ns, real_minus_mono_ns));
	set_host(root, host_name);
	sw = new_stallwatch(d->mono_ns);
	dropped = json_object();
	set_new(dropped, "count", json_integer((json_int_t)d->count));
	set_str(dropped, "reason", d->reason);
	set_str(dropped, "rule", d->rule);
	set_str(dropped, "action", d->action);
	if (d->sink)
		set_str(dropped, "sink", d->sink);
	if (d->error) {
		const char *name = strerrorname_np(d->error);

		set_str(dropped, "errno", name ? name : "?");
	}
	if (d->final)
		set_new(dropped, "final", json_true());
	set_new(sw, "dropped", dropped);
	set_new(root, "stallwatch", sw);
	body = json_dumps(root, RECORD_JSON_FLAGS);
	if (!body || asprintf(&line, "%s\n", body) < 0)
		return NULL;
	return line;
}

/* ---- watch-status (the daemon's own cost) ------------------------------- */

void record_watch_status_message(const struct record_watch_status *ws, char *buf, size_t size)
{
	snprintf(buf, size,
		 "watching %llu process%s (%llu missed), %.1f MiB resident, %.2f s CPU in %.0f s; "
		 "pickup max %.1f ms",
		 (unsigned long long)ws->targets, ws->targets == 1 ? "" : "es",
		 (unsigned long long)(ws->missed_max_targets + ws->missed_failed),
		 (double)ws->rss_bytes / (1024.0 * 1024.0), (double)ws->cpu_ns / NSEC_PER_SEC,
		 (double)ws->uptime_ns / NSEC_PER_SEC, (double)ws->pickup_ns_max / NSEC_PER_MSEC);
}

char *record_encode_watch_status(const struct record_watch_status *ws, const char *host_name,
				 uint64_t real_minus_mono_ns, enum record_format format)
{
	_cleanup_json_ json_t *root = NULL;
	_cleanup_free_ char *body = NULL;
	char message[512], *line = NULL;
	json_t *sw, *self, *event;

	record_watch_status_message(ws, message, sizeof(message));
	if (format == RECORD_FORMAT_TEXT) {
		struct text_line t;

		if (text_message(&t, ws->mono_ns + real_minus_mono_ns, "informational", "WATCH",
				 NULL, message) < 0)
			return NULL;
		return text_end(&t);
	}
	root = json_object();
	if (!root)
		return NULL;
	event = set_header(root, ws->mono_ns, real_minus_mono_ns, message, "metric", "watch-status",
			   ws->mono_ns - ws->since_mono_ns, "informational", "watch-status");
	set_new(event, "start", timestamp(ws->since_mono_ns, real_minus_mono_ns));
	set_host(root, host_name);
	sw = new_stallwatch(ws->mono_ns);
	if (ws->backend)
		set_str(sw, "backend", ws->backend);
	self = json_object();
#define SELF_U64(name, v) set_new(self, name, json_integer((json_int_t)(v)))
	SELF_U64("uptime_ns", ws->uptime_ns);
	SELF_U64("rss_bytes", ws->rss_bytes);
	SELF_U64("cpu_ns", ws->cpu_ns);
	SELF_U64("targets", ws->targets);
	SELF_U64("added", ws->added);
	SELF_U64("released", ws->released);
	SELF_U64("exited", ws->exited);
	SELF_U64("missed", ws->missed_max_targets + ws->missed_failed);
	SELF_U64("missed_max_targets", ws->missed_max_targets);
	SELF_U64("missed_attach_failed", ws->missed_failed);
	SELF_U64("pickups", ws->pickups);
	SELF_U64("pickup_ns_max", ws->pickup_ns_max);
	SELF_U64("pickup_ns_mean", ws->pickup_ns_mean);
	SELF_U64("stop_ns_max", ws->stop_ns_max);
	SELF_U64("connector_lost", ws->connector_lost);
	SELF_U64("scans", ws->scans);
	SELF_U64("scans_lost", ws->scans_lost);
#undef SELF_U64
	set_new(self, "host_wide", json_boolean(ws->host_wide));
	set_new(sw, "self", self);
	set_new(root, "stallwatch", sw);
	body = json_dumps(root, RECORD_JSON_FLAGS);
	if (!body || asprintf(&line, "%s\n", body) < 0)
		return NULL;
	return line;
}

/* ---- enoent-storm records ----------------------------------------------- */

void record_enoent_message(const struct record_enoent *ev, char *buf, size_t size)
{
	char comm[64], window[32];
	double span_s = (double)(ev->last_mono_ns - ev->start_mono_ns) / NSEC_PER_SEC;

	sw_utf8_sanitize(ev->proc.name ? ev->proc.name : "?",
			 ev->proc.name ? strlen(ev->proc.name) : 1, comm, sizeof(comm), 0);
	sw_format_duration(ev->window_ns, window, sizeof(window));
	if (ev->trigger && strcmp(ev->trigger, "day") == 0) {
		snprintf(buf, size,
			 "%s[%d] failed lookups of about %" PRIu64
			 " distinct missing names in %.1024s within %.0f s (%" PRIu64
			 " lookups; threshold %.0f distinct names a day): each leaves a negative "
			 "dentry there",
			 comm, ev->proc.pid, ev->distinct, ev->directory ? ev->directory : "?",
			 span_s, ev->count, ev->threshold_per_s * 86400.0);
		return;
	}
	snprintf(buf, size,
		 "%s[%d] failed %" PRIu64 " lookups of about %" PRIu64
		 " distinct missing names in %.1024s within %.1f s (%.0f names/s; threshold %g/s "
		 "over %s): each leaves a negative dentry there%s%s%s",
		 comm, ev->proc.pid, ev->count, ev->distinct, ev->directory ? ev->directory : "?",
		 span_s, ev->rate_per_s, ev->threshold_per_s, window, ev->note ? " (" : "",
		 ev->note ? ev->note : "", ev->note ? ")" : "");
}

char *record_encode_enoent(const struct record_enoent *ev, const char *host_name,
			   uint64_t real_minus_mono_ns, enum record_format format)
{
	_cleanup_json_ json_t *root = NULL;
	_cleanup_free_ char *body = NULL;
	char message[2048], *line = NULL;
	json_t *sw, *en, *event, *samples, *key;

	record_enoent_message(ev, message, sizeof(message));
	if (format == RECORD_FORMAT_TEXT) {
		struct text_line t;
		char num[64];

		if (text_begin(&t, ev->event_mono_ns + real_minus_mono_ns, ev->level, "STORM") < 0)
			return NULL;
		text_field(&t, TEXT_COMM, ev->proc.name ? ev->proc.name : "?", TEXT_COMM_W);
		snprintf(num, sizeof(num), "%d", (int)ev->proc.pid);
		text_field(&t, TEXT_PID, num, TEXT_PID_W);
		text_to(&t, TEXT_SYSCALL);
		text_put(&t, message, TEXT_ESCAPE, SIZE_MAX);
		return text_end(&t);
	}
	root = json_object();
	if (!root)
		return NULL;
	event = set_header(root, ev->event_mono_ns, real_minus_mono_ns, message, "alert",
			   "enoent-storm", ev->last_mono_ns - ev->start_mono_ns, ev->level,
			   ev->rule_name);
	set_new(event, "start", timestamp(ev->start_mono_ns, real_minus_mono_ns));
	set_host(root, host_name);
	set_new(root, "process", process_json(&ev->proc, false));
	sw = new_stallwatch(ev->event_mono_ns);
	set_str(sw, "backend", ev->backend);
	en = json_object();
	set_str(en, "directory", ev->directory);
	key = json_object();
	set_u64(key, "dev", ev->dir_dev);
	set_u64(key, "ino", ev->dir_ino);
	set_new(en, "directory_id", key);
	set_str(en, "trigger", ev->trigger ? ev->trigger : "window");
	set_u64(en, "distinct", ev->distinct);
	set_u64(en, "count", ev->count);
	set_new(en, "rate_per_s", real_json(ev->rate_per_s, 1));
	set_new(en, "peak_rate_per_s", real_json(ev->peak_per_s, 1));
	set_new(en, "threshold_per_s", real_json(ev->threshold_per_s, 3));
	set_u64(en, "window_ns", ev->window_ns);
	set_new(en, "distinct_error_pct", real_json(ev->distinct_error_pct, 1));
	set_new(en, "first_seen", timestamp(ev->start_mono_ns, real_minus_mono_ns));
	set_new(en, "last_seen", timestamp(ev->last_mono_ns, real_minus_mono_ns));
	set_u64(en, "total_distinct", ev->total_distinct);
	set_u64(en, "total_count", ev->total_count);
	set_new(en, "tracked_since", timestamp(ev->tracked_since_mono_ns, real_minus_mono_ns));
	set_u64(en, "evictions", ev->evictions);
	samples = json_array();
	for (size_t i = 0; samples && i < ev->n_samples; i++) {
		json_t *sv = json_kstring(ev->samples[i], strlen(ev->samples[i]), 0);

		if (sv)
			json_array_append_new(samples, sv);
	}
	set_new(en, "samples", samples);
	if (ev->note)
		set_str(en, "note", ev->note);
	set_new(sw, "enoent", en);
	set_new(root, "stallwatch", sw);
	body = json_dumps(root, RECORD_JSON_FLAGS);
	if (!body || asprintf(&line, "%s\n", body) < 0)
		return NULL;
	return line;
}
