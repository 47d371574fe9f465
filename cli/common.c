/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../common/escape.h"
#include "../common/suggest.h"
#include "../policy/duration.h"
#include "../policy/policy.h"
#include "../policy/ratelimit.h"
#include "../tracer/tracer.h"
#include "cli.h"

void cli_print_escaped(FILE *f, const char *prefix, const char *s)
{
	char stack[SW_ESCAPE_SIZE(1024)];
	size_t need = SW_ESCAPE_SIZE(strlen(s));
	_cleanup_free_ char *heap = need > sizeof(stack) ? malloc(need) : NULL;

	/* without memory, a long line is cut, never printed raw */
	fprintf(f, "%s%s\n", prefix,
		heap ? sw_escape(s, heap, need) : sw_escape(s, stack, sizeof(stack)));
}

void cli_print_error(const struct sw_error *err)
{
	char msg[SW_ESCAPE_SIZE(SW_ERROR_MSG_MAX)];

	sw_escape(err->msg, msg, sizeof(msg));
	/* codes we synthesise ourselves (-EINVAL for a bad value) add no strerror noise */
	if (err->code && err->code != -EINVAL)
		fprintf(stderr, "stallwatch: %s: %s\n", msg, strerror(-err->code));
	else
		fprintf(stderr, "stallwatch: %s\n", msg);
}

void cli_error(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	cli_print_escaped(stderr, "stallwatch: ", line);
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
		/* the start of a long SET is enough to find it; the reason must fit the line */
		sw_error_prefix(&err, "-e `%.80s%s`", arg, strlen(arg) > 80 ? "..." : "");
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
	size_t len = strlen(arg);

	if (duration_parse(arg, &o->min_duration_ns, &err) < 0) {
		sw_error_prefix(&err, "-m");
		cli_print_error(&err);
		return -EINVAL;
	}
	o->min_duration_given = true;
	/* it parsed and ends in a digit: a number without a unit */
	o->min_duration_bare = len && arg[len - 1] >= '0' && arg[len - 1] <= '9';
	o->min_duration_next = NULL;
	return 0;
}

void cli_note_min_duration(struct cli_trace_options *o, int argc, char **argv)
{
	o->min_duration_next = optind < argc ? argv[optind] : NULL;
	o->min_duration_value = optarg;
	o->min_duration_said[0] = 0;
	if (optind < 1 || !optarg)
		return;
	if (argv[optind - 1] == optarg && optind >= 2)
		/* "-m 10", "--min-duration 10" (or "-fm 10") */
		snprintf(o->min_duration_said, sizeof(o->min_duration_said), "%s %s",
			 argv[optind - 2], optarg);
	else
		/* "-m10", "--min-duration=10" */
		snprintf(o->min_duration_said, sizeof(o->min_duration_said), "%s",
			 argv[optind - 1]);
}

/* The unit duration_parse() takes for a word that names one ("msec" -> "ms"), or NULL. */
static const char *unit_word(const char *w)
{
	/* "\xc2\xb5s" MICRO SIGN, "\xce\xbcs" GREEK SMALL LETTER MU: both look like "µs" */
	static const struct {
		const char *unit;
		const char *words[7];
	} units[] = {
		{ "ns", { "ns", "nsec", "nsecs", "nanosecond", "nanoseconds" } },
		{ "us",
		  { "us", "\xc2\xb5s", "\xce\xbcs", "usec", "usecs", "microsecond",
		    "microseconds" } },
		{ "ms", { "ms", "msec", "msecs", "millisecond", "milliseconds" } },
		{ "s", { "s", "sec", "secs", "second", "seconds" } },
	};

	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		for (size_t k = 0; k < ARRAY_SIZE(units[i].words) && units[i].words[k]; k++)
			if (strcasecmp(w, units[i].words[k]) == 0)
				return units[i].unit;
	return NULL;
}

