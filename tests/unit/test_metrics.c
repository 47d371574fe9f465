/* SPDX-License-Identifier: MIT */
/* The Prometheus textfile (--metrics-file): exposition text, histogram, escaping, the file. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macro.h"
#include "record/metrics.h"
#include "unit.h"

/* ---- helpers -------------------------------------------------------------- */

/*
 * metrics_render() without the source label every series carries (its own
 * test checks it): the other tests read like the exposition they check.
 */
static char *render_plain(struct metrics *m)
{
	char *text = metrics_render(m), *out, *w;
	const char *r;

	if (!text)
		return NULL;
	out = malloc(strlen(text) + 1);
	if (!out) {
		free(text);
		return NULL;
	}
	for (r = text, w = out; *r;) {
		const char *label = strstr(r, "source=\"");
		const char *end;

		if (!label) {
			strcpy(w, r);
			w += strlen(r);
			break;
		}
		end = strchr(label + 8, '"') + 1;
		if (label[-1] == ',') {
			memcpy(w, r, (size_t)(label - 1 - r));
			w += label - 1 - r;
		} else { /* {source="m"} */
			memcpy(w, r, (size_t)(label - 1 - r));
			w += label - 1 - r;
			end++; /* the closing brace */
		}
		r = end;
	}
	*w = 0;
	free(text);
	return out;
}

/* Is `line` one whole line of text? */
static bool has_line(const char *text, const char *line)
{
	size_t len = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[len] == '\n')
			return true;
	return false;
}

