/* SPDX-License-Identifier: MIT */
/*
 * attach.c - `stallwatch attach [OPTIONS] -p PID [-p PID...] | --name COMM |
 * --exe GLOB | --cgroup PATH`: one options struct, targets resolved here,
 * the tracing itself in tracer_attach().
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/macro.h"
#include "../policy/policy.h"
#include "../tracer/attach.h"
#include "../tracer/tracer.h"
#include "cli.h"

#define MAX_PIDS 4096

struct attach_options {
	struct cli_trace_options trace;
	pid_t pids[MAX_PIDS];
	size_t n_pids;
	struct attach_query query;
	bool follow_forks;
	struct cli_policy policy; /* --policy files (or the default) + the command-line rule */
};

static void attach_options_freep(struct attach_options **o)
{
	if (*o) {
		cli_policy_done(&(*o)->policy);
		free((*o)->trace.policy_files);
		free(*o);
	}
}

static const char attach_usage[] =
	"USAGE: stallwatch attach [-e SET] [-m DUR] [--policy FILE]... [-o FILE]\n"
	"                         [--format json|text] [--syslog] [--metrics-file FILE]\n"
	"                         [--rate-limit N] [--summary] [-f]\n"
	"                         -p PID [-p PID...] | --name COMM | --exe GLOB | --cgroup PATH\n"
	"\n"
	"Attach to running processes, every thread, and report their slow and stuck\n"
	"syscalls until SIGINT/SIGTERM (then detach cleanly) or until they all exit.\n"
	"No seccomp filter is installed: every syscall of the targets stops (costlier\n"
	"than `run`), and the targets are left exactly as they were on detach.\n"
	"\n"
	"  -p, --pid=PID           attach to PID (repeatable)\n"
	"      --name=COMM         every process whose comm is COMM (or matches the glob)\n"
	"      --exe=GLOB          every process whose executable matches GLOB\n"
	"      --cgroup=PATH       every process in cgroup PATH or below it\n"
	"  -f, --follow-forks      also trace children created after the attach\n"
	"  -e, --trace=SET         syscalls to report, strace syntax (see `run --help`)\n"
	"  -m, --min-duration=DUR  report calls taking at least DUR. Default: 10ms\n"
	"      --policy=FILE       policy file (repeatable, doc/policy.md); without it\n"
	"                          the built-in default policy plus the -e/-m rule.\n"
	"                          SIGHUP reloads it without detaching\n"
	"      --no-default-policy without --policy: only the -e/-m rule\n"
	"      --summary           at detach (and on SIGUSR2): per syscall calls, errors,\n"
	"                          total/min/avg/max/p99 wall time of every watched call\n"
	"  -o, --output=FILE       append records to FILE (0600). Default: stdout\n"
	"      --format=json|text  default json; text when the output is a terminal\n" CLI_SINK_OPTIONS_HELP
	"  -h, --help              this text\n"
	"\n"
	"Once every thread of a process is seized, stderr says:\n"
	"  stallwatch: attached PID (COMM) with N threads\n"
	"The first call seen after the attach may have started before it; its record\n"
	"has stallwatch.partial: true and its duration is a lower bound.\n"
	"\n"
	"Exit status: 0 after a clean detach or when every target exited; 1 if nothing\n"
	"could be attached or stallwatch failed; 2 usage error or invalid policy. SIGKILL of stallwatch\n"
	"leaves the targets running. Like strace -p, the attach and the detach may make\n"
	"a blocked epoll_wait, rt_sigtimedwait or semtimedop return EINTR (a kernel\n"
	"limitation); nanosleep, poll, read, futex and the like are restarted.\n"
	"\n"
	"EXAMPLES:\n"
	"  stallwatch attach -p $(pidof cadvisor) -m 50ms\n"
	"  stallwatch attach --name kubelet -e read,openat,inotify_add_watch -m 10ms\n"
	"  stallwatch attach --cgroup /system.slice/kafka.service -f -o /var/log/stalls.json\n";

static void attach_warn(void *opaque, const char *line)
{
	fprintf(stderr, "stallwatch: warning: %s\n", line);
}

static void attach_ready(void *opaque, pid_t pid, const char *comm, int threads)
{
	/* scripts and tests wait for this line (stallwatch(8), ATTACH) */
	fprintf(stderr, "stallwatch: attached %d (%s) with %d threads\n", pid, comm, threads);
}

static void attach_failed(void *opaque, const struct sw_error *err)
{
	/* the message already says why (no such process, traced by, ...) */
	cli_error("%s", err->msg);
}

static int parse_pid(const char *arg, pid_t *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v <= 0 || v > 0x3fffffff) {
		cli_error("attach: -p `%s`: not a process id", arg);
		return -EINVAL;
	}
	*ret = (pid_t)v;
	return 0;
}