int cli_check_min_duration_unit(const struct cli_trace_options *o, const char *word,
				const char *cmd)
{
	bool run = strcmp(cmd, "run") == 0;
	const char *unit;

	if (!o->min_duration_bare || !word || word != o->min_duration_next ||
	    !o->min_duration_said[0] || !o->min_duration_value || !(unit = unit_word(word)))
		return 0;
	cli_error("%s: `%s %s`: write `%s%s%s` (a number alone means ms%s%s%s)", cmd,
		  o->min_duration_said, word,
		  strncmp(o->min_duration_said, "--", 2) == 0 ? "--min-duration=" : "-m ",
		  o->min_duration_value, unit, run ? ", and `" : "", run ? word : "",
		  run ? "` would be the command" : "");
	return -EINVAL;
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

int cli_parse_backend(struct cli_trace_options *o, const char *arg)
{
	static const char *const names[] = { "auto", "ptrace", "notify", "bpf" };
	static const enum tracer_backend values[] = {
		TRACER_BACKEND_AUTO,
		TRACER_BACKEND_PTRACE,
		TRACER_BACKEND_NOTIFY,
		TRACER_BACKEND_BPF,
	};
	const char *near;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(arg, names[i]) == 0) {
			o->backend = values[i];
			return 0;
		}
	near = sw_suggest(arg, names, ARRAY_SIZE(names));
	cli_error("--backend `%.80s`: unknown backend%s%s%s (valid: auto, ptrace, notify, bpf)",
		  arg, near ? "; did you mean `" : "", near ?: "", near ? "`?" : "");
	return -EINVAL;
}

void cli_say_fallback(const struct tracer_result *res)
{
	char line[sizeof(res->fallback_reason) + 64];
	const char *name = res->backend_used == TRACER_BACKEND_BPF    ? "bpf" :
			   res->backend_used == TRACER_BACKEND_NOTIFY ? "notify" :
									"ptrace";

	if (!res->fallback_reason[0])
		return;
	snprintf(line, sizeof(line), "%s; using --backend=%s", res->fallback_reason, name);
	cli_print_escaped(stderr, "stallwatch: ", line);
}

int cli_check_backend(const struct cli_trace_options *o, const char *cmd)
{
	bool run = strcmp(cmd, "run") == 0;

	if (!run && o->backend == TRACER_BACKEND_NOTIFY) {
		cli_error(
			"%s: --backend=notify works with run only: a seccomp filter cannot be put "
			"into a process that is already running; use --backend=bpf or --backend=ptrace",
			cmd);
		return -EINVAL;
	}
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
	case CLI_OPT_POLICY: {
		const char **v = realloc(o->policy_files, (o->n_policy_files + 1) * sizeof(*v));

		if (!v) {
			cli_error("out of memory");
			return -EINVAL;
		}
		o->policy_files = v;
		v[o->n_policy_files++] = arg;
		return 1;
	}
	case CLI_OPT_NO_DEFAULT_POLICY:
		o->no_default_policy = true;
		return 1;
	case CLI_OPT_SUMMARY:
		o->summary = true;
		return 1;
	case CLI_OPT_SYSLOG:
		o->syslog = true;
		return 1;
	case CLI_OPT_METRICS_FILE:
		o->metrics_path = arg;
		return 1;
	case CLI_OPT_BACKEND:
		return cli_parse_backend(o, arg) < 0 ? -EINVAL : 1;
	case CLI_OPT_RATE_LIMIT: {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(arg, &end, 10);
		if (errno || end == arg || *end || arg[0] == '-' || v > RATELIMIT_MAX_PER_MINUTE) {
			cli_error(
				"--rate-limit `%s`: records per minute per process, 0 (unlimited) "
				"to %u",
				arg, RATELIMIT_MAX_PER_MINUTE);
			return -EINVAL;
		}
		o->rate_limit_per_min = (uint32_t)v;
		o->rate_limit_given = true;
		return 1;
	}
	default:
		return 0;
	}
}

/* output.h notify: called from the writer thread; stdio locks make the line whole */
static void cli_sink_notify(void *opaque, const char *line)
{
	cli_error("%s", line);
}

