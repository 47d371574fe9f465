/* SPDX-License-Identifier: MIT */
/*
 * cli.h - the one place that prints errors, and what subcommands share.
 * Every subcommand is `int cli_NAME(int argc, char **argv)` returning the
 * process exit status (stallwatch(8), EXIT STATUS).
 */
#ifndef SW_CLI_CLI_H
#define SW_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/error.h"
#include "../policy/load.h"
#include "../policy/syscall_set.h"
#include "../record/recorder.h"
#include "../tracer/tracer.h"

#define EXIT_USAGE 2
#define EXIT_RUN_INTERNAL 125
#define EXIT_RUN_NOEXEC 126
#define EXIT_RUN_NOTFOUND 127

/*
 * "stallwatch: <context>: <message>[: <strerror>]" on stderr, one line.
 * Every line cli/ prints that may hold a string from a traced program or
 * a file (a comm, a path, a policy key, a rule name) is escaped
 * (common/escape.h): these two escape the whole message.
 */
void cli_print_error(const struct sw_error *err);
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* prefix, then s escaped, then a newline, on f */
void cli_print_escaped(FILE *f, const char *prefix, const char *s);

/* Options shared by run/attach/watch (one struct per subcommand embeds it). */
struct cli_trace_options {
	struct syscall_set watch; /* union of every -e */
	bool watch_given;
	uint64_t min_duration_ns;
	bool min_duration_given;
	/*
	 * -m's value had no unit ("-m 10"): how it was written and the argv
	 * word right after it, which may be a unit meant for it ("-m 10 ms")
	 */
	bool min_duration_bare;
	const char *min_duration_value; /* argv string */
	char min_duration_said[128];
	const char *min_duration_next;
	const char *output_path;
	enum record_format format;
	bool format_given;
	const char **policy_files; /* --policy, in order (argv strings) */
	size_t n_policy_files;
	bool no_default_policy; /* only the command-line rule when no --policy */
	bool summary; /* --summary */
	bool syslog; /* --syslog */
	const char *metrics_path; /* --metrics-file */
	uint32_t rate_limit_per_min; /* --rate-limit */
	bool rate_limit_given;
	enum tracer_backend backend; /* --backend (the last one given); AUTO if none */
};

void cli_trace_options_init(struct cli_trace_options *o);
/* -e SET: returns 0 or prints the error and returns -EINVAL */
int cli_parse_trace(struct cli_trace_options *o, const char *arg);
int cli_parse_min_duration(struct cli_trace_options *o, const char *arg);
int cli_parse_format(struct cli_trace_options *o, const char *arg);
/*
 * --backend NAME: auto, ptrace, notify or bpf; anything else prints the
 * error (with the nearest name, if one is near) and returns -EINVAL.
 */
int cli_parse_backend(struct cli_trace_options *o, const char *arg);
/*
 * After parsing (cmd: "run" or "attach"): --backend=bpf, and notify for
 * attach, print the usage error and return -EINVAL; else 0.
 */
int cli_check_backend(const struct cli_trace_options *o, const char *cmd);
/*
 * --backend=auto could not use its first choice (res->fallback_reason is
 * not empty): the one stderr line, "stallwatch: REASON; using --backend=NAME".
 */
void cli_say_fallback(const struct tracer_result *res);

/*
 * In a getopt loop, right after -m/--min-duration was parsed: note how it was
 * written and the argv word after its value (getopt's optind/optarg).
 */
void cli_note_min_duration(struct cli_trace_options *o, int argc, char **argv);
/*
 * word is a non-option argument left after parsing. If it is the word right
 * after a bare-number -m and looks like a unit ("-m 10 ms"), print the usage
 * error (cmd: "run" or "attach") and return -EINVAL; else 0.
 */
int cli_check_min_duration_unit(const struct cli_trace_options *o, const char *word,
				const char *cmd);

/* getopt values of long-only options shared by the tracing subcommands */
#define CLI_OPT_FORMAT 0x200
#define CLI_OPT_POLICY 0x201
#define CLI_OPT_NO_DEFAULT_POLICY 0x202
#define CLI_OPT_SUMMARY 0x203
#define CLI_OPT_SYSLOG 0x204
#define CLI_OPT_METRICS_FILE 0x205
#define CLI_OPT_RATE_LIMIT 0x206
#define CLI_OPT_BACKEND 0x207

/* getopt_long entries of the options cli_parse_trace_option() parses (run, attach) */
/* clang-format off */
#define CLI_TRACE_LONG_OPTIONS                                                  \
	{ "trace", required_argument, NULL, 'e' },                              \
	{ "min-duration", required_argument, NULL, 'm' },                       \
	{ "output", required_argument, NULL, 'o' },                             \
	{ "format", required_argument, NULL, CLI_OPT_FORMAT },                  \
	{ "policy", required_argument, NULL, CLI_OPT_POLICY },                  \
	{ "no-default-policy", no_argument, NULL, CLI_OPT_NO_DEFAULT_POLICY },  \
	{ "summary", no_argument, NULL, CLI_OPT_SUMMARY },                      \
	{ "syslog", no_argument, NULL, CLI_OPT_SYSLOG },                        \
	{ "metrics-file", required_argument, NULL, CLI_OPT_METRICS_FILE },      \
	{ "rate-limit", required_argument, NULL, CLI_OPT_RATE_LIMIT },          \
	{ "backend", required_argument, NULL, CLI_OPT_BACKEND }
