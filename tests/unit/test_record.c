/* SPDX-License-Identifier: MIT */
/* The record encoder: schema v1 shape, UTF-8 sanitising, timestamps, text format. */
#include <jansson.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/timeutil.h"
#include "common/utf8.h"
#include "record/record.h"
#include "unit.h"

static struct record_syscall sample(void)
{
	static const char cmdline[] = "cadvisor\0--port\0"
				      "8080\0";
	struct record_syscall ev = {
		.action = "slow-syscall",
		.rule_name = "command-line",
		.level = "warning",
		.proc = { .pid = 1234,
			  .tid = 1240,
			  .vpid = 7,
			  .name = "cadvisor",
			  .thread_name = "worker",
			  .executable = "/usr/bin/cadvisor",
			  .command_line = cmdline,
			  .command_line_len = sizeof(cmdline) - 1,
			  .cgroup = "4:memory:/kubepods\n0::/\n" },
		.name = "read",
		.nr = 0,
		.args = { 3, 140000000000000ULL, 8192, 0, 0, 0 },
		.has_ret = true,
		.ret = 8192,
		.fd_path = "/sys/fs/cgroup/memory/memory.stat",
		.start_mono_ns = 1000000000ULL,
		.event_mono_ns = 1153000000ULL,
		.duration_ns = 153000000ULL,
		.threshold_ns = 50000000ULL,
	};
	return ev;
}

static json_t *encode(const struct record_syscall *ev)
{
	char *line = record_encode_syscall(ev, "node-17", 0, RECORD_FORMAT_JSON);
	json_t *j;

	if (!line)
		return NULL;
	/* exactly one line, newline-terminated */
	if (strlen(line) == 0 || line[strlen(line) - 1] != '\n' ||
	    strchr(line, '\n') != line + strlen(line) - 1) {
		free(line);
		return NULL;
	}
	j = json_loads(line, 0, NULL);
	free(line);
	return j;
}

static int no_dotted_keys(json_t *j)
{
	const char *key;
	json_t *v;

	if (!json_is_object(j))
		return 1;
	json_object_foreach(j, key, v)
	{
		if (strchr(key + (key[0] == '@'), '.'))
			return 0;
		if (!no_dotted_keys(v))
			return 0;
	}
	return 1;
}

static int test_slow_record_fields(void)
{
	struct record_syscall ev = sample();
	json_t *j = encode(&ev);

	CHECK(j);
	CHECK_STR(json_string_value(json_object_get(j, "@timestamp")),
		  "1970-01-01T00:00:01.153000000Z");
	CHECK_STR(
		json_string_value(json_object_get(j, "message")),
		"read() of /sys/fs/cgroup/memory/memory.stat took 153.0 ms (threshold 50 ms) in cadvisor[1234/1240]");
	json_t *event = json_object_get(j, "event");
	CHECK_STR(json_string_value(json_object_get(event, "kind")), "alert");
	CHECK_STR(json_string_value(json_object_get(event, "action")), "slow-syscall");
	CHECK(json_integer_value(json_object_get(event, "duration")) == 153000000);
	CHECK_STR(json_string_value(json_object_get(event, "start")),
		  "1970-01-01T00:00:01.000000000Z");
	CHECK_STR(json_string_value(json_object_get(json_object_get(j, "log"), "level")),
		  "warning");
	CHECK_STR(json_string_value(json_object_get(json_object_get(j, "rule"), "name")),
		  "command-line");
	CHECK_STR(json_string_value(json_object_get(json_object_get(j, "host"), "name")),
		  "node-17");
	json_t *proc = json_object_get(j, "process");
	CHECK(json_integer_value(json_object_get(proc, "pid")) == 1234);
	CHECK(json_integer_value(json_object_get(proc, "vpid")) == 7);
	CHECK(json_integer_value(json_object_get(json_object_get(proc, "thread"), "id")) == 1240);
	CHECK_STR(json_string_value(json_object_get(proc, "command_line")), "cadvisor --port 8080");
	CHECK(json_array_size(json_object_get(proc, "cgroup")) == 2);
	CHECK_STR(json_string_value(json_array_get(json_object_get(proc, "cgroup"), 0)),
		  "memory:/kubepods");
	CHECK_STR(json_string_value(json_array_get(json_object_get(proc, "cgroup"), 1)), "/");
	json_t *sw = json_object_get(j, "stallwatch");
	CHECK(json_integer_value(json_object_get(sw, "schema")) == 1);
	CHECK(json_integer_value(json_object_get(sw, "mono_ns")) == 1153000000);
	CHECK(json_integer_value(json_object_get(sw, "threshold_ns")) == 50000000);
	CHECK(!json_object_get(sw, "partial"));
	json_t *sc = json_object_get(sw, "syscall");
	CHECK_STR(json_string_value(json_object_get(sc, "name")), "read");
	CHECK(json_integer_value(json_object_get(sc, "ret")) == 8192);
	CHECK(!json_object_get(sc, "errno"));
	CHECK(json_array_size(json_object_get(sc, "args")) == 6);
	CHECK(no_dotted_keys(j));
	json_decref(j);
	return 0;
}

static int test_stuck_record_has_no_ret(void)
{
	struct record_syscall ev = sample();
	json_t *j, *sc;

	ev.action = "stuck-syscall";
	ev.has_ret = true; /* even if set by mistake, a stuck call has no result */
	j = encode(&ev);
	CHECK(j);
	sc = json_object_get(json_object_get(j, "stallwatch"), "syscall");
	CHECK(!json_object_get(sc, "ret"));
	CHECK(!json_object_get(sc, "errno"));
	CHECK(strstr(json_string_value(json_object_get(j, "message")), "in flight for 153.0 ms"));
	json_decref(j);
	return 0;
}

