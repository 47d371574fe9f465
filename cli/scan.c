/* SPDX-License-Identifier: MIT */
/*
 * scan.c - `stallwatch scan [OPTIONS] [--interval DUR] [--count N] [--state FILE]`:
 * one host-scan record per scan, one alert record per problem
 * (cgroupscan/hostscan.h), with the thresholds of the policy's `scan` object.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../cgroupscan/hostscan.h"
#include "../common/macro.h"
#include "../common/timeutil.h"
#include "../policy/duration.h"
#include "cli.h"

struct scan_options {
	struct cli_trace_options out; /* -o, --format, --policy (-e/-m are refused) */
	uint64_t interval_ns; /* 0: one scan */
	uint64_t count; /* 0: until SIGTERM */
	const char *state_path;
};

static const char scan_usage[] =
	"USAGE: stallwatch scan [--interval DUR] [--count N] [--state FILE]\n"
	"                       [--policy FILE]... [-o FILE] [--format json|text]\n"
	"                       [--syslog] [--metrics-file FILE]\n"
	"\n"
	"Scan the host for the kernel-side causes of syscall stalls: offline (zombie)\n"
	"memory cgroups, the time of a memory.stat read, negative dentries, slab growth,\n"
	"plus softnet time_squeeze and PSI. One host-scan record per scan (event.kind\n"
	"metric) and one alert record per problem (memcg-offline, memcg-stat-slow,\n"
	"negative-dentries, slab-growth), from levels and from growth rates.\n"
	"\n"
	"      --interval=DUR   scan every DUR (10s, 1m, 1h) until SIGINT/SIGTERM\n"
	"      --count=N        with --interval: stop after N scans\n"
	"      --state=FILE     keep history in FILE between runs, so rates and slab\n"
	"                       trends work when a timer runs `scan` once a minute\n"
	"      --policy=FILE    thresholds from the policy's `scan` object (repeatable;\n"
	"                       default: the built-in policy, doc/policy.md)\n"
	"  -o, --output=FILE    append records to FILE (0600). Default: stdout\n"
	"      --format=json|text  default json; text when the output is a terminal\n"
	"      --syslog         also send each record to syslog (/dev/log, ident\n"
	"                       stallwatch, priority from log.level)\n"
	"      --metrics-file=FILE  keep FILE current for node_exporter's textfile\n"
	"                       collector (doc/metrics.md), rewritten after each scan\n"
	"  -h, --help           this text\n"
	"\n"
	"/proc/slabinfo needs root; without it slab trends are left out. Every record\n"
	"carries the scan's own cost (stallwatch.self.scan_ns).\n"
	"\n"
	"Exit status: 0; 1 on a fatal error; 2 usage error or invalid policy.\n"
	"\n"
	"EXAMPLES:\n"
	"  stallwatch scan | jq .stallwatch.memcg\n"
	"  stallwatch scan --interval 1m -o /var/log/stallwatch-scan.json\n"
	"  stallwatch scan --state /var/lib/stallwatch/scan.state   # from a 1 min timer\n";

/* --interval: a duration with a unit; minutes and hours too (a timer's vocabulary). */
static int parse_interval(const char *arg, uint64_t *ret_ns)
{
	static const struct {
		const char *suffix;
		uint64_t ns;
	} units[] = { { "min", 60 * NSEC_PER_SEC },
		      { "m", 60 * NSEC_PER_SEC },
		      { "h", 3600 * NSEC_PER_SEC } };
	struct sw_error err = {};
	size_t len = strlen(arg);

	if (len && arg[len - 1] >= '0' && arg[len - 1] <= '9') {
		cli_error("scan: --interval `%s`: give a unit (e.g. 30s, 1m)", arg);
		return -EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		size_t sl = strlen(units[i].suffix);
		char num[64];
		uint64_t v;

		if (len <= sl || len - sl >= sizeof(num) ||
		    strcmp(arg + len - sl, units[i].suffix) != 0)
			continue;
		memcpy(num, arg, len - sl);
		num[len - sl] = 0;
		strcat(num, "s");
		if (duration_parse(num, &v, &err) < 0 || v > UINT64_MAX / 3600)
			break;
		*ret_ns = v / NSEC_PER_SEC * units[i].ns +
			  v % NSEC_PER_SEC * (units[i].ns / NSEC_PER_SEC);
		goto check;
	}
	if (duration_parse(arg, ret_ns, &err) < 0) {
		cli_error("scan: --interval `%s`: %s", arg, err.msg);
		return -EINVAL;
	}
check:
	if (*ret_ns < 100 * NSEC_PER_MSEC) {
		cli_error("scan: --interval `%s`: at least 100ms (a scan costs 1-2 ms)", arg);
		return -EINVAL;
	}
	return 0;
}

