/* SPDX-License-Identifier: MIT */
/* The record encoder: schema v1 shape, UTF-8 sanitising, timestamps, text format. */
#include <jansson.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

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

static int test_text_format(void)
{
	struct record_syscall ev = sample();
	char *line = record_encode_syscall(&ev, "h", 0, RECORD_FORMAT_TEXT);
	int ok;

	CHECK(line);
	ok = strcmp(line, "1970-01-01T00:00:01.153000000Z warning slow-syscall: read() of "
			  "/sys/fs/cgroup/memory/memory.stat took 153.0 ms (threshold 50 ms) "
			  "in cadvisor[1234/1240]\n") == 0;
	free(line);
	CHECK(ok);
	return 0;
}

UNIT_MAIN(TEST(test_slow_record_fields), TEST(test_stuck_record_has_no_ret), TEST(test_errno_name),
	  TEST(test_invalid_utf8_is_sanitised), TEST(test_timestamp_format),
	  TEST(test_durations_for_humans), TEST(test_utf8_sanitiser), TEST(test_text_format))