int cli_recorder_init(struct recorder *rec, const struct cli_trace_options *t, int fd,
		      const char *mode)
{
	struct sw_error err = {};
	size_t len = t->metrics_path ? strlen(t->metrics_path) : 0;
	int r;

	/* node_exporter's textfile collector reads only *.prom: a file it never sees is useless */
	if (t->metrics_path && (len < 5 || strcmp(t->metrics_path + len - 5, ".prom") != 0))
		cli_error(
			"warning: --metrics-file %s: node_exporter's textfile collector reads only "
			"files named *.prom",
			t->metrics_path);
	r = recorder_init(rec,
			  &(struct recorder_options){
				  .output_path = t->output_path,
				  .fd = fd,
				  .format = t->format,
				  .format_auto = !t->format_given,
				  .syslog = t->syslog,
				  .metrics_path = t->metrics_path,
				  .mode = mode,
				  /* native syscall numbers: the tracer's histogram slots */
				  .metrics_slots = strcmp(mode, "scan") ? SW_MAX_NR : 0,
				  .notify = cli_sink_notify,
			  },
			  &err);
	if (r < 0) {
		cli_print_error(&err);
		return r;
	}
	/* never a silent wait: the command runs (or the attach goes on) meanwhile */
	if (recorder_waits_for_reader(rec))
		cli_error(
			"output `%s` is a FIFO with no reader yet; records wait in memory until a "
			"process opens it for reading",
			t->output_path);
	return 0;
}

/* The losses of one sink that no records-dropped record on it reports. */
static void report_sink_losses(const char *label, const struct output_sink_stats *s,
			       uint64_t close_timeout_ns)
{
	if (s->unreported_queue)
		cli_error(
			"%s: %llu record(s) dropped: its queue was full (the sink did not keep up)",
			label, (unsigned long long)s->unreported_queue);
	if (s->unreported_unflushed && s->no_reader)
		cli_error("%s: %llu record(s) still queued at exit were not written: no process "
			  "opened the FIFO for reading",
			  label, (unsigned long long)s->unreported_unflushed);
	else if (s->unreported_unflushed)
		cli_error("%s: %llu record(s) still queued at exit were not written: the sink was "
			  "still blocked after %.0f s",
			  label, (unsigned long long)s->unreported_unflushed,
			  (double)close_timeout_ns / 1e9);
}

bool cli_fd_was_closed(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	return flags < 0 || (flags & FD_CLOEXEC);
}

int cli_check_record_stream(const struct cli_trace_options *t, int fd, const char *cmd)
{
	const char *name = fd == STDERR_FILENO ? "stderr" : "stdout";
	FILE *say = fd == STDERR_FILENO ? stdout : stderr;

	if (t->output_path || !cli_fd_was_closed(fd))
		return 0;
	if (!cli_fd_was_closed(fileno(say))) {
		fprintf(say,
			"stallwatch: %s: %s is closed and the records would go there: give -o FILE "
			"(-o /dev/null discards them)\n",
			cmd, name);
		fflush(say);
	}
	return -EINVAL;
}

void cli_report_dropped(const struct output_stats *st)
{
	if (st->stream.unreported_write)
		cli_error("%llu record(s) could not be written: %s",
			  (unsigned long long)st->stream.unreported_write,
			  strerror(st->stream.write_errno));
	report_sink_losses(st->stream_label, &st->stream, st->close_timeout_ns);
	if (st->syslog.unreported_write)
		cli_error("syslog: %llu record(s) could not be sent: %s",
			  (unsigned long long)st->syslog.unreported_write,
			  strerror(st->syslog.write_errno));
	report_sink_losses("syslog", &st->syslog, st->close_timeout_ns);
}

void cli_report_rate_limited(const struct tracer_stats *stats)
{
	if (stats->rate_limited)
		cli_error("%llu record(s) cut by rule rate limits (rate_limit in the policy)",
			  (unsigned long long)stats->rate_limited);
}

void cli_print_diags(FILE *out, const struct policy_diags *d, size_t max_errors,
		     const char *show_all)
{
	size_t errors = 0, i;
	char line[2048];

	for (i = 0; i < d->n; i++) {
		if (max_errors && errors == max_errors)
			break; /* the limit: said below */
		policy_diag_format(&d->v[i], line, sizeof(line));
		/* a file that could not be read is an error line of ours, not a position */
		if (!d->v[i].line)
			cli_error("%s", line);
		else
			cli_print_escaped(out, "", line);
		errors += d->v[i].error;
	}
	if (i < d->n) {
		size_t more_errors = d->n_errors - errors, more_warnings = d->n - i - more_errors;
		char warnings[64] = "";

		if (more_warnings)
			snprintf(warnings, sizeof(warnings), ", %zu more warning%s", more_warnings,
				 more_warnings == 1 ? "" : "s");
		snprintf(line, sizeof(line), "and %zu more error%s%s (%s shows every one)",
			 more_errors, more_errors == 1 ? "" : "s", warnings, show_all);
		cli_print_escaped(out, out == stderr ? "stallwatch: " : "", line);
	}
}