#define CHECK_LINE(text, line)                                                                     \
	do {                                                                                       \
		if (!has_line((text), (line))) {                                                   \
			fprintf(stderr, "  %s:%d: no line `%s` in:\n%s", __FILE__, __LINE__,       \
				(line), (text));                                                   \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

/* Offset of `line` as a whole line, or -1. */
static long line_offset(const char *text, const char *line)
{
	size_t len = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[len] == '\n')
			return p - text;
	return -1;
}

/* The value of the sample whose `name{labels}` is exactly series, or UINT64_MAX. */
static uint64_t sample_u64(const char *text, const char *series)
{
	size_t len = strlen(series);

	for (const char *p = text; (p = strstr(p, series)); p++)
		if ((p == text || p[-1] == '\n') && p[len] == ' ')
			return strtoull(p + len + 1, NULL, 10);
	return UINT64_MAX;
}

/* ---- a minimal exposition-format checker (text format 0.0.4) -------------- */

struct family_seen {
	char name[128];
	char type[16];
	bool help, typed;
};

static char parse_error[256];

static int compare_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool name_char(char c, bool first)
{
	return isalpha((unsigned char)c) || c == '_' || c == ':' ||
	       (!first && isdigit((unsigned char)c));
}

/* Length of a metric name at p (0: none). */
static size_t metric_name_len(const char *p)
{
	size_t n = 0;

	while (name_char(p[n], n == 0))
		n++;
	return n;
}

/* The family a sample name belongs to: a histogram's _bucket/_sum/_count go to its base name. */
static struct family_seen *family_of(struct family_seen *f, size_t n_f, const char *name)
{
	static const char *const suffixes[] = { "_bucket", "_sum", "_count" };

	for (size_t i = 0; i < n_f; i++) {
		size_t len = strlen(f[i].name);

		if (strcmp(f[i].name, name) == 0)
			return &f[i];
		if (strcmp(f[i].type, "histogram") || strncmp(f[i].name, name, len))
			continue;
		for (size_t s = 0; s < ARRAY_SIZE(suffixes); s++)
			if (strcmp(name + len, suffixes[s]) == 0)
				return &f[i];
	}
	return NULL;
}

#define PARSE_FAIL(...)                                                                            \
	do {                                                                                       \
		snprintf(parse_error, sizeof(parse_error), __VA_ARGS__);                           \
		goto out;                                                                          \
	} while (0)

/*
 * Every line is `# HELP name text`, `# TYPE name type` or `name{labels} value`;
 * every family has HELP then TYPE before its samples, and its samples come in
 * one block right after them; no series twice. 0 or -1 (parse_error says why).
 */
static int check_exposition(const char *text)
{
	struct family_seen fam[64];
	size_t n_fam = 0, n_keys = 0, lineno = 0;
	char **keys = NULL;
	struct family_seen *current = NULL;
	int r = -1;

	parse_error[0] = 0;
	if (!*text || text[strlen(text) - 1] != '\n')
		PARSE_FAIL("no final newline");
	for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
		const char *p = line, *end = strchr(line, '\n');
		char name[128], key[1024];
		size_t len, k = 0;
		bool has_le = false;
		struct family_seen *f;

		lineno++;
		if (p == end)
			PARSE_FAIL("line %zu: empty", lineno);
		if (*p == '#') {
			bool help = strncmp(p, "# HELP ", 7) == 0,
			     type = strncmp(p, "# TYPE ", 7) == 0;

			if (!help && !type)
				PARSE_FAIL("line %zu: unknown comment", lineno);
			p += 7;
			len = metric_name_len(p);
			if (!len || len >= sizeof(name) || p[len] != ' ')
				PARSE_FAIL("line %zu: bad name", lineno);
			memcpy(name, p, len);
			name[len] = 0;
			p += len + 1;
			if (help) {
				for (size_t i = 0; i < n_fam; i++)
					if (strcmp(fam[i].name, name) == 0)
						PARSE_FAIL("line %zu: family %s twice", lineno,
							   name);
				if (n_fam == ARRAY_SIZE(fam) || p >= end)
					PARSE_FAIL("line %zu: bad HELP", lineno);
				current = &fam[n_fam++];
				memset(current, 0, sizeof(*current));
				strcpy(current->name, name);
				current->help = true;
				continue;
			}
			if (!current || strcmp(current->name, name) || current->typed)
				PARSE_FAIL("line %zu: TYPE without its HELP", lineno);
			len = (size_t)(end - p);
			if (len >= sizeof(current->type))
				PARSE_FAIL("line %zu: bad type", lineno);
			memcpy(current->type, p, len);
			current->type[len] = 0;
			if (strcmp(current->type, "counter") && strcmp(current->type, "gauge") &&
			    strcmp(current->type, "histogram"))
				PARSE_FAIL("line %zu: type %s", lineno, current->type);
			if (!strcmp(current->type, "counter") &&
			    (strlen(name) < 6 || strcmp(name + strlen(name) - 6, "_total")))
				PARSE_FAIL("line %zu: counter %s without _total", lineno, name);
			current->typed = true;
			continue;
		}
		len = metric_name_len(p);
		if (!len || len >= sizeof(name))
			PARSE_FAIL("line %zu: bad sample name", lineno);
		memcpy(name, p, len);
		name[len] = 0;
		f = family_of(fam, n_fam, name);
		if (!f || f != current || !f->help || !f->typed)
			PARSE_FAIL("line %zu: %s not right after its HELP and TYPE", lineno, name);
		p += len;
		memcpy(key, name, len);
		k = len;
		if (*p == '{') {
			key[k++] = *p++;
			while (*p != '}') {
				size_t l = 0;

				while (name_char(p[l], l == 0) && p[l] != ':')
					l++;
				if (!l || p[l] != '=' || p[l + 1] != '"')
					PARSE_FAIL("line %zu: bad label", lineno);
				has_le |= l == 2 && strncmp(p, "le", 2) == 0;
				p += l + 2;
				while (*p != '"') {
					if (p >= end)
						PARSE_FAIL("line %zu: unterminated label", lineno);
					if (*p == '\\' && p[1] != '\\' && p[1] != '"' &&
					    p[1] != 'n')
						PARSE_FAIL("line %zu: bad escape", lineno);
					p += *p == '\\' ? 2 : 1;
				}
				p++;
				if (*p == ',')
					p++;
				else if (*p != '}')
					PARSE_FAIL("line %zu: bad label list", lineno);
			}
			p++;
			if ((size_t)(p - line) >= sizeof(key))
				PARSE_FAIL("line %zu: too long", lineno);
			memcpy(key, line, (size_t)(p - line));
			k = (size_t)(p - line);
		}
		key[k] = 0;
		if (*p != ' ')
			PARSE_FAIL("line %zu: no space before the value", lineno);
		p++;
		if (!(strncmp(p, "+Inf\n", 5) == 0 || strncmp(p, "NaN\n", 4) == 0)) {
			char *vend;

			if (!isdigit((unsigned char)*p) && *p != '-')
				PARSE_FAIL("line %zu: bad value", lineno);
			strtod(p, &vend);
			if (vend != end)
				PARSE_FAIL("line %zu: bad value", lineno);
		}
		len = strlen(name);
		if (!strcmp(f->type, "histogram") && len > 7 &&
		    !strcmp(name + len - 7, "_bucket") && !has_le)
			PARSE_FAIL("line %zu: bucket without le", lineno);
		char **nk = realloc(keys, (n_keys + 1) * sizeof(*keys));
		if (!nk)
			PARSE_FAIL("out of memory");
		keys = nk;
		keys[n_keys] = strdup(key);
		if (!keys[n_keys])
			PARSE_FAIL("out of memory");
		n_keys++;
	}
	qsort(keys, n_keys, sizeof(*keys), compare_strp);
	for (size_t i = 1; i < n_keys; i++)
		if (strcmp(keys[i - 1], keys[i]) == 0)
			PARSE_FAIL("series %s twice", keys[i]);
	for (size_t i = 0; i < n_fam; i++)
		if (!fam[i].typed)
			PARSE_FAIL("family %s without TYPE", fam[i].name);
	r = 0;
out:
	for (size_t i = 0; i < n_keys; i++)
		free(keys[i]);
	free(keys);
	return r;
}

