/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../policy/duration.h"
#include "cli.h"

void cli_print_error(const struct sw_error *err)
{
	/* codes we synthesise ourselves (-EINVAL for a bad value) add no strerror noise */
	if (err->code && err->code != -EINVAL)
		fprintf(stderr, "stallwatch: %s: %s\n", err->msg, strerror(-err->code));
	else
		fprintf(stderr, "stallwatch: %s\n", err->msg);
}

void cli_error(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "stallwatch: %s\n", line);
}

void cli_trace_options_init(struct cli_trace_options *o)
{
	memset(o, 0, sizeof(*o));
	o->min_duration_ns = 10 * 1000000ULL; /* bcc's *slower default; above the ptrace floor */
	o->format = RECORD_FORMAT_JSON;
}

int cli_parse_trace(struct cli_trace_options *o, const char *arg)
{
	struct syscall_set set;
	struct sw_error err = {};

	if (syscall_set_parse(arg, &set, &err) < 0) {
		sw_error_prefix(&err, "-e `%s`", arg);
		cli_print_error(&err);
		return -EINVAL;
	}
	syscall_set_union(&o->watch, &set);
	o->watch_given = true;
	return 0;
}

int cli_parse_min_duration(struct cli_trace_options *o, const char *arg)
{
	struct sw_error err = {};

	if (duration_parse(arg, &o->min_duration_ns, &err) < 0) {
		sw_error_prefix(&err, "-m");
		cli_print_error(&err);
		return -EINVAL;
	}
	o->min_duration_given = true;
	return 0;
}

int cli_parse_format(struct cli_trace_options *o, const char *arg)
{
	if (strcmp(arg, "json") == 0)
		o->format = RECORD_FORMAT_JSON;
	else if (strcmp(arg, "text") == 0)
		o->format = RECORD_FORMAT_TEXT;
	else {
		cli_error("--format `%s`: use json or text", arg);
		return -EINVAL;
	}
	o->format_given = true;
	return 0;
}

int cli_parse_trace_option(struct cli_trace_options *o, int c, const char *arg)
{
	switch (c) {
	case 'e':
		return cli_parse_trace(o, arg) < 0 ? -EINVAL : 1;
	case 'm':
		return cli_parse_min_duration(o, arg) < 0 ? -EINVAL : 1;
	case 'o':
		o->output_path = arg;
		return 1;
	case CLI_OPT_FORMAT:
		return cli_parse_format(o, arg) < 0 ? -EINVAL : 1;
	default:
		return 0;
	}
}

void cli_report_dropped(const struct recorder *rec)
{
	if (rec->sink.records_dropped)
		cli_error("%llu record(s) could not be written: %s",
			  (unsigned long long)rec->sink.records_dropped,
			  strerror(rec->sink.last_errno));
}