/* Build the policy from the options; diagnostics are returned, not printed. */
static int policy_build(const struct cli_trace_options *t, struct policy **ret,
			struct policy_diags *diags)
{
	_cleanup_free_ struct policy_source *sources = NULL;
	struct policy_load_options lo = {
		.n_sources = t->n_policy_files,
		/*
		 * -e or -m: exactly what they say (man page, "The command-line
		 * rule"); the pure default (no --policy, -e, -m) is the built-in
		 * policy alone, which reports stalls, not waits
		 */
		.command_line = t->watch_given || t->min_duration_given ||
				(t->n_policy_files == 0 && t->no_default_policy),
		.watch = t->watch_given ? &t->watch : NULL,
		.min_duration_ns = t->min_duration_ns,
		.default_rate_limit_per_min = t->rate_limit_given ? &t->rate_limit_per_min : NULL,
	};

	if (t->n_policy_files == 0 && t->no_default_policy) {
		/* an empty policy: the command-line rule alone, as strace -e / perf trace --duration */
		static const struct policy_source none = { .name = "(no policy)",
							   .text = "{}",
							   .len = 2 };

		lo.sources = &none;
		lo.n_sources = 1;
		return policy_load(&lo, ret, diags);
	}
	if (t->n_policy_files) {
		sources = calloc(t->n_policy_files, sizeof(*sources));
		if (!sources)
			return -ENOMEM;
		for (size_t i = 0; i < t->n_policy_files; i++)
			sources[i].path = t->policy_files[i];
	}
	lo.sources = sources;
	return policy_load(&lo, ret, diags);
}

int cli_policy_load(struct cli_policy *cp, const struct cli_trace_options *t)
{
	struct policy_diags diags = {};
	int r;

	cp->trace = t;
	cp->current = NULL;
	r = policy_build(t, &cp->current, &diags);
	cli_print_diags(stderr, &diags, CLI_MAX_ERRORS, "`stallwatch validate --max-errors=0`");
	if (r == -ENOMEM)
		cli_error("loading the policy: out of memory");
	policy_diags_free(&diags);
	return r;
}

struct policy *cli_policy_build(void *opaque)
{
	const struct cli_policy *cp = opaque;
	struct policy_diags diags = {};
	struct policy *np = NULL;
	char first[2048] = "";
	int r;

	r = policy_build(cp->trace, &np, &diags);
	for (size_t i = 0; i < diags.n && !first[0]; i++)
		if (diags.v[i].error)
			policy_diag_format(&diags.v[i], first, sizeof(first));
	if (r < 0) {
		/* one line: the first error says where to look */
		if (diags.n_errors > 1)
			cli_error("SIGHUP: policy not reloaded, the current one stays: %s "
				  "(and %zu more error(s); see `stallwatch validate`)",
				  first, diags.n_errors - 1);
		else
			cli_error("SIGHUP: policy not reloaded, the current one stays: %s",
				  r == -ENOMEM ? "out of memory" : first);
		policy_diags_free(&diags);
		return NULL;
	}
	/* warnings of the new policy */
	cli_print_diags(stderr, &diags, CLI_MAX_ERRORS, "`stallwatch validate --max-errors=0`");
	policy_diags_free(&diags);
	return np;
}

void cli_policy_adopt(void *opaque, struct policy *np, bool adopted)
{
	struct cli_policy *cp = opaque;

	if (!adopted) {
		policy_free(np); /* the tracer ended first */
		return;
	}
	policy_free(cp->current);
	cp->current = np;
	cli_error("SIGHUP: policy reloaded (%zu rules)", np->n_rules);
}

void cli_policy_reload(struct cli_policy *cp)
{
	struct policy *np = cli_policy_build(cp);

	if (np)
		cli_policy_adopt(cp, np, true);
}

void cli_policy_done(struct cli_policy *cp)
{
	policy_free(cp->current);
	cp->current = NULL;
}