#define CHECK_EXPOSITION(text)                                                                     \
	do {                                                                                       \
		if (check_exposition(text) < 0) {                                                  \
			fprintf(stderr, "  %s:%d: not valid exposition text: %s\n%s", __FILE__,    \
				__LINE__, parse_error, (text));                                    \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

static void metricsp(struct metrics **m)
{
	metrics_free(*m);
}
#define _cleanup_metrics_ _cleanup_(metricsp)

static const struct metrics_host full_host = {
	.sample_unix_ns = 1795426451123456789ULL,
	.scan_ns = 2500000,
	.has_memcg = true,
	.memcg_online = 120,
	.memcg_offline = 4711,
	.has_stat_read = true,
	.stat_read_ns = 153000000,
	.has_dentry = true,
	.dentry_total = 900000,
	.has_dentry_negative = true,
	.dentry_negative = 800000,
	.has_slab = true,
	.slab_unreclaimable_bytes = 1073741824,
	.slab_reclaimable_bytes = 52428800,
};

/* ---- tests ---------------------------------------------------------------- */

static int test_render_lines(void)
{
	_cleanup_metrics_ struct metrics *m = metrics_new("/tmp/m.prom", "run", 16);
	_cleanup_free_ char *text = NULL;
	static const char *const order[] = {
		"# HELP stallwatch_info ",
		"# HELP stallwatch_start_time_seconds ",
		"# HELP stallwatch_records_total ",
		"# HELP stallwatch_records_dropped_total ",
		"# HELP stallwatch_syscall_duration_seconds ",
		"# HELP stallwatch_self_cpu_seconds_total ",
		"# HELP stallwatch_traced_threads ",
		"# HELP stallwatch_scans_total ",
		"# HELP stallwatch_scan_timestamp_seconds ",
		"# HELP stallwatch_scan_duration_seconds ",
		"# HELP stallwatch_memcg_online ",
		"# HELP stallwatch_memcg_offline ",
		"# HELP stallwatch_memcg_stat_read_seconds ",
		"# HELP stallwatch_dentry_total ",
		"# HELP stallwatch_dentry_negative ",
		"# HELP stallwatch_slab_unreclaimable_bytes ",
		"# HELP stallwatch_slab_reclaimable_bytes ",
	};
	long last = -1;

	CHECK(m);
	CHECK(metrics_count_record(m, "slow-syscall", "memcg-stat-read-slow", "read") == 0);
	CHECK(metrics_count_record(m, "slow-syscall", "memcg-stat-read-slow", "read") == 0);
	CHECK(metrics_count_record(m, "stuck-syscall", "command-line", "wait4") == 0);
	CHECK(metrics_count_record(m, "slow-syscall", "command-line", "wait4") == 0);
	CHECK(metrics_count_record(m, "records-dropped", "stallwatch.records-dropped", NULL) == 0);
	CHECK(metrics_count_dropped(m, "rate-limit", "command-line", "", 40) == 0);
	CHECK(metrics_count_dropped(m, "rate-limit", "command-line", NULL, 2) == 0);
	CHECK(metrics_count_dropped(m, "queue-full", "memcg-stat-read-slow", "syslog", 7) == 0);
	metrics_observe(m, 0, "read", 1500);
	metrics_set_traced_threads(m, 12);
	metrics_set_host(m, &full_host);
	metrics_set_host(m, &full_host);
	text = render_plain(m);
	CHECK(text);

	CHECK_LINE(text, "stallwatch_info{version=\"" SW_VERSION "\",mode=\"run\"} 1");
	CHECK_LINE(text, "# TYPE stallwatch_info gauge");
	CHECK_LINE(text, "# TYPE stallwatch_start_time_seconds gauge");
	CHECK_LINE(text, "# TYPE stallwatch_records_total counter");
	/* sorted by labels: action, then rule, then syscall */
	CHECK_LINE(
		text,
		"stallwatch_records_total{action=\"records-dropped\",rule=\"stallwatch.records-dropped\",syscall=\"\"} 1");
	CHECK_LINE(
		text,
		"stallwatch_records_total{action=\"slow-syscall\",rule=\"command-line\",syscall=\"wait4\"} 1");
	CHECK_LINE(
		text,
		"stallwatch_records_total{action=\"slow-syscall\",rule=\"memcg-stat-read-slow\",syscall=\"read\"} 2");
	CHECK_LINE(
		text,
		"stallwatch_records_total{action=\"stuck-syscall\",rule=\"command-line\",syscall=\"wait4\"} 1");
	CHECK(line_offset(text, "stallwatch_records_total{action=\"records-dropped\","
				"rule=\"stallwatch.records-dropped\",syscall=\"\"} 1") <
	      line_offset(text, "stallwatch_records_total{action=\"slow-syscall\","
				"rule=\"command-line\",syscall=\"wait4\"} 1"));
	CHECK(line_offset(text, "stallwatch_records_total{action=\"slow-syscall\","
				"rule=\"memcg-stat-read-slow\",syscall=\"read\"} 2") <
	      line_offset(text, "stallwatch_records_total{action=\"stuck-syscall\","
				"rule=\"command-line\",syscall=\"wait4\"} 1"));
	CHECK_LINE(text, "# TYPE stallwatch_records_dropped_total counter");
	CHECK_LINE(text, "stallwatch_records_dropped_total{reason=\"queue-full\","
			 "rule=\"memcg-stat-read-slow\",sink=\"syslog\"} 7");
	CHECK_LINE(text, "stallwatch_records_dropped_total{reason=\"rate-limit\","
			 "rule=\"command-line\",sink=\"\"} 42");
	CHECK_LINE(text, "# TYPE stallwatch_syscall_duration_seconds histogram");
	CHECK_LINE(text, "stallwatch_syscall_duration_seconds_count{syscall=\"read\"} 1");
	CHECK_LINE(text, "stallwatch_syscall_duration_seconds_sum{syscall=\"read\"} 0.0000015");
	CHECK_LINE(text, "# TYPE stallwatch_self_cpu_seconds_total counter");
	CHECK(strstr(text, "\nstallwatch_self_cpu_seconds_total{mode=\"system\"} "));
	CHECK(strstr(text, "\nstallwatch_self_cpu_seconds_total{mode=\"user\"} "));
	CHECK_LINE(text, "# TYPE stallwatch_traced_threads gauge");
	CHECK_LINE(text, "stallwatch_traced_threads 12");
	CHECK_LINE(text, "# TYPE stallwatch_scans_total counter");
	CHECK_LINE(text, "stallwatch_scans_total 2");
	CHECK_LINE(text, "# TYPE stallwatch_scan_timestamp_seconds gauge");
	CHECK_LINE(text, "stallwatch_scan_timestamp_seconds 1795426451.123456789");
	CHECK_LINE(text, "stallwatch_scan_duration_seconds 0.0025");
	CHECK_LINE(text, "stallwatch_memcg_online 120");
	CHECK_LINE(text, "stallwatch_memcg_offline 4711");
	CHECK_LINE(text, "stallwatch_memcg_stat_read_seconds 0.153");
	CHECK_LINE(text, "stallwatch_dentry_total 900000");
	CHECK_LINE(text, "stallwatch_dentry_negative 800000");
	CHECK_LINE(text, "stallwatch_slab_unreclaimable_bytes 1073741824");
	CHECK_LINE(text, "stallwatch_slab_reclaimable_bytes 52428800");
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		const char *p = strstr(text, order[i]);

		if (!p)
			fprintf(stderr, "  missing %s\n", order[i]);
		CHECK(p && p - text > last);
		last = p - text;
	}
	CHECK_EXPOSITION(text);
	return 0;
}

/* Families present with no samples only where stated; scan mode has no histogram. */
static int test_families_when_empty(void)
{
	_cleanup_metrics_ struct metrics *m = metrics_new("m.prom", "scan", 0);
	_cleanup_free_ char *text = NULL, *text2 = NULL;
	struct metrics_host h = { .sample_unix_ns = 1000000000, .scan_ns = 1, .has_memcg = true };

	CHECK(m);
	text = render_plain(m);
	CHECK(text);
	CHECK_LINE(text, "stallwatch_info{version=\"" SW_VERSION "\",mode=\"scan\"} 1");
	CHECK_LINE(text, "# TYPE stallwatch_records_total counter");
	CHECK_LINE(text, "# TYPE stallwatch_records_dropped_total counter");
	CHECK(!strstr(text, "\nstallwatch_records_total"));
	CHECK(!strstr(text, "stallwatch_syscall_duration_seconds"));
	CHECK(!strstr(text, "stallwatch_traced_threads"));
	CHECK(!strstr(text, "stallwatch_scan"));
	CHECK(!strstr(text, "stallwatch_memcg"));
	CHECK_EXPOSITION(text);

	/* only the groups that were measured */
	metrics_set_host(m, &h);
	text2 = render_plain(m);
	CHECK(text2);
	CHECK_LINE(text2, "stallwatch_scans_total 1");
	CHECK_LINE(text2, "stallwatch_scan_timestamp_seconds 1");
	CHECK_LINE(text2, "stallwatch_scan_duration_seconds 0.000000001");
	CHECK_LINE(text2, "stallwatch_memcg_online 0");
	CHECK_LINE(text2, "stallwatch_memcg_offline 0");
	CHECK(!strstr(text2, "stallwatch_memcg_stat_read_seconds"));
	CHECK(!strstr(text2, "stallwatch_dentry"));
	CHECK(!strstr(text2, "stallwatch_slab"));
	CHECK_EXPOSITION(text2);

	/* run mode: the histogram family appears with its first series only */
	metrics_free(m);
	m = metrics_new("m.prom", "attach", 4);
	CHECK(m);
	free(text);
	text = render_plain(m);
	CHECK(text);
	CHECK(!strstr(text, "stallwatch_syscall_duration_seconds"));
	CHECK_LINE(text, "stallwatch_traced_threads 0");
	CHECK_EXPOSITION(text);
	return 0;
}

/* watch: its series with their exact names (alerting rules use them), and stalls by severity */
static int test_watch_series(void)
{
	_cleanup_metrics_ struct metrics *m = metrics_new("m.prom", "watch", 4);
	_cleanup_free_ char *empty = NULL, *text = NULL;
	struct metrics_watch w = {
		.targets = 3,
		.added_total = 5,
		.released_total = 1,
		.missed_max_targets = 2,
		.missed_failed = 4,
		.pickup_ns_max = 1500000,
		.rss_bytes = 8388608,
	};

	CHECK(m);
	empty = render_plain(m);
	CHECK(empty);
	CHECK_LINE(empty, "stallwatch_info{version=\"" SW_VERSION "\",mode=\"watch\"} 1");
	CHECK_LINE(empty, "# TYPE stallwatch_stalls_total counter");
	CHECK(!strstr(empty, "stallwatch_watch_"));
	CHECK_EXPOSITION(empty);
	metrics_set_watch(m, &w);
	CHECK(metrics_count_stall(m, "slow-call", "warning") == 0);
	CHECK(metrics_count_stall(m, "slow-call", "warning") == 0);
	CHECK(metrics_count_stall(m, "slow-call", "critical") == 0);
	text = render_plain(m);
	CHECK(text);
	CHECK_LINE(text, "stallwatch_stalls_total{rule=\"slow-call\",severity=\"critical\"} 1");
	CHECK_LINE(text, "stallwatch_stalls_total{rule=\"slow-call\",severity=\"warning\"} 2");
	CHECK_LINE(text, "# TYPE stallwatch_watch_targets gauge");
	CHECK_LINE(text, "stallwatch_watch_targets 3");
	CHECK_LINE(text, "# TYPE stallwatch_watch_targets_added_total counter");
	CHECK_LINE(text, "stallwatch_watch_targets_added_total 5");
	CHECK_LINE(text, "stallwatch_watch_targets_released_total 1");
	CHECK_LINE(text, "stallwatch_watch_missed_total{reason=\"attach-failed\"} 4");
	CHECK_LINE(text, "stallwatch_watch_missed_total{reason=\"max-targets\"} 2");
	CHECK_LINE(text, "# TYPE stallwatch_watch_pickup_seconds_max gauge");
	CHECK_LINE(text, "stallwatch_watch_pickup_seconds_max 0.0015");
	CHECK_LINE(text, "stallwatch_self_resident_bytes 8388608");
	CHECK_EXPOSITION(text);
	return 0;
}

static int test_histogram_buckets(void)
{
	_cleanup_metrics_ struct metrics *m = metrics_new("m.prom", "run", 8);
	_cleanup_free_ char *text = NULL;
	static const char *const lines[] = {
		"stallwatch_syscall_duration_seconds_bucket{syscall=\"read\",le=\"1e-05\"} 2",
		"stallwatch_syscall_duration_seconds_bucket{syscall=\"read\",le=\"0.0001\"} 3",
		"stallwatch_syscall_duration_seconds_bucket{syscall=\"read\",le=\"0.001\"} 3",
		"stallwatch_syscall_duration_seconds_bucket{syscall=\"read\",le=\"0.01\"} 3",
		"stallwatch_syscall_duration_seconds_bucket{syscall=\"read\",le=\"0.1\"} 3",
		"stallwatch_syscall_duration_seconds_bucket{syscall=\"read\",le=\"1\"} 3",
		"stallwatch_syscall_duration_seconds_bucket{syscall=\"read\",le=\"10\"} 3",
		"stallwatch_syscall_duration_seconds_bucket{syscall=\"read\",le=\"+Inf\"} 4",
		"stallwatch_syscall_duration_seconds_sum{syscall=\"read\"} 20.000021",
		"stallwatch_syscall_duration_seconds_count{syscall=\"read\"} 4",
		/* exactly 10 s is in le="10"; one more ns is not */
		"stallwatch_syscall_duration_seconds_bucket{syscall=\"futex\",le=\"1\"} 0",
		"stallwatch_syscall_duration_seconds_bucket{syscall=\"futex\",le=\"10\"} 1",
		"stallwatch_syscall_duration_seconds_bucket{syscall=\"futex\",le=\"+Inf\"} 2",
		"stallwatch_syscall_duration_seconds_sum{syscall=\"futex\"} 20.000000001",
		"stallwatch_syscall_duration_seconds_count{syscall=\"futex\"} 2",
	};

	CHECK(m);
	metrics_observe(m, 3, "read", 999);
	metrics_observe(m, 3, "read", 10000); /* exactly 1e-05 s: le is "less or equal" */
	metrics_observe(m, 3, "read", 10001);
	metrics_observe(m, 5, "read", 20000000000ULL); /* another slot, same name: one series */
	metrics_observe(m, 1, "futex", 10000000000ULL);
	metrics_observe(m, 1, "futex", 10000000001ULL);
	metrics_observe(m, 8, "bogus", 1); /* slot out of range: ignored */
	metrics_observe(m, SIZE_MAX, "bogus", 1);
	text = render_plain(m);
	CHECK(text);
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
		CHECK_LINE(text, lines[i]);
	CHECK(!strstr(text, "bogus"));
	/* one series per name, futex before read */
	CHECK(line_offset(text, lines[10]) < line_offset(text, lines[0]));
	{
		size_t n = 0;

		for (const char *p = text; (p = strstr(p, "_count{syscall=\"read\"}")); p++)
			n++;
		CHECK(n == 1);
	}
	CHECK_EXPOSITION(text);
	return 0;
}

static int test_label_escaping(void)
{
	_cleanup_metrics_ struct metrics *m = metrics_new("m.prom", "run\"x", 0);
	_cleanup_free_ char *text = NULL;

	CHECK(m);
	CHECK(metrics_count_record(m, "slow-syscall", "a\\b\"c\nd", "read") == 0);
	CHECK(metrics_count_dropped(m, "queue-full", "caf\xe9", "stream", 1) == 0);
	/* two raw values that read the same after UTF-8 repair are one series */
	CHECK(metrics_count_dropped(m, "queue-full", "caf\xe8", "stream", 1) == 0);
	text = render_plain(m);
	CHECK(text);
	CHECK_LINE(text, "stallwatch_info{version=\"" SW_VERSION "\",mode=\"run\\\"x\"} 1");
	CHECK_LINE(text,
		   "stallwatch_records_total{action=\"slow-syscall\",rule=\"a\\\\b\\\"c\\nd\","
		   "syscall=\"read\"} 1");
	CHECK_LINE(text, "stallwatch_records_dropped_total{reason=\"queue-full\","
			 "rule=\"caf\xef\xbf\xbd\",sink=\"stream\"} 2");
	CHECK_EXPOSITION(text);
	return 0;
}

/* A policy with more rules than the bound cannot grow the file without end. */
static int test_series_bound(void)
{
	_cleanup_metrics_ struct metrics *m = metrics_new("m.prom", "run", 0);
	_cleanup_free_ char *text = NULL;
	const size_t extra = METRICS_MAX_OVERFLOW + 50;
	char rule[32], sc[32];
	size_t n = 0;

	CHECK(m);
	for (size_t i = 0; i < METRICS_MAX_SERIES; i++) {
		snprintf(rule, sizeof(rule), "r%06zu", i);
		CHECK(metrics_count_record(m, "slow-syscall", rule, "read") == 0);
	}
	/* a known series still counts as itself */
	CHECK(metrics_count_record(m, "slow-syscall", "r000007", "read") == 0);
	/* new rules: rule="_other", action and syscall kept */
	CHECK(metrics_count_record(m, "slow-syscall", "new-a", "read") == 0);
	CHECK(metrics_count_record(m, "slow-syscall", "new-b", "read") == 0);
	/* then overflow series per (action, syscall), up to METRICS_MAX_OVERFLOW */
	for (size_t i = 0; i < extra; i++) {
		snprintf(sc, sizeof(sc), "sc%05zu", i);
		CHECK(metrics_count_record(m, "stuck-syscall", "new-c", sc) == 0);
	}
	text = render_plain(m);
	CHECK(text);
	CHECK_LINE(text, "stallwatch_records_total{action=\"slow-syscall\",rule=\"r000007\","
			 "syscall=\"read\"} 2");
	CHECK_LINE(text, "stallwatch_records_total{action=\"slow-syscall\",rule=\"_other\","
			 "syscall=\"read\"} 2");
	CHECK(!strstr(text, "new-"));
	CHECK_LINE(text, "stallwatch_records_total{action=\"stuck-syscall\",rule=\"_other\","
			 "syscall=\"sc00000\"} 1");
	/* the last 51 overflow label sets share the one all-"_other" series */
	CHECK_LINE(text, "stallwatch_records_total{action=\"_other\",rule=\"_other\","
			 "syscall=\"_other\"} 51");
	for (const char *p = text; (p = strstr(p, "\nstallwatch_records_total{")); p++)
		n++;
	CHECK(n == METRICS_MAX_SERIES + METRICS_MAX_OVERFLOW + 1);
	return 0;
}

static int test_grammar_everything(void)
{
	_cleanup_metrics_ struct metrics *m = metrics_new("m.prom", "attach", 64);
	_cleanup_free_ char *text = NULL;
	static const char *const names[] = { "read", "openat", "futex", "epoll_wait", "write" };

	CHECK(m);
	for (size_t i = 0; i < 64; i++)
		metrics_observe(m, i, names[i % ARRAY_SIZE(names)], (uint64_t)i * i * i * 1000);
	for (size_t i = 0; i < 30; i++) {
		char rule[32];

		snprintf(rule, sizeof(rule), "rule-%zu", i % 7);
		CHECK(metrics_count_record(m, i % 2 ? "slow-syscall" : "stuck-syscall", rule,
					   names[i % ARRAY_SIZE(names)]) == 0);
		CHECK(metrics_count_dropped(m, i % 3 ? "rate-limit" : "write-error", rule,
					    i % 3 ? "" : "stream", i) == 0);
	}
	CHECK(metrics_count_record(m, "records-dropped", "stallwatch.records-dropped", NULL) == 0);
	metrics_set_host(m, &full_host);
	metrics_set_traced_threads(m, 3);
	text = render_plain(m);
	CHECK(text);
	CHECK_EXPOSITION(text);
	/* and the checker does catch mistakes */
	CHECK(check_exposition("# HELP a_total x\n# TYPE a_total counter\na_total{x=\"1\" 1\n") <
	      0);
	CHECK(check_exposition("a 1\n") < 0);
	CHECK(check_exposition("# HELP a x\n# TYPE a gauge\na 1\n# HELP b x\n# TYPE b gauge\n"
			       "b 1\na 2\n") < 0);
	CHECK(check_exposition("# HELP a x\n# TYPE a gauge\na{l=\"\\t\"} 1\n") < 0);
	CHECK(check_exposition("# HELP a x\n# TYPE a gauge\na 1\na 2\n") < 0);
	CHECK(check_exposition("# HELP a x\n# TYPE a gauge\na{l=\"\\\"\"} 1\n") == 0);
	return 0;
}

/* ---- the file ------------------------------------------------------------- */

/* Names in dir other than "." and "..", joined by ' ' in readdir order; count in *n. */
static int list_dir(const char *dir, char *out, size_t size, size_t *n)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;

	*n = 0;
	out[0] = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		(*n)++;
		strncat(out, de->d_name, size - strlen(out) - 2);
		strcat(out, " ");
	}
	return 0;
}