static int parse_args(struct attach_options *o, int argc, char **argv)
{
	enum { OPT_NAME = 256, OPT_EXE, OPT_CGROUP };
	static const struct option long_options[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "exe", required_argument, NULL, OPT_EXE },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "follow-forks", no_argument, NULL, 'f' },
		CLI_TRACE_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:fe:m:o:h", long_options, NULL)) != -1) {
		int shared = cli_parse_trace_option(&o->trace, c, optarg);

		if (shared < 0)
			return -EINVAL;
		if (shared > 0)
			continue;
		switch (c) {
		case 'p':
			if (o->n_pids == MAX_PIDS) {
				cli_error("attach: more than %d -p options", MAX_PIDS);
				return -EINVAL;
			}
			if (parse_pid(optarg, &o->pids[o->n_pids]) < 0)
				return -EINVAL;
			o->n_pids++;
			/* -p P -p P is one target, not "already traced by ourselves" */
			for (size_t i = 0; i + 1 < o->n_pids; i++)
				if (o->pids[i] == o->pids[o->n_pids - 1]) {
					o->n_pids--;
					break;
				}
			break;
		case OPT_NAME:
			o->query.name = optarg;
			break;
		case OPT_EXE:
			o->query.exe = optarg;
			break;
		case OPT_CGROUP:
			o->query.cgroup = optarg;
			break;
		case 'f':
			o->follow_forks = true;
			break;
		case 'h':
			fputs(attach_usage, stdout);
			return 1;
		case ':':
			cli_error(
				"attach: option `%s` needs a value (see `stallwatch attach --help`)",
				argv[optind - 1]);
			return -EINVAL;
		default:
			cli_error("attach: bad option `%s` (see `stallwatch attach --help`)",
				  argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		cli_error("attach: unexpected argument `%s` (use -p PID)", argv[optind]);
		return -EINVAL;
	}
	if (!o->n_pids && !o->query.name && !o->query.exe && !o->query.cgroup) {
		cli_error("attach: no target (use -p PID, --name, --exe or --cgroup)");
		return -EINVAL;
	}
	if (!o->trace.watch_given)
		syscall_set_fill_all(&o->trace.watch);
	return 0;
}

int cli_attach(int argc, char **argv)
{
	_cleanup_(attach_options_freep) struct attach_options *o = calloc(1, sizeof(*o));
	_cleanup_free_ pid_t *found = NULL;
	struct tracer_attach_options topts = {
		.warn = attach_warn,
		.attached = attach_ready,
		.failed = attach_failed,
	};
	struct tracer_result result = {};
	struct recorder recorder;
	struct output_stats ostats;
	struct sw_error err = {};
	sigset_t caller_mask, early;
	int r;

	/* SIGINT/SIGTERM before the handlers are in must not kill us half-attached */
	sigemptyset(&early);
	sigaddset(&early, SIGINT);
	sigaddset(&early, SIGTERM);
	sigprocmask(SIG_BLOCK, &early, &caller_mask);
	topts.caller_mask = &caller_mask;
	if (!o) {
		cli_error("out of memory");
		return 1;
	}
	cli_trace_options_init(&o->trace);
	r = parse_args(o, argc, argv);
	if (r != 0)
		return r > 0 ? 0 : EXIT_USAGE;
	/* stallwatch(8): an invalid policy is a usage error (2), said before attaching */
	r = cli_policy_load(&o->policy, &o->trace);
	if (r < 0)
		return r == -EINVAL ? EXIT_USAGE : 1;

	if (o->query.name || o->query.exe || o->query.cgroup) {
		r = attach_find_targets(&o->query, &found, &err);
		if (r < 0) {
			cli_print_error(&err);
			return 1;
		}
		for (int i = 0; i < r && o->n_pids < MAX_PIDS; i++) {
			bool dup = false;

			for (size_t j = 0; j < o->n_pids && !dup; j++)
				dup = o->pids[j] == found[i];
			if (!dup)
				o->pids[o->n_pids++] = found[i];
		}
		if (r == 0 && o->n_pids == 0) {
			cli_error("attach: no process matches the selection");
			return 1;
		}
	}

	r = cli_recorder_init(&recorder, &o->trace, STDOUT_FILENO, "attach");
	if (r < 0)
		return 1;
	topts.pids = o->pids;
	topts.n_pids = o->n_pids;
	topts.follow_forks = o->follow_forks;
	topts.policy = o->policy.current;
	topts.reload = cli_policy_reload;
	topts.reload_opaque = &o->policy;
	topts.recorder = &recorder;
	if (o->trace.summary && !(topts.summary = summary_new())) {
		cli_error("out of memory");
		recorder_done(&recorder, NULL);
		return 1;
	}
	r = tracer_attach(&topts, &result, &err);
	if (topts.summary) {
		if (r == 0)
			summary_emit(topts.summary, &recorder);
		summary_free(topts.summary);
	}
	recorder_done(&recorder, &ostats);
	cli_report_dropped(&ostats);
	cli_report_rate_limited(&result.stats);
	if (r == -ESRCH || r == -EPERM) {
		/* each failure was already said, one line per process */
		if (o->n_pids > 1)
			cli_error("attach: nothing could be attached");
		return 1;
	}
	if (r < 0) {
		cli_print_error(&err);
		return 1;
	}
	return 0;
}