static int test_errno_name(void)
{
	struct record_syscall ev = sample();
	json_t *j, *sc;

	ev.ret = -2;
	j = encode(&ev);
	CHECK(j);
	sc = json_object_get(json_object_get(j, "stallwatch"), "syscall");
	CHECK(json_integer_value(json_object_get(sc, "ret")) == -2);
	CHECK_STR(json_string_value(json_object_get(sc, "errno")), "ENOENT");
	json_decref(j);
	return 0;
}

static int test_invalid_utf8_is_sanitised(void)
{
	struct record_syscall ev = sample();
	json_t *j;

	ev.proc.name = "bad\xff\xfe"; /* comm with Latin-1 bytes */
	ev.fd_path = "/tmp/caf\xe9"; /* ISO-8859-1 e-acute */
	j = encode(&ev);
	CHECK(j); /* json_string() would have returned NULL without sanitising */
	CHECK_STR(json_string_value(json_object_get(json_object_get(j, "process"), "name")),
		  "bad\xef\xbf\xbd\xef\xbf\xbd");
	CHECK_STR(json_string_value(json_object_get(
			  json_object_get(json_object_get(j, "stallwatch"), "syscall"), "fd_path")),
		  "/tmp/caf\xef\xbf\xbd");
	json_decref(j);
	return 0;
}

static int test_timestamp_format(void)
{
	char buf[SW_RFC3339_LEN];
	regex_t re;
	int ok;

	/* 2026-11-23T09:34:11.000000042Z */
	sw_format_rfc3339(1795426451ULL * NSEC_PER_SEC + 42, buf, sizeof(buf));
	CHECK_STR(buf, "2026-11-23T09:34:11.000000042Z");
	CHECK(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}Z$",
		      REG_EXTENDED | REG_NOSUB) == 0);
	ok = regexec(&re, sw_format_rfc3339(sw_real_ns(), buf, sizeof(buf)), 0, NULL, 0) == 0;
	regfree(&re);
	CHECK(ok);
	return 0;
}

static int test_durations_for_humans(void)
{
	char buf[32];

	CHECK_STR(sw_format_duration(850000, buf, sizeof(buf)), "850.0 us");
	CHECK_STR(sw_format_duration(153000000, buf, sizeof(buf)), "153.0 ms");
	CHECK_STR(sw_format_duration(1234000000, buf, sizeof(buf)), "1.234 s");
	CHECK_STR(sw_format_threshold(50000000, buf, sizeof(buf)), "50 ms");
	CHECK_STR(sw_format_threshold(1500000000, buf, sizeof(buf)), "1.5 s");
	CHECK_STR(sw_format_threshold(250000, buf, sizeof(buf)), "250 us");
	CHECK_STR(sw_format_threshold(7, buf, sizeof(buf)), "7 ns");
	CHECK_STR(sw_format_threshold(0, buf, sizeof(buf)), "0 ns");
	return 0;
}