static int parse_args(struct scan_options *o, int argc, char **argv)
{
	enum { OPT_INTERVAL = 0x300, OPT_COUNT, OPT_STATE };
	static const struct option long_options[] = {
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "policy", required_argument, NULL, CLI_OPT_POLICY },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, CLI_OPT_FORMAT },
		{ "syslog", no_argument, NULL, CLI_OPT_SYSLOG },
		{ "metrics-file", required_argument, NULL, CLI_OPT_METRICS_FILE },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", long_options, NULL)) != -1) {
		char *end;

		switch (c) {
		case OPT_INTERVAL:
			if (parse_interval(optarg, &o->interval_ns) < 0)
				return -EINVAL;
			break;
		case OPT_COUNT:
			errno = 0;
			o->count = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || o->count == 0 || optarg[0] == '-') {
				cli_error("scan: --count `%s`: a positive number", optarg);
				return -EINVAL;
			}
			break;
		case OPT_STATE:
			o->state_path = optarg;
			break;
		case 'o':
		case CLI_OPT_FORMAT:
		case CLI_OPT_POLICY:
		case CLI_OPT_SYSLOG:
		case CLI_OPT_METRICS_FILE:
			if (cli_parse_trace_option(&o->out, c, optarg) < 0)
				return -EINVAL;
			break;
		case 'h':
			fputs(scan_usage, stdout);
			return 1;
		case ':':
			cli_error("scan: option `%s` needs a value (see `stallwatch scan --help`)",
				  argv[optind - 1]);
			return -EINVAL;
		default:
			cli_error("scan: bad option `%s` (see `stallwatch scan --help`)",
				  argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		cli_error("scan: unexpected argument `%s`", argv[optind]);
		return -EINVAL;
	}
	if (o->count && !o->interval_ns) {
		cli_error("scan: --count needs --interval");
		return -EINVAL;
	}
	return 0;
}

/* Wait for a signal of set until deadline_ns (CLOCK_MONOTONIC): the signal, or 0 at the deadline. */
static int wait_signal(const sigset_t *set, uint64_t deadline_ns)
{
	for (;;) {
		uint64_t now = sw_mono_ns();
		struct timespec ts;
		int sig;

		if (now >= deadline_ns)
			return 0;
		ts.tv_sec = (time_t)((deadline_ns - now) / NSEC_PER_SEC);
		ts.tv_nsec = (long)((deadline_ns - now) % NSEC_PER_SEC);
		sig = sigtimedwait(set, NULL, &ts);
		if (sig > 0)
			return sig;
	}
}

int cli_scan(int argc, char **argv)
{
	struct scan_options o = {};
	_cleanup_(cli_policy_done) struct cli_policy policy = {};
	struct hostscan_state st;
	struct recorder recorder;
	struct output_stats ostats;
	struct sw_error err = {};
	sigset_t stop;
	uint64_t next_ns, n = 0;
	int r, status = 0, save_error = 0;

	cli_trace_options_init(&o.out);
	r = parse_args(&o, argc, argv);
	if (r != 0) {
		free(o.out.policy_files);
		return r > 0 ? 0 : EXIT_USAGE;
	}
	/* the thresholds: --policy files, else the built-in default (no command-line rule) */
	o.out.no_default_policy = false;
	o.out.watch_given = o.out.min_duration_given = false;
	r = cli_policy_load(&policy, &o.out);
	if (r < 0) {
		free(o.out.policy_files);
		return r == -EINVAL ? EXIT_USAGE : 1;
	}
	r = cli_recorder_init(&recorder, &o.out, STDOUT_FILENO, "scan");
	if (r < 0) {
		free(o.out.policy_files);
		return 1;
	}
	if (hostscan_state_init(&st) < 0) {
		cli_error("scan: out of memory");
		recorder_done(&recorder, NULL);
		free(o.out.policy_files);
		return 1;
	}
	if (o.state_path) {
		r = hostscan_state_load(&st, o.state_path, &err);
		if (r > 0)
			cli_error("scan: --state %s", err.msg);
		else if (r < 0) {
			cli_print_error(&err);
			status = r == -EINVAL ? EXIT_USAGE : 1;
			goto out;
		}
	}

	/* SIGINT/SIGTERM end the loop between scans; SIGHUP reloads; SIGUSR1 reopens -o */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, SIGUSR1);
	sigaddset(&stop, SIGUSR2); /* --summary arrives with its issue: never fatal */
	sigprocmask(SIG_BLOCK, &stop, NULL);
	next_ns = sw_mono_ns();
	for (;;) {
		struct hostscan_result res;
		struct hostscan_options ho = { .proc_root = "/proc",
					       .slab_sysfs = SLAB_SYSFS_ROOT,
					       .thresholds = &policy.current->scan };
		r = hostscan_run(&ho, &st, &res, &err);
		if (r < 0) {
			cli_print_error(&err);
			status = 1;
			break;
		}
		cli_write_host_records(&recorder, &res);
		n++;
		if (o.state_path) {
			/*
			 * The scan itself worked: its records are out. Say it once per
			 * failure episode and keep scanning; every save writes the whole
			 * history, so the exit status is that of the last one.
			 */
			r = hostscan_state_save(&st, o.state_path, &err);
			if (r < 0 && r != save_error)
				cli_print_error(&err);
			save_error = r;
			sw_error_clear(&err);
		}
		if (!o.interval_ns || (o.count && n >= o.count))
			break;
		next_ns += o.interval_ns;
		for (int sig; (sig = wait_signal(&stop, next_ns)) != 0;) {
			if (sig == SIGINT || sig == SIGTERM)
				goto stopped;
			if (sig == SIGHUP)
				cli_policy_reload(&policy);
			else if (sig == SIGUSR1)
				recorder_reopen(&recorder);
		}
	}
stopped:
	if (save_error < 0)
		status = 1; /* the history on disk is not the latest: a fatal error (exit 1) */
	/*
	 * Signals taken while scanning are consumed, never their default
	 * (fatal) action; the mask stays as it is until we exit, so one that
	 * comes in now is discarded with the process rather than killing it.
	 */
	while (sigtimedwait(&stop, NULL, &(struct timespec){}) > 0)
		;
out:
	recorder_done(&recorder, &ostats);
	cli_report_dropped(&ostats);
	hostscan_state_free(&st);
	free(o.out.policy_files);
	return status;
}