/* clang-format on */

/*
 * The options every tracing subcommand shares (-e, -m, -o, --format, ...,
 * --backend):
 * returns 1 if c was one of them and was parsed, 0 if c is not one of
 * them, -EINVAL after printing the error.
 */
int cli_parse_trace_option(struct cli_trace_options *o, int c, const char *arg);

/*
 * The recorder of a subcommand from its options: -o (else fd), --format,
 * --syslog, --metrics-file; mode "run", "attach" or "scan". Never waits: a
 * -o FIFO without a reader is said in one line and opened when a reader
 * comes. Sink trouble is printed by cli_sink_notify. Returns 0 or -errno
 * (the error printed).
 */
int cli_recorder_init(struct recorder *rec, const struct cli_trace_options *t, int fd,
		      const char *mode);

/*
 * Was descriptor fd (0-2) closed when stallwatch started? main() puts
 * /dev/null there, close-on-exec; a descriptor inherited across execve(2)
 * never is.
 */
bool cli_fd_was_closed(int fd);

/*
 * Without -o, records go to fd (stdout for attach, stderr for run). If it
 * was closed they would go to main()'s /dev/null placeholder with nobody
 * told: say so on the other of stdout/stderr (if that one is open) and
 * return -EINVAL (a usage error, before anything starts); else 0.
 */
int cli_check_record_stream(const struct cli_trace_options *t, int fd, const char *cmd);

/* --help lines of the sink options run and attach share */
#define CLI_SINK_OPTIONS_HELP                                                                      \
	"      --syslog            also send each record to syslog (/dev/log, ident\n"             \
	"                          stallwatch, priority from log.level)\n"                         \
	"      --metrics-file=FILE keep FILE current in Prometheus text format for\n"              \
	"                          node_exporter's textfile collector (doc/metrics.md)\n"          \
	"      --rate-limit=N      records per minute per process for each rule that\n"            \
	"                          sets no rate_limit (and -e/-m's). Default 600; 0 =\n"           \
	"                          unlimited. Cut calls are counted (records-dropped)\n"

/*
 * After the recorder is closed: one line per sink and kind of loss that no
 * records-dropped record reports (write errors, a full queue, records still
 * queued when the close limit passed), with the exact count.
 */
void cli_report_dropped(const struct output_stats *st);

/* After tracing: one line if rule rate limits cut records. */
struct tracer_stats;
void cli_report_rate_limited(const struct tracer_stats *stats);

/*
 * Print policy diagnostics, one `FILE:LINE:COL: error[CODE]: message` line
 * each to out; a file that could not be read is one line on stderr instead:
 * `stallwatch: FILE: cannot read: WHY`. After max_errors errors (0: no
 * limit) the report stops, like a compiler's error limit, with one line:
 * `and N more errors, M more warnings (SHOW_ALL shows every one)`.
 */
#define CLI_MAX_ERRORS 100
void cli_print_diags(FILE *out, const struct policy_diags *d, size_t max_errors,
		     const char *show_all);

/*
 * The policy a tracing subcommand runs with: --policy files (or the
 * built-in default) plus the command-line rule (doc/policy.md), kept so
 * SIGHUP can build it anew from the same options.
 */
struct cli_policy {
	const struct cli_trace_options *trace;
	struct policy *current;
};

/* Load it; diagnostics go to stderr. Returns 0, -EINVAL (invalid policy) or -ENOMEM. */
int cli_policy_load(struct cli_policy *cp, const struct cli_trace_options *t);
/*
 * The tracer's SIGHUP callbacks (opaque: struct cli_policy; tracer.h):
 * build, on the loader thread, returns the new policy or NULL to keep the
 * current one, after printing its diagnostics; adopt, on the tracing
 * thread, frees the policy replaced (adopted) or the one never used.
 */
struct policy *cli_policy_build(void *opaque);
void cli_policy_adopt(void *opaque, struct policy *np, bool adopted);
/* Both at once (scan, which traces nothing) */
void cli_policy_reload(struct cli_policy *cp);
void cli_policy_done(struct cli_policy *cp);

/*
 * The records of one host scan, on the recorder's producer thread: the
 * host-scan record, one record per alert, and the metrics file's host
 * gauges (scan, and watch's scheduled scans).
 */
struct hostscan_result;
void cli_write_host_records(struct recorder *rec, const struct hostscan_result *r);

int cli_run(int argc, char **argv);
int cli_attach(int argc, char **argv);
int cli_validate(int argc, char **argv);
int cli_scan(int argc, char **argv);
int cli_watch(int argc, char **argv);

#endif