static ssize_t read_file(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return n;
}

static int rm_rf_flat(const char *dir)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096];

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	return rmdir(dir) < 0 ? -errno : 0;
}

static int write_checks(const char *dir)
{
	char path[4096], tmp[4096], names[4096], buf[65536];
	_cleanup_metrics_ struct metrics *m = NULL;
	struct sw_error err = {};
	struct stat st;
	mode_t old_umask;
	size_t n;
	int r;

	snprintf(path, sizeof(path), "%s/node.prom", dir);
	m = metrics_new(path, "run", 4);
	CHECK(m);
	CHECK(metrics_count_record(m, "slow-syscall", "command-line", "read") == 0);
	/* a restrictive umask must not hide the file from node_exporter's user */
	old_umask = umask(077);
	r = metrics_write(m, &err);
	umask(old_umask);
	CHECK(r == 0);
	CHECK(stat(path, &st) == 0);
	CHECK((st.st_mode & 07777) == 0644);
	CHECK(S_ISREG(st.st_mode));
	CHECK(list_dir(dir, names, sizeof(names), &n) == 0);
	CHECK_STR(names, "node.prom ");
	CHECK(read_file(path, buf, sizeof(buf)) > 0);
	CHECK(strncmp(buf, "# HELP stallwatch_info ", 23) == 0);
	CHECK_LINE(buf, "stallwatch_records_total{action=\"slow-syscall\",rule=\"command-line\","
			"syscall=\"read\",source=\"node\"} 1");
	CHECK_EXPOSITION(buf);

	/* rewritten: the new content replaces the old */
	CHECK(metrics_count_record(m, "slow-syscall", "command-line", "read") == 0);
	CHECK(metrics_write(m, &err) == 0);
	CHECK(read_file(path, buf, sizeof(buf)) > 0);
	CHECK_LINE(buf, "stallwatch_records_total{action=\"slow-syscall\",rule=\"command-line\","
			"syscall=\"read\",source=\"node\"} 2");

	/* a stale temp file of an earlier process with our pid does not block us */
	snprintf(tmp, sizeof(tmp), "%s/.node.prom.%d.tmp", dir, (int)getpid());
	{
		_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		CHECK(fd >= 0);
	}
	CHECK(metrics_write(m, &err) == 0);
	CHECK(access(tmp, F_OK) < 0 && errno == ENOENT);
	CHECK(list_dir(dir, names, sizeof(names), &n) == 0);
	CHECK(n == 1);

	/* FILE is a directory: rename fails, the temp goes, the error says which file */
	metrics_free(m);
	snprintf(path, sizeof(path), "%s/sub.prom", dir);
	CHECK(mkdir(path, 0755) == 0);
	m = metrics_new(path, "run", 0);
	CHECK(m);
	r = metrics_write(m, &err);
	CHECK(r < 0);
	CHECK(err.code == r);
	CHECK(strstr(err.msg, "cannot write metrics file `"));
	CHECK(strstr(err.msg, "sub.prom`"));
	CHECK(rmdir(path) == 0);
	CHECK(list_dir(dir, names, sizeof(names), &n) == 0);
	CHECK_STR(names, "node.prom ");
	return 0;
}