static int test_utf8_sanitiser(void)
{
	char out[64];

	/* valid multibyte passes through */
	sw_utf8_sanitize("\xc2\xb5s \xe2\x82\xac \xf0\x9f\x98\x80", 13, out, sizeof(out), 0);
	CHECK_STR(out, "\xc2\xb5s \xe2\x82\xac \xf0\x9f\x98\x80");
	/* overlong, surrogate, > U+10FFFF, truncated sequence */
	sw_utf8_sanitize("\xc0\xaf", 2, out, sizeof(out), 0);
	CHECK_STR(out, "\xef\xbf\xbd\xef\xbf\xbd");
	sw_utf8_sanitize("\xed\xa0\x80", 3, out, sizeof(out), 0);
	CHECK_STR(out, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	sw_utf8_sanitize("\xf4\x90\x80\x80", 4, out, sizeof(out), 0);
	CHECK(strncmp(out, "\xef\xbf\xbd", 3) == 0);
	sw_utf8_sanitize("ab\xe2\x82", 4, out, sizeof(out), 0);
	CHECK_STR(out, "ab\xef\xbf\xbd\xef\xbf\xbd");
	/* NUL handling: stop, or replace (command lines) */
	sw_utf8_sanitize("a\0b", 3, out, sizeof(out), 0);
	CHECK_STR(out, "a");
	sw_utf8_sanitize("a\0b", 3, out, sizeof(out), ' ');
	CHECK_STR(out, "a b");
	/* truncation never splits a character */
	sw_utf8_sanitize("\xe2\x82\xac\xe2\x82\xac", 6, out, 5, 0);
	CHECK_STR(out, "\xe2\x82\xac");
	return 0;
}

/* 2026-11-23T09:34:11Z on CLOCK_REALTIME is 1 s on CLOCK_MONOTONIC */
#define TEXT_REAL_MINUS_MONO ((1795426451ULL - 1) * NSEC_PER_SEC)

/* Deterministic local time for the text format: TZ set before localtime_r(). */
static void text_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static char *text_line(const struct record_syscall *ev)
{
	return record_encode_syscall(ev, "h", TEXT_REAL_MINUS_MONO, RECORD_FORMAT_TEXT);
}

/* Terminal cells before p in line (every character in these tests takes one). */
static size_t cell_of(const char *line, const char *p)
{
	size_t cells = 0;

	for (const char *c = line; c < p; c++)
		cells += ((unsigned char)*c & 0xc0) != 0x80;
	return cells;
}

/* The cell where the header's title starts, or where it ends (one past its last cell). */
static size_t title_start(const char *title)
{
	const char *h = record_text_header();

	return (size_t)(strstr(h, title) - h);
}

static size_t title_end(const char *title)
{
	return title_start(title) + strlen(title);
}

/* value is in line and starts under title (left-aligned columns). */
static int starts_under(const char *line, const char *value, const char *title)
{
	const char *p = strstr(line, value);

	return p && cell_of(line, p) == title_start(title) && (p == line || p[-1] == ' ');
}

/* value is in line, right-aligned: it ends where title ends. */
static int ends_under(const char *line, const char *value, const char *title)
{
	const char *p = strstr(line, value);

	return p && cell_of(line, p) + strlen(value) == title_end(title) && p[strlen(value)] == ' ';
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int one_line(const char *line)
{
	size_t len = strlen(line);

	return len > 0 && line[len - 1] == '\n' && strchr(line, '\n') == line + len - 1;
}

static int test_text_header(void)
{
	const char *h = record_text_header();

	CHECK_STR(h, "TIME            LEVEL         EVENT COMM             PID/TID          SYSCALL"
		     "                LAT(ms)        RET DETAIL\n");
	CHECK(one_line(h));
	CHECK(title_start("TIME") == 0);
	/* LEVEL holds the longest of the 8 names JSON uses, "informational" */
	CHECK(title_start("LEVEL") == 16);
	CHECK(title_start("EVENT") == 16 + strlen("informational") + 1);
	CHECK(title_start("COMM") == 36);
	CHECK(title_start("PID/TID") == 53);
	CHECK(title_start("SYSCALL") == 70);
	CHECK(title_end("LAT(ms)") == 100);
	CHECK(title_end("RET") == 111);
	CHECK(title_start("DETAIL") == 112);
	return 0;
}

static int test_text_slow(void)
{
	struct record_syscall ev = sample();
	char *line;
	int ok;

	text_tz("UTC");
	line = text_line(&ev);
	CHECK(line);
	ok = strcmp(line,
		    "09:34:11.153000 warning       SLOW  cadvisor         1234/1240        read"
		    "                   153.000       8192 /sys/fs/cgroup/memory/memory.stat "
		    "[command-line]\n") == 0 &&
	     one_line(line) && starts_under(line, "09:34:11.153000", "TIME") &&
	     starts_under(line, "warning", "LEVEL") && starts_under(line, "SLOW", "EVENT") &&
	     starts_under(line, "cadvisor", "COMM") && starts_under(line, "1234/1240", "PID/TID") &&
	     starts_under(line, "read", "SYSCALL") && ends_under(line, "153.000", "LAT(ms)") &&
	     ends_under(line, "8192", "RET") && starts_under(line, "/sys/fs/", "DETAIL");
	if (!ok)
		fprintf(stderr, "  got: %s", line);
	free(line);
	CHECK(ok);

	/* local time, not UTC ("UTC-2": two hours east, no tzdata needed) */
	text_tz("UTC-2");
	line = text_line(&ev);
	text_tz("UTC");
	CHECK(line);
	ok = strncmp(line, "11:34:11.153000 ", 16) == 0;
	free(line);
	CHECK(ok);

	/* failed call: the errno name, under RET; 1.5 s in ms */
	ev.ret = -2;
	ev.duration_ns = 1500250000ULL;
	line = text_line(&ev);
	CHECK(line);
	ok = ends_under(line, "-ENOENT", "RET") && ends_under(line, "1500.250", "LAT(ms)");
	free(line);
	CHECK(ok);
	return 0;
}

static int test_text_stuck(void)
{
	struct record_syscall ev = sample();
	char *line;
	int ok;

	text_tz("UTC");
	ev.action = "stuck-syscall";
	ev.level = "informational";
	ev.has_ret = true; /* a stuck call has no result, even if set by mistake */
	ev.fd_path = "pipe:[155155]";
	ev.note = "waiting for vfork child";
	line = text_line(&ev);
	CHECK(line);
	ok = strcmp(line,
		    "09:34:11.153000 informational STUCK cadvisor         1234/1240        read"
		    "                  >153.000          ? pipe:[155155] [command-line] "
		    "(waiting for vfork child)\n") == 0 &&
	     ends_under(line, ">153.000", "LAT(ms)") && ends_under(line, "?", "RET");
	if (!ok)
		fprintf(stderr, "  got: %s", line);
	free(line);
	CHECK(ok);
	return 0;
}

static int test_text_partial(void)
{
	struct record_syscall ev = sample();
	char *line;
	int ok;

	text_tz("UTC");
	ev.action = "stuck-syscall";
	ev.name = "restart_syscall";
	ev.partial = true;
	ev.fd_path = NULL;
	ev.rule_name = "slow-call";
	line = text_line(&ev);
	CHECK(line);
	ok = strcmp(line, "09:34:11.153000 warning       STUCK cadvisor         1234/1240        "
			  "restart_syscall       >153.000          ? [slow-call] partial\n") == 0 &&
	     starts_under(line, "[slow-call]", "DETAIL");
	if (!ok)
		fprintf(stderr, "  got: %s", line);
	free(line);
	CHECK(ok);
	return 0;
}

/* Long values are cut or pushed, never break the columns before DETAIL. */
static int test_text_long_values(void)
{
	struct record_syscall ev = sample();
	char *line;
	int ok;

	text_tz("UTC");
	ev.proc.name = "a-comm-longer-than-sixteen-cells";
	ev.name = "sched_get_priority_max";
	ev.ret = 1234567890123LL;
	line = text_line(&ev);
	CHECK(line);
	ok = starts_under(line, "a-comm-longer-th ", "COMM") &&
	     !strstr(line, "a-comm-longer-thi") && starts_under(line, "1234/1240", "PID/TID") &&
	     starts_under(line, "sched_get_priority ", "SYSCALL") &&
	     !strstr(line, "sched_get_priority_") && ends_under(line, "153.000", "LAT(ms)");
	/* RET wider than its column: DETAIL moves right by what it lacks, one space apart */
	ok = ok && strstr(line, " 153.000 1234567890123 /sys/fs/cgroup/memory/memory.stat [");
	if (!ok)
		fprintf(stderr, "  got: %s", line);
	free(line);
	CHECK(ok);

	/* stuck for 3 hours: LAT takes the space SYSCALL leaves, or pushes RET, which lines up again */
	ev = sample();
	ev.action = "stuck-syscall";
	ev.duration_ns = 3ULL * 3600 * NSEC_PER_SEC;
	line = text_line(&ev);
	CHECK(line);
	ok = ends_under(line, ">10800000.000", "LAT(ms)") && ends_under(line, "?", "RET");
	free(line);
	CHECK(ok);
	ev.name = "inotify_add_watch";
	line = text_line(&ev);
	CHECK(line);
	ok = strstr(line, " inotify_add_watch >10800000.000 ") && ends_under(line, "?", "RET");
	if (!ok)
		fprintf(stderr, "  got: %s", line);
	free(line);
	CHECK(ok);
	return 0;
}

/* Strings from the kernel or the program: sanitised, quoted, no terminal controls. */
static int test_text_strings(void)
{
	struct record_syscall ev = sample();
	char *line;
	int ok;

	text_tz("UTC");
	ev.path = "/tmp/my file";
	line = text_line(&ev);
	CHECK(line);
	ok = strstr(line, " \"/tmp/my file\" [command-line]\n") &&
	     starts_under(line, "\"/tmp/my file\"", "DETAIL");
	free(line);
	CHECK(ok);

	/* invalid UTF-8: U+FFFD, one cell each, so the columns stay */
	ev.path = NULL;
	ev.proc.name = "bad\xff\xfe";
	ev.fd_path = "/tmp/caf\xe9";
	line = text_line(&ev);
	CHECK(line);
	ok = one_line(line) && starts_under(line, "bad\xef\xbf\xbd\xef\xbf\xbd ", "COMM") &&
	     starts_under(line, "1234/1240", "PID/TID") && ends_under(line, "153.000", "LAT(ms)") &&
	     starts_under(line, "/tmp/caf\xef\xbf\xbd [command-line]\n", "DETAIL");
	if (!ok)
		fprintf(stderr, "  got: %s", line);
	free(line);
	CHECK(ok);

	/* a newline, an escape sequence, quotes: one line, nothing for the terminal to act on */
	ev.proc.name = "x\x1b[2Jy";
	ev.path = "/tmp/a\"b\nc\x1b\\d";
	ev.fd_path = NULL;
	line = text_line(&ev);
	CHECK(line);
	ok = one_line(line) && !strchr(line, '\x1b') && starts_under(line, "x?[2Jy ", "COMM") &&
	     strstr(line, " \"/tmp/a\\\"b\\nc\\x1b\\\\d\" [command-line]\n");
	if (!ok)
		fprintf(stderr, "  got: %s", line);
	free(line);
	CHECK(ok);

	/* CJK comm: two cells per character */
	ev.proc.name = "\xe6\x97\xa5\xe6\x9c\xac"; /* two wide characters, 4 cells */
	line = text_line(&ev);
	CHECK(line);
	ok = strstr(line, " \xe6\x97\xa5\xe6\x9c\xac             1234/1240 ") != NULL;
	free(line);
	CHECK(ok);
	return 0;
}

/* The same for the host header (scan). */
static size_t host_title_start(const char *title)
{
	const char *h = record_text_host_header();

	return (size_t)(strstr(h, title) - h);
}

static int host_starts_under(const char *line, const char *value, const char *title)
{
	const char *p = strstr(line, value);

	return p && cell_of(line, p) == host_title_start(title) && (p == line || p[-1] == ' ');
}

static int host_ends_under(const char *line, const char *value, const char *title)
{
	const char *p = strstr(line, value);

	return p && cell_of(line, p) + strlen(value) == host_title_start(title) + strlen(title) &&
	       p[strlen(value)] == ' ';
}

static int test_text_host_header(void)
{
	const char *h = record_text_host_header();

	CHECK_STR(h,
		  "TIME            LEVEL         EVENT MEMCGS(on/off) STAT_READ(ms) NEG_DENTRIES "
		  "UNRECL_SLAB(MiB)    PSI10(cpu/mem/io) DETAIL\n");
	CHECK(one_line(h));
	/* TIME, LEVEL and EVENT where the syscall header has them */
	CHECK(host_title_start("LEVEL") == title_start("LEVEL"));
	CHECK(host_title_start("EVENT") == title_start("EVENT"));
	CHECK(host_title_start("MEMCGS(on/off)") == 36);
	CHECK(host_title_start("DETAIL") == 116);
	return 0;
}

static int test_text_host(void)
{
	const struct record_pressure psi[] = {
		{ "cpu", 21.06, 0, false },
		{ "io", 0.5, 0.25, true },
	};
	const struct record_slab_cache top[] = {
		{ "dentry", 300 << 20, 2.5 * 1024 * 1024, 0.97, 7200 },
	};
	struct record_host hr = {
		.action = "host-scan",
		.level = "informational",
		.rule_name = "host-scan",
		.sample_mono_ns = 1153000000ULL,
		.scan_ns = 1700000,
		.has_memcg = true,
		.memcg_hierarchy = "v1",
		.memcg_counted = true,
		.memcg_online = 5,
		.memcg_offline = 34,
	};
	char *line;
	int ok;

	text_tz("UTC");
	/* what the host has not: `-` */
	line = record_encode_host(&hr, "h", TEXT_REAL_MINUS_MONO, RECORD_FORMAT_TEXT);
	CHECK(line);
	ok = strcmp(line, "09:34:11.153000 informational SCAN            5/34             -      "
			  "      -                -                    - v1, scan 1.7 ms\n") == 0 &&
	     host_starts_under(line, "SCAN", "EVENT") &&
	     host_ends_under(line, "5/34", "MEMCGS(on/off)") &&
	     host_starts_under(line, "v1, scan", "DETAIL");
	if (!ok)
		fprintf(stderr, "  got: %s", line);
	free(line);
	CHECK(ok);

	/* everything: each number under its title, the rest in DETAIL */
	hr.has_stat_read = true;
	hr.stat_read_ns = 153249600; /* rounded, as the alert says it */
	hr.has_dentry = hr.has_dentry_negative = true;
	hr.dentry_negative = 1234567;
	hr.has_slab = true;
	hr.slab_unreclaimable_bytes = 52690944; /* 50.25 MiB */
	hr.pressure = psi;
	hr.n_pressure = ARRAY_SIZE(psi);
	hr.has_memcg_rate = true;
	hr.memcg_offline_growth_per_min = 12.04;
	hr.has_dentry_rate = true;
	hr.dentry_negative_rate_per_s = 1669.9833333;
	hr.has_squeeze_delta = true;
	hr.time_squeeze_delta = 3;
	hr.slab_top = top;
	hr.n_slab_top = 1;
	line = record_encode_host(&hr, "h", TEXT_REAL_MINUS_MONO, RECORD_FORMAT_TEXT);
	CHECK(line);
	ok = one_line(line) && host_ends_under(line, "153.250", "STAT_READ(ms)") &&
	     host_ends_under(line, "1234567", "NEG_DENTRIES") &&
	     host_ends_under(line, "50.2", "UNRECL_SLAB(MiB)") &&
	     host_ends_under(line, "21.06/-/0.50", "PSI10(cpu/mem/io)") &&
	     host_starts_under(line,
			       "v1, offline +12.0/min, negative +1670.0/s, time_squeeze +3, "
			       "slab dentry +2.5 MiB/h, scan 1.7 ms\n",
			       "DETAIL");
	if (!ok)
		fprintf(stderr, "  got: %s", line);
	free(line);
	CHECK(ok);

	/* an alert: the same columns (no PSI), DETAIL says which, why and what next */
	hr.action = "memcg-offline";
	hr.level = "critical";
	hr.alert_reason = "34 offline memory cgroups";
	hr.alert_next_step = "reclaim";
	hr.pressure = NULL;
	hr.n_pressure = 0;
	line = record_encode_host(&hr, "h", TEXT_REAL_MINUS_MONO, RECORD_FORMAT_TEXT);
	CHECK(line);
	ok = starts_with(line, "09:34:11.153000 critical      ALERT ") &&
	     host_ends_under(line, "5/34", "MEMCGS(on/off)") &&
	     host_ends_under(line, "-", "PSI10(cpu/mem/io)") &&
	     host_starts_under(line, "memcg-offline: 34 offline memory cgroups; next: reclaim\n",
			       "DETAIL");
	if (!ok)
		fprintf(stderr, "  got: %s", line);
	free(line);
	CHECK(ok);
	return 0;
}

/* Reals in JSON: PSI as the kernel wrote it, computed values to the digits they mean. */
static int test_host_json_reals(void)
{
	const struct record_pressure psi[] = { { "cpu", 21.06, 7.11, true } };
	const struct record_slab_cache top[] = {
		{ "dentry", 1, 1234567.891, 0.987654321, 7199.96 },
	};
	struct record_host hr = {
		.action = "host-scan",
		.level = "informational",
		.rule_name = "host-scan",
		.sample_mono_ns = 1153000000ULL,
		.scan_ns = 1700000,
		.has_dentry = true,
		.has_dentry_rate = true,
		.dentry_negative_rate_per_s = 1669.9833333333333,
		.has_slab = true,
		.slab_top = top,
		.n_slab_top = 1,
		.pressure = psi,
		.n_pressure = 1,
	};
	char *line = record_encode_host(&hr, "h", 0, RECORD_FORMAT_JSON);
	int ok;

	CHECK(line);
	ok = strstr(line, "\"cpu\":{\"some_avg10\":21.06,\"full_avg10\":7.11}") &&
	     strstr(line, "\"negative_rate_per_s\":1669.98}") &&
	     strstr(line, "\"slope_bytes_per_hour\":1234568.0,\"r2\":0.9877,\"span_s\":7200.0");
	if (!ok)
		fprintf(stderr, "  got: %s", line);
	free(line);
	CHECK(ok);
	return 0;
}

static int test_text_summary_and_dropped(void)
{
	const struct record_summary_row rows[] = {
		{ "getppid", 100, 0, 2000000, 10000, 50000, 40000, 0 },
	};
	/* seen at entry only (notify): a count, and no times or errors it cannot know */
	const struct record_summary_row untimed_rows[] = {
		{ "nanosleep", 5, 0, 0, UINT64_MAX, 0, 0, 5 },
	};
	const struct record_summary untimed = { untimed_rows, 1, 153000000ULL, 1153000000ULL };
	const struct record_summary sum = { rows, 1, 153000000ULL, 1153000000ULL };
	const struct record_dropped d = {
		.reason = RECORD_DROP_QUEUE_FULL,
		.rule = "slow-call",
		.count = 3,
		.since_mono_ns = 153000000ULL,
		.mono_ns = 1153000000ULL,
	};
	char message[1024], want[1100], *text;
	int ok;

	text_tz("UTC");
	text = record_encode_summary(&sum, "h", TEXT_REAL_MINUS_MONO, RECORD_FORMAT_TEXT);
	CHECK(text);
	/* a title line in the columns, then the table; its headers carry units */
	ok = starts_with(text,
			 "09:34:11.153000 informational SUMM  100 watched calls of 1 syscall, "
			 "0 errors in 1.0 s:\n     calls   errors     total_ms     min_us  "
			 "   avg_us     max_us     p99_us  syscall\n") &&
	     strstr(text, "  getppid\n") && text[strlen(text) - 1] == '\n';
	if (!ok)
		fprintf(stderr, "  got: %s", text);
	free(text);
	CHECK(ok);

	text = record_encode_summary(&untimed, "h", TEXT_REAL_MINUS_MONO, RECORD_FORMAT_TEXT);
	CHECK(text);
	ok = strstr(text, "\n         5        -            -          -          -          -"
			  "          -  nanosleep\n") != NULL;
	if (!ok)
		fprintf(stderr, "  got: %s", text);
	free(text);
	CHECK(ok);
	text = record_encode_summary(&untimed, "h", 0, RECORD_FORMAT_JSON);
	ok = text &&
	     strstr(text, "\"summary\":[{\"syscall\":\"nanosleep\",\"calls\":5,\"untimed\":5}]");
	if (!ok)
		fprintf(stderr, "  got: %s", text ? text : "(null)\n");
	free(text);
	CHECK(ok);

	/* records-dropped: its message from the COMM column on */
	record_dropped_message(&d, message, sizeof(message));
	snprintf(want, sizeof(want), "09:34:11.153000 warning       DROP  %s\n", message);
	text = record_encode_dropped(&d, "h", TEXT_REAL_MINUS_MONO, RECORD_FORMAT_TEXT);
	CHECK(text);
	ok = one_line(text) && strcmp(text, want) == 0;
	if (!ok)
		fprintf(stderr, "  got: %s", text);
	free(text);
	CHECK(ok);
	return 0;
}

/* The raw JSON line of ev (NULL on ENOMEM), for checks of exact key order and values. */
static char *json_line(const struct record_syscall *ev)
{
	return record_encode_syscall(ev, "node-17", 0, RECORD_FORMAT_JSON);
}

/* line contains want; prints the line when not */
static int has_text(const char *line, const char *want)
{
	if (line && strstr(line, want))
		return 1;
	fprintf(stderr, "  want: %s\n  got:  %s", want, line ? line : "(null)\n");
	return 0;
}

/* A call seen through seccomp-notify: bracketed end, no return value. */
static struct record_syscall notify_sample(void)
{
	struct record_syscall ev = sample();

	ev.has_ret = false;
	ev.ret = 0;
	ev.backend = RECORD_BACKEND_NOTIFY;
	ev.approximate = true;
	ev.has_duration_max = true;
	ev.duration_max_ns = 160200000ULL;
	ev.end_seen = RECORD_END_NEXT_CALL;
	ev.inflight_evidence = RECORD_INFLIGHT_PROC_SYSCALL;
	return ev;
}

/* stallwatch.backend, approximate, duration_max_ns, end_seen, inflight_evidence: exact JSON. */
static int test_backend_fields_json(void)
{
	struct record_syscall ev = notify_sample();
	char *line = json_line(&ev);
	int ok;

	/* all five, in this order, between threshold_ns and syscall; no ret, no errno */
	ok = has_text(line, "\"stallwatch\":{\"schema\":1,\"mono_ns\":1153000000,"
			    "\"threshold_ns\":50000000,\"backend\":\"seccomp-notify\","
			    "\"approximate\":true,\"duration_max_ns\":160200000,"
			    "\"end_seen\":\"next-call\",\"inflight_evidence\":\"proc-syscall\","
			    "\"syscall\":{\"name\":\"read\",\"nr\":0,\"args\":[3,140000000000000,"
			    "8192,0,0,0],\"fd_path\":\"/sys/fs/cgroup/memory/memory.stat\"}}}\n") &&
	     has_text(line, "\"message\":\"read() of /sys/fs/cgroup/memory/memory.stat took "
			    "\xe2\x89\xa5"
			    "153.0 ms (\xe2\x89\xa4"
			    "160.2 ms) (threshold 50 ms) in cadvisor[1234/1240]\"") &&
	     has_text(line, "\"event\":{\"kind\":\"alert\",\"action\":\"slow-syscall\","
			    "\"duration\":153000000,");
	free(line);
	CHECK(ok);

	/* the other values documented: each one as given */
	ev.backend = RECORD_BACKEND_PTRACE;
	ev.end_seen = RECORD_END_THREAD_EXIT;
	ev.inflight_evidence = RECORD_INFLIGHT_STATE;
	line = json_line(&ev);
	ok = has_text(line, "\"backend\":\"ptrace\",\"approximate\":true,"
			    "\"duration_max_ns\":160200000,\"end_seen\":\"thread-exit\","
			    "\"inflight_evidence\":\"state\",\"syscall\":");
	free(line);
	CHECK(ok);
	return 0;
}

/* Unset, they are absent (never null, never false); a stuck call has no upper bound. */
static int test_backend_fields_absent(void)
{
	struct record_syscall ev = sample();
	char *line = json_line(&ev);
	int ok;

	/* nothing between threshold_ns and syscall; the message has no bounds */
	ok = has_text(line, "\"threshold_ns\":50000000,\"syscall\":{") &&
	     has_text(line, "took 153.0 ms (threshold 50 ms)") && !strstr(line, "\xe2\x89") &&
	     has_text(line, "\"ret\":8192,");
	free(line);
	CHECK(ok);

	/* a maximum without has_duration_max is not one */
	ev.duration_max_ns = 160200000ULL;
	ev.backend = RECORD_BACKEND_PTRACE;
	line = json_line(&ev);
	ok = has_text(line, "\"threshold_ns\":50000000,\"backend\":\"ptrace\",\"syscall\":{") &&
	     !strstr(line, "duration_max_ns") && !strstr(line, "approximate");
	free(line);
	CHECK(ok);

	/* stuck under notify: in flight, so no upper bound (even if set), no ret */
	ev = notify_sample();
	ev.action = "stuck-syscall";
	ev.end_seen = NULL;
	ev.inflight_evidence = RECORD_INFLIGHT_CPU_TIME;
	line = json_line(&ev);
	ok = has_text(line, "\"threshold_ns\":50000000,\"backend\":\"seccomp-notify\","
			    "\"approximate\":true,\"inflight_evidence\":\"cpu-time\","
			    "\"syscall\":{") &&
	     has_text(line, "in flight for 153.0 ms (threshold 50 ms)") &&
	     !strstr(line, "duration_max_ns") && !strstr(line, "\"ret\"") &&
	     !strstr(line, "\"errno\"") && !strstr(line, "end_seen");
	free(line);
	CHECK(ok);
	return 0;
}

/* Text: LAT(ms) is the lower bound (>=), DETAIL the upper one and `approximate`. */
static int test_text_bounds(void)
{
	static const char want[] =
		"09:34:11.153000 warning       SLOW  cadvisor         1234/1240        read"
		"                  \xe2\x89\xa5"
		"153.000          ? /sys/fs/cgroup/memory/memory.stat [command-line] (\xe2\x89\xa4"
		"160.200 ms) approximate\n";
	struct record_syscall ev = notify_sample();
	char *line;
	int ok;

	text_tz("UTC");
	line = text_line(&ev);
	/* exactly that line; the bound sign takes one cell, so the columns stay */
	ok = has_text(line, want) && strlen(line) == strlen(want) &&
	     ends_under(line, "153.000", "LAT(ms)") && ends_under(line, "?", "RET") &&
	     starts_under(line, "/sys/fs/", "DETAIL");
	free(line);
	CHECK(ok);

	/* stuck and approximate: `>` as for every stuck call, no upper bound */
	ev.action = "stuck-syscall";
	line = text_line(&ev);
	ok = has_text(line, " [command-line] approximate\n") &&
	     ends_under(line, ">153.000", "LAT(ms)") && ends_under(line, "?", "RET") &&
	     !strstr(line, "\xe2\x89");
	free(line);
	CHECK(ok);
	return 0;
}

/* stallwatch.evidence: the contract's names, fields only when known, cpu_starved when runq dominates */
static int test_evidence_fields(void)
{
	struct record_syscall ev = sample();
	struct record_evidence e = {
		.known = RECORD_EVIDENCE_TIMES | RECORD_EVIDENCE_STATE | RECORD_EVIDENCE_WCHAN |
			 RECORD_EVIDENCE_STACK | RECORD_EVIDENCE_SAMPLES,
		.on_cpu_ns = 1000,
		.runq_ns = 2000,
		.blocked_ns = 152997000,
		.blocks = 2,
		.state = 'S',
		.wchan = "anon_pipe_read",
		.stack_from = RECORD_STACK_BLOCK,
		.n_frames = 2,
		.frames = { "schedule+0x23", "anon_pipe_read+0x4fa" },
		.cpu_samples = 0,
	};
	json_t *j, *evid, *stack;
	char *text;

	ev.evidence = &e;
	j = encode(&ev);
	CHECK(j);
	evid = json_object_get(json_object_get(j, "stallwatch"), "evidence");
	CHECK(json_is_object(evid));
	CHECK(json_integer_value(json_object_get(evid, "on_cpu_ns")) == 1000);
	CHECK(json_integer_value(json_object_get(evid, "runq_ns")) == 2000);
	CHECK(json_integer_value(json_object_get(evid, "blocked_ns")) == 152997000);
	CHECK(json_integer_value(json_object_get(evid, "blocks")) == 2);
	CHECK_STR(json_string_value(json_object_get(evid, "state")), "S");
	CHECK_STR(json_string_value(json_object_get(evid, "wchan")), "anon_pipe_read");
	stack = json_object_get(evid, "kernel_stack");
	CHECK(json_array_size(stack) == 2);
	CHECK_STR(json_string_value(json_array_get(stack, 1)), "anon_pipe_read+0x4fa");
	CHECK_STR(json_string_value(json_object_get(evid, "kernel_stack_from")), "block");
	CHECK(json_integer_value(json_object_get(evid, "cpu_samples")) == 0);
	CHECK(!json_object_get(evid, "window_ns"));
	CHECK(!json_object_get(evid, "cpu_starved"));
	json_decref(j);
	text = record_encode_syscall(&ev, "node-17", 0, RECORD_FORMAT_TEXT);
	CHECK(text && strstr(text, "cpu 0% runq 0% blocked 99% in anon_pipe_read"));
	free(text);

	/* waiting for a CPU most of the time; stack hidden; a window; no state, no sampler */
	e = (struct record_evidence){
		.known = RECORD_EVIDENCE_TIMES | RECORD_EVIDENCE_STACK | RECORD_EVIDENCE_WINDOW,
		.on_cpu_ns = 10,
		.runq_ns = 90,
		.window_ns = 100,
		.stack_unavailable = "kernel addresses hidden (kptr_restrict)"
	};
	j = encode(&ev);
	CHECK(j);
	evid = json_object_get(json_object_get(j, "stallwatch"), "evidence");
	CHECK(json_is_true(json_object_get(evid, "cpu_starved")));
	CHECK(json_integer_value(json_object_get(evid, "window_ns")) == 100);
	CHECK(!json_object_get(evid, "kernel_stack"));
	CHECK_STR(json_string_value(json_object_get(evid, "kernel_stack_unavailable")),
		  "kernel addresses hidden (kptr_restrict)");
	CHECK(!json_object_get(evid, "state") && !json_object_get(evid, "wchan") &&
	      !json_object_get(evid, "cpu_samples"));
	json_decref(j);

	/* nothing known: no object */
	e = (struct record_evidence){ 0 };
	j = encode(&ev);
	CHECK(j);
	CHECK(!json_object_get(json_object_get(j, "stallwatch"), "evidence"));
	json_decref(j);
	return 0;
}

/* stallwatch.host.enoent: the walked directory and its top ENOENT producers, in order */
/* --format text: the host signals that bear on the call, in DETAIL after the rule */
static int test_text_call_host(void)
{
	struct record_syscall ev = sample();
	struct record_call_host *h = calloc(1, sizeof(*h));
	char *line;
	int ok;

	CHECK(h);
	text_tz("UTC");
	h->has_memcg = h->memcg_counted = h->has_memcg_rate = h->has_stat_read = true;
	h->memcg_offline = 331;
	h->memcg_offline_growth_per_min = 12.4;
	h->stat_read_ns = 43210000;
	h->has_dentry = h->has_dentry_negative = h->has_dentry_growth = true;
	h->dentry_negative = 1115537;
	h->dentry_negative_growth_per_s = 2500;
	h->has_enoent = true;
	h->n_enoent_top = 1;
	h->enoent_top[0] =
		(struct record_enoent_producer){ .pid = 42, .name = "agent", .distinct = 18494 };
	h->has_softnet = h->has_softnet_delta = true;
	h->time_squeeze_delta = 7;
	h->pressure[1].present = true;
	h->pressure[1].some_avg10 = 23.5;
	h->pressure[0].present = true;
	h->pressure[0].some_avg10 = 0.2; /* no pressure to speak of: left out */
	ev.host = h;
	line = text_line(&ev);
	CHECK(line);
	ok = one_line(line) &&
	     strstr(line, "[command-line] memcg-offline 331 (+12/min) stat-read 43.210ms "
			  "negative-dentries 1115537 (+2500/s) enoent-top agent[42] 18494 names "
			  "softnet squeezed +7 dropped +0 psi-mem 23.5%\n") &&
	     !strstr(line, "psi-cpu");
	if (!ok)
		fprintf(stderr, "  got: %s", line);
	free(line);
	CHECK(ok);
	/* nothing known: nothing added */
	memset(h, 0, sizeof(*h));
	line = text_line(&ev);
	CHECK(line);
	ok = strstr(line, "[command-line]\n") != NULL;
	free(line);
	CHECK(ok);
	free(h);
	return 0;
}

static int test_host_enoent_fields(void)
{
	struct record_syscall ev = sample();
	struct record_call_host *h = calloc(1, sizeof(*h));
	json_t *j, *en, *top, *p;

	CHECK(h);
	h->has_dentry = h->has_dentry_negative = true;
	h->dentry_negative = 1115537;
	h->has_enoent = true;
	snprintf(h->enoent_directory, sizeof(h->enoent_directory), "/srv/d");
	h->n_enoent_top = 2;
	h->enoent_top[0] = (struct record_enoent_producer){ .pid = 42,
							    .name = "agent",
							    .directory = "/srv/d/x",
							    .distinct = 18494,
							    .count = 20000 };
	h->enoent_top[1] = (struct record_enoent_producer){
		.pid = 43, .directory = "/srv/d", .distinct = 3, .count = 9
	};
	ev.host = h;
	j = encode(&ev);
	CHECK(j);
	en = json_object_get(json_object_get(json_object_get(j, "stallwatch"), "host"), "enoent");
	CHECK(json_is_object(en));
	CHECK_STR(json_string_value(json_object_get(en, "directory")), "/srv/d");
	top = json_object_get(en, "top");
	CHECK(json_array_size(top) == 2);
	p = json_array_get(top, 0);
	CHECK(json_integer_value(json_object_get(json_object_get(p, "process"), "pid")) == 42);
	CHECK_STR(json_string_value(json_object_get(json_object_get(p, "process"), "name")),
		  "agent");
	CHECK_STR(json_string_value(json_object_get(p, "directory")), "/srv/d/x");
	CHECK(json_integer_value(json_object_get(p, "distinct")) == 18494);
	CHECK(json_integer_value(json_object_get(p, "count")) == 20000);
	/* a name not known: no name, the pid still */
	p = json_array_get(top, 1);
	CHECK(!json_object_get(json_object_get(p, "process"), "name"));
	json_decref(j);
	/* no producer under it: an empty array, the directory still */
	h->n_enoent_top = 0;
	j = encode(&ev);
	CHECK(j);
	en = json_object_get(json_object_get(json_object_get(j, "stallwatch"), "host"), "enoent");
	CHECK(json_array_size(json_object_get(en, "top")) == 0);
	json_decref(j);
	/* no detector: no enoent object */
	h->has_enoent = false;
	j = encode(&ev);
	CHECK(j);
	CHECK(!json_object_get(json_object_get(json_object_get(j, "stallwatch"), "host"),
			       "enoent"));
	json_decref(j);
	free(h);
	return 0;
}

UNIT_MAIN(TEST(test_slow_record_fields), TEST(test_stuck_record_has_no_ret), TEST(test_errno_name),
	  TEST(test_invalid_utf8_is_sanitised), TEST(test_timestamp_format),
	  TEST(test_durations_for_humans), TEST(test_utf8_sanitiser), TEST(test_text_header),
	  TEST(test_text_slow), TEST(test_text_stuck), TEST(test_text_partial),
	  TEST(test_text_long_values), TEST(test_text_strings), TEST(test_text_host_header),
	  TEST(test_text_host), TEST(test_host_json_reals), TEST(test_text_summary_and_dropped),
	  TEST(test_backend_fields_json), TEST(test_backend_fields_absent), TEST(test_text_bounds),
	  TEST(test_evidence_fields), TEST(test_host_enoent_fields), TEST(test_text_call_host))