static int test_write_file(void)
{
	char dir[] = "/tmp/sw-metrics.XXXXXX";
	int r;

	if (!mkdtemp(dir))
		return -1;
	r = write_checks(dir);
	if (rm_rf_flat(dir) < 0)
		r = -1;
	return r;
}

static int test_write_missing_dir(void)
{
	_cleanup_metrics_ struct metrics *m = metrics_new("/nonexistent-sw/dir/m.prom", "run", 0);
	struct sw_error err = {};

	CHECK(m);
	CHECK(metrics_write(m, &err) == -ENOENT);
	CHECK(err.code == -ENOENT);
	CHECK_STR(err.msg, "cannot write metrics file `/nonexistent-sw/dir/m.prom`");
	CHECK(!metrics_new("dir/", "run", 0) && errno == EINVAL);
	CHECK(!metrics_new("", "run", 0) && errno == EINVAL);
	return 0;
}

static int enospc_checks(const char *dir)
{
	char path[4096], filler[4096], names[4096], old[65536], now[65536], block[4096];
	_cleanup_metrics_ struct metrics *m = NULL;
	struct sw_error err = {};
	ssize_t old_len;
	size_t n;
	int r;

	snprintf(path, sizeof(path), "%s/node.prom", dir);
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	m = metrics_new(path, "run", 4);
	CHECK(m);
	CHECK(metrics_write(m, &err) == 0);
	old_len = read_file(path, old, sizeof(old));
	CHECK(old_len > 0);
	{
		_cleanup_close_ int fd =
			open(filler, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		ssize_t w;

		CHECK(fd >= 0);
		memset(block, 'x', sizeof(block));
		do
			w = write(fd, block, sizeof(block));
		while (w > 0);
		CHECK(w < 0 && errno == ENOSPC);
	}
	/* more than any page the filesystem might still have */
	for (int i = 0; i < 60; i++) {
		char rule[32];

		snprintf(rule, sizeof(rule), "rule-%03d", i);
		CHECK(metrics_count_record(m, "slow-syscall", rule, "read") == 0);
	}
	r = metrics_write(m, &err);
	CHECK(r == -ENOSPC);
	CHECK(err.code == -ENOSPC);
	CHECK(strstr(err.msg, "cannot write metrics file `"));
	CHECK(list_dir(dir, names, sizeof(names), &n) == 0);
	if (n != 2)
		fprintf(stderr, "  left in %s: %s\n", dir, names);
	CHECK(n == 2);
	CHECK(read_file(path, now, sizeof(now)) == old_len);
	CHECK(memcmp(old, now, (size_t)old_len) == 0);
	/* space again: the next write works */
	CHECK(unlink(filler) == 0);
	CHECK(metrics_write(m, &err) == 0);
	CHECK(read_file(path, now, sizeof(now)) > 0);
	CHECK(strstr(now, "rule=\"rule-059\""));
	return 0;
}

static int test_write_enospc(void)
{
	char dir[] = "/tmp/sw-metrics-full.XXXXXX";
	int r;

	if (!mkdtemp(dir))
		return -1;
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=16k,mode=0700") <
	    0) {
		static char reason[128];

		snprintf(reason, sizeof(reason), "cannot mount a tmpfs: %s", strerror(errno));
		rmdir(dir);
		SKIP(reason);
	}
	r = enospc_checks(dir);
	if (umount2(dir, 0) < 0) {
		fprintf(stderr, "  umount %s: %s\n", dir, strerror(errno));
		umount2(dir, MNT_DETACH);
		r = -1;
	}
	if (rmdir(dir) < 0)
		r = -1;
	return r;
}

/* ---- concurrency: one observer, one renderer ------------------------------ */

#define OBSERVATIONS 1000000

struct observer {
	struct metrics *m;
	int done;
};

static void *observe_main(void *arg)
{
	struct observer *o = arg;

	for (uint64_t i = 0; i < OBSERVATIONS; i++) {
		/* slots appear while the renderer reads: 2 then 3 then 7 */
		size_t slot = i < 1000 ? 2 : i % 2 ? 3 : 7;

		metrics_observe(o->m, slot, slot == 2 ? "read" : "write", i % 4 ? 500 : 50000);
	}
	__atomic_store_n(&o->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int test_threaded_observe(void)
{
	_cleanup_metrics_ struct metrics *m = metrics_new("m.prom", "run", 8);
	struct observer o = { .m = m };
	uint64_t last_read = 0, last_write = 0, renders = 0;
	pthread_t t;
	_cleanup_free_ char *text = NULL;

	CHECK(m);
	CHECK(pthread_create(&t, NULL, observe_main, &o) == 0);
	for (;;) {
		int done = __atomic_load_n(&o.done, __ATOMIC_ACQUIRE);
		char *s = render_plain(m);
		uint64_t c_read, c_write, inf;

		if (!s)
			break;
		c_read = sample_u64(s,
				    "stallwatch_syscall_duration_seconds_count{syscall=\"read\"}");
		c_write = sample_u64(
			s, "stallwatch_syscall_duration_seconds_count{syscall=\"write\"}");
		inf = sample_u64(
			s,
			"stallwatch_syscall_duration_seconds_bucket{syscall=\"write\",le=\"+Inf\"}");
		free(s);
		renders++;
		if (c_read != UINT64_MAX) {
			CHECK(c_read >= last_read && c_read <= 1000);
			last_read = c_read;
		}
		if (c_write != UINT64_MAX) {
			CHECK(c_write >= last_write);
			CHECK(inf == c_write);
			last_write = c_write;
		}
		if (done)
			break;
	}
	CHECK(pthread_join(t, NULL) == 0);
	text = render_plain(m);
	CHECK(text);
	CHECK_LINE(text, "stallwatch_syscall_duration_seconds_count{syscall=\"read\"} 1000");
	CHECK_LINE(text, "stallwatch_syscall_duration_seconds_count{syscall=\"write\"} 999000");
	/* i % 4 == 0 took 50 us: 250000 calls of the 1e6, 250 of them among the reads */
	CHECK_LINE(text,
		   "stallwatch_syscall_duration_seconds_bucket{syscall=\"read\",le=\"1e-05\"} 750");
	CHECK_LINE(
		text,
		"stallwatch_syscall_duration_seconds_bucket{syscall=\"write\",le=\"1e-05\"} 749250");
	CHECK_LINE(text, "stallwatch_syscall_duration_seconds_sum{syscall=\"write\"} 12.862125");
	CHECK_EXPOSITION(text);
	CHECK(renders > 0);
	return 0;
}

/* Every series carries source="<file name without .prom>", comments do not. */
static int test_source_label(void)
{
	_cleanup_metrics_ struct metrics *m =
		metrics_new("/tmp/dir/stallwatch-kubelet.prom", "attach", 4);
	_cleanup_free_ char *text = NULL;
	const char *p;
	int samples = 0;

	CHECK(m);
	metrics_observe(m, 1, "read", 1000);
	CHECK(metrics_count_record(m, "slow-syscall", "r", "read") == 0);
	text = metrics_render(m);
	CHECK(text);
	CHECK_LINE(text, "stallwatch_info{version=\"" SW_VERSION
			 "\",mode=\"attach\",source=\"stallwatch-kubelet\"} 1");
	CHECK_LINE(text,
		   "stallwatch_records_total{action=\"slow-syscall\",rule=\"r\",syscall=\"read\","
		   "source=\"stallwatch-kubelet\"} 1");
	CHECK_LINE(text, "stallwatch_traced_threads{source=\"stallwatch-kubelet\"} 0");
	for (p = text; *p; p = strchr(p, '\n') + 1) {
		const char *nl = strchr(p, '\n');

		CHECK(nl);
		if (*p != '#') {
			samples++;
			CHECK(memmem(p, (size_t)(nl - p), "source=\"stallwatch-kubelet\"", 27));
		} else
			CHECK(!memmem(p, (size_t)(nl - p), "source=", 7));
	}
	CHECK(samples > 10);
	return 0;
}

UNIT_MAIN(TEST(test_source_label), TEST(test_render_lines), TEST(test_families_when_empty),
	  TEST(test_histogram_buckets), TEST(test_label_escaping), TEST(test_series_bound),
	  TEST(test_grammar_everything), TEST(test_write_file), TEST(test_write_missing_dir),
	  TEST(test_write_enospc), TEST(test_threaded_observe), TEST(test_watch_series))
