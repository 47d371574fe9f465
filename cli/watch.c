/* SPDX-License-Identifier: MIT */
/*
 * watch.c - `stallwatch watch [--policy FILE]... [OPTIONS]`: the node
 * daemon. The processes watched are the union of the targets the policy's
 * enabled rules name (policy_watch_match()), picked up as they start
 * (tracer_watch(), tracer/tracer.h); rules without targets apply to every
 * process (host-wide, bpf only). Host scans run on a worker thread every
 * scan.interval (cgroupscan/scanworker.h) and their records are written
 * here, on the tracing thread; so is the daemon's own watch-status record.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../cgroupscan/scanworker.h"
#include "../common/escape.h"
#include "../common/macro.h"
#include "../common/sdnotify.h"
#include "../common/timeutil.h"
#include "../common/utf8.h"
#include "../policy/duration.h"
#include "../policy/policy.h"
#include "../tracer/procinfo.h"
#include "../tracer/tracer.h"
#include "cli.h"

#define WATCH_MAX_TARGETS_DEFAULT 256
/* the daemon's own watch-status record (doc/schema.md) */
#define WATCH_STATUS_PERIOD_NS (60 * NSEC_PER_SEC)
/* its numbers in the metrics file, fresher than the record */
#define WATCH_METRICS_PERIOD_NS (10 * NSEC_PER_SEC)
/* cgroup moves of watched processes (the proc connector does not report them) */
/*
 * The cgroup-move recheck of watched processes (the proc connector reports
 * no moves): select() again for each, about 20 us a process, so 256
 * targets cost some 5 ms every 5 s (0.1 % of a CPU).
 */
#define WATCH_RECHECK_NS (5 * NSEC_PER_SEC)

struct watch_options {
	struct cli_trace_options trace;
	bool dry_run;
	size_t max_targets;
	uint64_t recheck_ns; /* --recheck */
	struct cli_policy policy; /* --policy files (or the default) + the command-line rule */
};

/* What the tracer's callbacks share: one context, on the tracing thread. */
struct watch_ctx {
	struct watch_options *o;
	struct recorder *recorder;
	struct scanworker *scans; /* NULL: none (it could not start) */
	bool host_wide; /* asked of the tracer */
	bool host_wide_warned;
	char host_wide_rules[512];
	char unapplied_rules[512]; /* catch-alls without targets in a policy naming none */
	struct tracer_watch_options *topts; /* recheck_all follows SIGHUP's policy */
	uint64_t start_ns, last_status_ns, next_status_ns, next_metrics_ns;
	const char *backend; /* stallwatch.backend of watch-status, once chosen */
	uint64_t scan_errors_said;
	struct sdnotify notify;
};

static void watch_options_freep(struct watch_options **o)
{
	if (*o) {
		cli_policy_done(&(*o)->policy);
		free((*o)->trace.policy_files);
		free(*o);
	}
}

static const char watch_usage[] =
	"USAGE: stallwatch watch [--policy FILE]... [-e SET] [-m DUR] [-o FILE]\n"
	"                        [--format json|text] [--syslog] [--metrics-file FILE]\n"
	"                        [--rate-limit N] [--backend auto|bpf|ptrace]\n"
	"                        [--max-targets N] [--recheck DUR] [--dry-run]\n"
	"\n"
	"The node daemon: watch the processes the policy's targets name, taking each\n"
	"one as it starts (exec) and letting it go when it stops matching, and run the\n"
	"host scan every scan.interval (default 60s), until SIGINT/SIGTERM. A rule\n"
	"that names its syscalls but no targets applies to every process on the host\n"
	"(host-wide): under bpf its calls are timed for every process; ptrace cannot\n"
	"do that. A catch-all without targets applies to the targets' processes only.\n"
	"\n"
	"      --policy=FILE       policy file (repeatable, doc/policy.md); targets say\n"
	"                          who is watched. Without it, the built-in default\n"
	"                          policy: its cgroup stat read and watch setup rules\n"
	"                          are host-wide (bpf). SIGHUP reloads it without\n"
	"                          losing targets\n"
	"  -e, --trace=SET         syscalls of the command-line rule, strace syntax\n"
	"  -m, --min-duration=DUR  threshold of the command-line rule. Default: 10ms.\n"
	"                          That rule applies to the policy's targets; with\n"
	"                          none, it is host-wide if -e names syscalls\n"
	"      --no-default-policy without --policy: only the -e/-m rule\n"
	"      --max-targets=N     watch at most N processes at once (default 256; 0 =\n"
	"                          no limit); those past it are counted as missed\n"
	"      --recheck=DUR       check watched processes against the targets again\n"
	"                          every DUR (a cgroup move is not an event), 100ms to\n"
	"                          1h. Default 5s\n"
	"      --dry-run           list who would be watched now (pid, comm, exe,\n"
	"                          threads, why) on stdout, and the host-wide rules;\n"
	"                          watch nothing, exit 0\n"
	"  -o, --output=FILE       append records to FILE (0600). Default: stdout\n"
	"      --format=json|text  default json; text when the output is a terminal\n" CLI_SINK_OPTIONS_HELP
	"      --backend=NAME      auto (the default): bpf where the kernel allows it,\n"
	"                          else ptrace (host-wide rules are then left out, with\n"
	"                          one warning). bpf: times calls in the kernel, stops\n"
	"                          nothing. ptrace: stops every call of the targets;\n"
	"                          refuses host-wide rules. notify cannot serve a daemon\n"
	"  -h, --help              this text\n"
	"\n"
	"stderr says, one line each:\n"
	"  stallwatch: watching PID (COMM) with N threads: REASON\n"
	"  stallwatch: released PID (COMM): WHY\n"
	"Under systemd (Type=notify, $NOTIFY_SOCKET) READY=1 is sent once every process\n"
	"found at start is watched, STOPPING=1 at SIGINT/SIGTERM. Every 60 s a\n"
	"watch-status record gives the daemon's own cost (doc/schema.md).\n"
	"\n"
	"Exit status: 0 after SIGINT/SIGTERM (every target let go cleanly) and after\n"
	"--dry-run; 1 if stallwatch failed (host-wide rules alone without bpf); 2 usage\n"
	"error (nothing to watch, host-wide rules with --backend=ptrace) or invalid\n"
	"policy.\n"
	"\n"
	"EXAMPLES:\n"
	"  stallwatch watch --dry-run\n"
	"  stallwatch watch --policy /etc/stallwatch/node.json --dry-run\n"
	"  stallwatch watch --policy /etc/stallwatch/node.json -o /var/log/stallwatch.json \\\n"
	"      --metrics-file /var/lib/node_exporter/textfile/stallwatch.prom\n";

/* ---- who is watched ------------------------------------------------------------------ */

static void watch_select(void *opaque, const struct policy_process *proc, enum tracer_watch_why why,
			 struct tracer_watch_choice *ret)
{
	struct watch_ctx *ctx = opaque;

	(void)why;
	ret->watch = policy_watch_match(ctx->o->policy.current, proc, procinfo_policy_parent, NULL,
					ret->reason, sizeof(ret->reason));
	if (!ret->watch)
		snprintf(ret->reason, sizeof(ret->reason), "no target of the policy matches");
}

static void watch_attached(void *opaque, pid_t pid, const char *comm, int threads,
			   const char *reason)
{
	char line[PROCINFO_COMM_MAX + 256];

	/* scripts and tests wait for this line (stallwatch(8), WATCH) */
	snprintf(line, sizeof(line), "watching %d (%s) with %d threads: %s", (int)pid, comm,
		 threads, reason);
	cli_print_escaped(stderr, "stallwatch: ", line);
}

static void watch_released(void *opaque, pid_t pid, const char *comm, const char *why)
{
	char line[PROCINFO_COMM_MAX + 256];

	snprintf(line, sizeof(line), "released %d (%s): %s", (int)pid, comm, why);
	cli_print_escaped(stderr, "stallwatch: ", line);
}

static void watch_failed(void *opaque, const struct sw_error *err)
{
	cli_error("%s", err->msg);
}

static void watch_warn(void *opaque, const char *line)
{
	cli_print_escaped(stderr, "stallwatch: warning: ", line);
}

static void watch_backend_chosen(void *opaque, const struct tracer_result *res)
{
	struct watch_ctx *ctx = opaque;

	cli_say_fallback(res);
	ctx->backend = res->backend_used == TRACER_BACKEND_BPF ? RECORD_BACKEND_BPF :
								 RECORD_BACKEND_PTRACE;
	/* auto fell back: the targets are watched, the host-wide rules cannot be */
	if (ctx->host_wide && res->backend_used != TRACER_BACKEND_BPF && !ctx->host_wide_warned) {
		ctx->host_wide_warned = true;
		cli_error("watch: warning: host-wide rules (%s) are not applied: they need "
			  "--backend=bpf; only the targets are watched",
			  ctx->host_wide_rules);
	}
}

static void watch_ready(void *opaque, const struct tracer_result *res)
{
	struct watch_ctx *ctx = opaque;
	struct sw_error err = {};

	if (res->backend_used != TRACER_BACKEND_AUTO)
		ctx->backend = res->backend_used == TRACER_BACKEND_BPF ? RECORD_BACKEND_BPF :
									 RECORD_BACKEND_PTRACE;
	/* scripts and tests wait for this line (stallwatch(8), WATCH), as systemd for READY=1 */
	if (ctx->host_wide && !ctx->host_wide_warned)
		cli_print_escaped(stderr,
				  "stallwatch: watch: ready (bpf); rules on every process: ",
				  ctx->host_wide_rules);
	else
		fprintf(stderr, "stallwatch: watch: ready (%s)\n",
			res->backend_used == TRACER_BACKEND_BPF ? "bpf" : "ptrace");
	if (sdnotify_send(&ctx->notify, "READY=1", &err) < 0)
		cli_print_error(&err);
}

static void watch_tick_waker(void *opaque, void (*wake_tick)(void *loop), void *loop)
{
	struct watch_ctx *ctx = opaque;

	/* wake_tick NULL: the loop is going away (the worker must not call it any more) */
	if (ctx->scans)
		scanworker_set_waker(ctx->scans, wake_tick, wake_tick ? loop : NULL);
}

/* ---- the daemon's own numbers ------------------------------------------------------ */

static uint64_t timeval_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * NSEC_PER_SEC + (uint64_t)tv->tv_usec * NSEC_PER_USEC;
}

/* VmRSS of stallwatch itself in bytes; 0 when unreadable */
static uint64_t self_rss_bytes(void)
{
	struct procstatus st;

	return procinfo_status(getpid(), &st) == 0 ? st.rss_bytes : 0;
}

static void watch_self(const struct watch_ctx *ctx, const struct tracer_watch_stats *st,
		       struct record_watch_status *ws, struct metrics_watch *mw)
{
	struct rusage ru = {};
	uint64_t now_ns = sw_mono_ns();

	getrusage(RUSAGE_SELF, &ru);
	*ws = (struct record_watch_status){
		.mono_ns = now_ns,
		.since_mono_ns = ctx->last_status_ns,
		.uptime_ns = now_ns - ctx->start_ns,
		.backend = ctx->backend,
		.host_wide = ctx->host_wide && !ctx->host_wide_warned,
		.scans = ctx->scans ? scanworker_scans(ctx->scans) : 0,
		.scans_lost = ctx->scans ? scanworker_lost(ctx->scans) : 0,
		.rss_bytes = self_rss_bytes(),
		.cpu_ns = timeval_ns(&ru.ru_utime) + timeval_ns(&ru.ru_stime),
		.targets = st->watched_now,
		.added = st->added_total,
		.released = st->released_total,
		.exited = st->exited_total,
		.missed_max_targets = st->missed_max_targets,
		.missed_failed = st->missed_failed,
		.connector_lost = st->connector_lost,
		.pickup_ns_max = st->pickup_ns_max,
		.pickup_ns_mean = st->pickups ? st->pickup_ns_sum / st->pickups : 0,
		.pickups = st->pickups,
		.stop_ns_max = st->stop_ns_max,
	};
	*mw = (struct metrics_watch){
		.targets = st->watched_now,
		.added_total = st->added_total,
		.released_total = st->released_total,
		.missed_max_targets = st->missed_max_targets,
		.missed_failed = st->missed_failed,
		.pickup_ns_max = st->pickup_ns_max,
		.rss_bytes = ws->rss_bytes,
	};
}

/* On the tracing thread: scan results handed over, the self record, the metrics. */
static uint64_t watch_tick(void *opaque, uint64_t now_ns, const struct tracer_watch_stats *st)
{
	struct watch_ctx *ctx = opaque;
	struct record_watch_status ws;
	struct metrics_watch mw;

	if (ctx->scans) {
		struct hostscan_result *res = NULL;
		struct sw_error err = {};
		int r;

		while ((r = scanworker_take(ctx->scans, &res, &err)) != 0) {
			if (r < 0) {
				/* once: the next scans are tried anyway */
				if (ctx->scan_errors_said++ == 0)
					cli_print_error(&err);
				continue;
			}
			cli_write_host_records(ctx->recorder, res);
			free(res);
		}
	}
	if (now_ns >= ctx->next_metrics_ns || now_ns >= ctx->next_status_ns) {
		watch_self(ctx, st, &ws, &mw);
		recorder_watch_metrics(ctx->recorder, &mw);
		ctx->next_metrics_ns = now_ns + WATCH_METRICS_PERIOD_NS;
		if (now_ns >= ctx->next_status_ns) {
			/* the first at start is skipped: nothing to say yet but the start */
			if (ctx->next_status_ns)
				recorder_watch_status(ctx->recorder, &ws);
			ctx->last_status_ns = ctx->next_status_ns ? ws.mono_ns : ctx->start_ns;
			ctx->next_status_ns = now_ns + WATCH_STATUS_PERIOD_NS;
		}
	}
	return ctx->next_metrics_ns < ctx->next_status_ns ? ctx->next_metrics_ns :
							    ctx->next_status_ns;
}

/* SIGHUP: the new policy's scan thresholds and interval go to the worker too */
static void watch_policy_adopt(void *opaque, struct policy *np, bool adopted)
{
	struct watch_ctx *ctx = opaque;

	cli_policy_adopt(&ctx->o->policy, np, adopted);
	if (adopted && ctx->topts)
		ctx->topts->recheck_all = policy_has_cgroup_targets(ctx->o->policy.current);
	if (adopted && ctx->scans)
		scanworker_set_thresholds(ctx->scans, &ctx->o->policy.current->scan);
}

static struct policy *watch_policy_build(void *opaque)
{
	struct watch_ctx *ctx = opaque;
	struct policy *np = cli_policy_build(&ctx->o->policy);

	if (np && policy_scope_for_watch(np, NULL, 0) < 0) {
		cli_error("watch: SIGHUP: out of memory; the policy stays as it was");
		policy_free(np);
		return NULL;
	}
	return np;
}

/* ---- --dry-run ----------------------------------------------------------------------- */

/*
 * Who would be watched now, on stdout: one row per process (pid, comm, exe,
 * threads, why), then the host-wide rules. Kernel threads and stallwatch
 * itself are never watched. Returns the number of rows.
 */
static size_t dry_run(const struct watch_options *o, const char *host_wide, size_t n_host_wide)
{
	_cleanup_free_ struct procinfo *info = malloc(sizeof(*info));
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t rows = 0;

	if (!info || !d) {
		if (d)
			closedir(d);
		cli_error("watch: --dry-run: cannot list /proc");
		return 0;
	}
	printf("%-7s %-15s %7s  %-40s  %s\n", "PID", "COMM", "THREADS", "EXE", "WHY");
	while ((de = readdir(d))) {
		char reason[sizeof(((struct tracer_watch_choice *)0)->reason)];
		char comm[SW_ESCAPE_SIZE(PROCINFO_COMM_MAX)], exe[SW_ESCAPE_SIZE(512)];
		char why[SW_ESCAPE_SIZE(sizeof(reason))], clean[512];
		struct procstatus st;
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid == getpid())
			continue;
		if (procinfo_is_kthread((pid_t)pid) != 0 || procinfo_read((pid_t)pid, info) < 0 ||
		    procinfo_status((pid_t)pid, &st) < 0)
			continue;
		if (!policy_watch_match(o->policy.current,
					&(struct policy_process){
						.tgid = (pid_t)pid,
						.comm = info->comm,
						.exe = info->exe[0] ? info->exe : NULL,
						.cgroup = info->cgroup,
					},
					procinfo_policy_parent, NULL, reason, sizeof(reason)))
			continue;
		rows++;
		/* the comm and exe are the process's: sanitised and escaped */
		sw_utf8_sanitize(info->comm, strlen(info->comm), clean, sizeof(clean), 0);
		sw_escape(clean, comm, sizeof(comm));
		sw_utf8_sanitize(info->exe, strlen(info->exe), clean, sizeof(clean), 0);
		sw_escape(clean[0] ? clean : "-", exe, sizeof(exe));
		sw_utf8_sanitize(reason, strlen(reason), clean, sizeof(clean), 0);
		sw_escape(clean, why, sizeof(why));
		printf("%-7ld %-15s %7d  %-40s  %s\n", pid, comm, st.threads, exe, why);
	}
	closedir(d);
	if (n_host_wide) {
		char esc[SW_ESCAPE_SIZE(512)];

		sw_escape(host_wide, esc, sizeof(esc));
		printf("every process (host-wide, bpf): rule%s %s\n", n_host_wide > 1 ? "s" : "",
		       esc);
	}
	fflush(stdout);
	return rows;
}

/* ---- options ------------------------------------------------------------------------- */

static int parse_args(struct watch_options *o, int argc, char **argv)
{
	enum { OPT_DRY_RUN = 0x300, OPT_MAX_TARGETS, OPT_RECHECK };
	static const struct option long_options[] = {
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "max-targets", required_argument, NULL, OPT_MAX_TARGETS },
		{ "recheck", required_argument, NULL, OPT_RECHECK },
		CLI_TRACE_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":e:m:o:h", long_options, NULL)) != -1) {
		int shared;

		/* --summary is attach's and run's: a daemon has no end to summarise at */
		if (c == CLI_OPT_SUMMARY) {
			cli_error("watch: --summary is not for a daemon (see `stallwatch watch "
				  "--help`)");
			return -EINVAL;
		}
		shared = cli_parse_trace_option(&o->trace, c, optarg);
		if (shared < 0)
			return -EINVAL;
		if (shared > 0) {
			if (c == 'm')
				cli_note_min_duration(&o->trace, argc, argv);
			continue;
		}
		switch (c) {
		case OPT_DRY_RUN:
			o->dry_run = true;
			break;
		case OPT_MAX_TARGETS: {
			char *end;
			unsigned long long v;

			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || v > 1000000) {
				cli_error("watch: --max-targets `%s`: a number of processes, 0 (no "
					  "limit) to 1000000",
					  optarg);
				return -EINVAL;
			}
			o->max_targets = (size_t)v;
			break;
		}
		case OPT_RECHECK: {
			struct sw_error err = {};

			if (duration_parse(optarg, &o->recheck_ns, &err) < 0 ||
			    o->recheck_ns < 100 * NSEC_PER_MSEC ||
			    o->recheck_ns > 3600 * NSEC_PER_SEC) {
				cli_error("watch: --recheck `%s`: %s", optarg,
					  err.msg[0] ? err.msg : "must be between 100ms and 1h");
				return -EINVAL;
			}
			break;
		}
		case 'h':
			fputs(watch_usage, stdout);
			return 1;
		case ':':
			cli_error(
				"watch: option `%s` needs a value (see `stallwatch watch --help`)",
				argv[optind - 1]);
			return -EINVAL;
		default:
			cli_error("watch: bad option `%s` (see `stallwatch watch --help`)",
				  argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (o->trace.backend == TRACER_BACKEND_NOTIFY) {
		cli_error("watch: --backend=notify cannot serve a daemon: a seccomp filter cannot "
			  "be put into a process that is already running; use --backend=bpf or "
			  "--backend=ptrace");
		return -EINVAL;
	}
	for (int i = optind; i < argc; i++)
		if (cli_check_min_duration_unit(&o->trace, argv[i], "watch") < 0)
			return -EINVAL;
	if (optind < argc) {
		cli_error("watch: unexpected argument `%s` (who is watched comes from the policy's "
			  "targets)",
			  argv[optind]);
		return -EINVAL;
	}
	if (o->dry_run && cli_fd_was_closed(STDOUT_FILENO)) {
		cli_error("watch: stdout is closed and the --dry-run list would go there");
		return -EINVAL;
	}
	if (!o->dry_run && cli_check_record_stream(&o->trace, STDOUT_FILENO, "watch") < 0)
		return -EINVAL;
	if (!o->trace.watch_given)
		syscall_set_fill_all(&o->trace.watch);
	return 0;
}

int cli_watch(int argc, char **argv)
{
	_cleanup_(watch_options_freep) struct watch_options *o = calloc(1, sizeof(*o));
	struct watch_ctx ctx = {};
	struct tracer_watch_options topts = {
		.select = watch_select,
		.attached = watch_attached,
		.released = watch_released,
		.failed = watch_failed,
		.tick = watch_tick,
		.tick_waker = watch_tick_waker,
		.ready = watch_ready,
		.reload_build = watch_policy_build,
		.reload_done = watch_policy_adopt,
		.backend_chosen = watch_backend_chosen,
		.warn = watch_warn,
		.recheck_ns = WATCH_RECHECK_NS,
	};
	struct tracer_watch_stats stats = {};
	struct record_watch_status last_ws;
	struct metrics_watch last_mw;
	struct tracer_result result = {};
	struct recorder recorder;
	struct output_stats ostats;
	struct sw_error err = {};
	sigset_t caller_mask, early;
	size_t n_host_wide;
	bool targets;
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
	o->max_targets = WATCH_MAX_TARGETS_DEFAULT;
	o->recheck_ns = WATCH_RECHECK_NS;
	r = parse_args(o, argc, argv);
	if (r != 0)
		return r > 0 ? 0 : EXIT_USAGE;
	r = cli_policy_load(&o->policy, &o->trace);
	if (r < 0)
		return r == -EINVAL ? EXIT_USAGE : 1;
	r = policy_scope_for_watch(o->policy.current, ctx.unapplied_rules,
				   sizeof(ctx.unapplied_rules));
	if (r < 0) {
		cli_error("out of memory");
		return 1;
	}
	/* not for the built-in default, whose catch-all is meant for targets: said in --help */
	if (r > 0 && o->trace.n_policy_files)
		cli_error("watch: warning: rule%s %s name%s no syscalls and no rule names a "
			  "target: not applied (on every process a catch-all would time every "
			  "call of the host; give it `syscalls` or `targets`)",
			  r > 1 ? "s" : "", ctx.unapplied_rules, r > 1 ? "" : "s");

	targets = policy_has_watch_targets(o->policy.current);
	n_host_wide = policy_host_wide_rules(o->policy.current, ctx.host_wide_rules,
					     sizeof(ctx.host_wide_rules));
	if (!targets && !n_host_wide) {
		cli_error("watch: nothing to watch: no enabled rule names a target, and no rule "
			  "applies to every process (give rules `targets`, doc/policy.md)");
		return EXIT_USAGE;
	}
	if (n_host_wide && o->trace.backend == TRACER_BACKEND_PTRACE) {
		cli_error("watch: host-wide rules need --backend=bpf (ptrace cannot watch every "
			  "process): %s; give them `targets`, or use --backend=bpf",
			  ctx.host_wide_rules);
		return EXIT_USAGE;
	}
	if (o->dry_run) {
		dry_run(o, ctx.host_wide_rules, n_host_wide);
		return 0;
	}

	r = cli_recorder_init(&recorder, &o->trace, STDOUT_FILENO, "watch");
	if (r < 0)
		return 1;
	ctx.o = o;
	ctx.recorder = &recorder;
	ctx.host_wide = n_host_wide > 0;
	ctx.start_ns = ctx.last_status_ns = sw_mono_ns();
	/* systemd's Type=notify: never fatal, the daemon works without it */
	if (sdnotify_open(&ctx.notify, getenv("NOTIFY_SOCKET"), &err) < 0) {
		cli_print_error(&err);
		sw_error_clear(&err);
	}
	r = scanworker_start(&ctx.scans,
			     &(struct scanworker_options){ .thresholds = &o->policy.current->scan },
			     &err);
	if (r < 0) {
		cli_print_error(&err);
		recorder_done(&recorder, NULL);
		return 1;
	}
	topts.opaque = &ctx;
	topts.reload_opaque = &ctx;
	topts.policy = o->policy.current;
	topts.recorder = &recorder;
	topts.max_targets = o->max_targets;
	topts.recheck_ns = o->recheck_ns;
	/* watch_policy_adopt() keeps it up to date: the tracer reads it at each recheck */
	topts.recheck_all = policy_has_cgroup_targets(o->policy.current);
	ctx.topts = &topts;
	topts.host_wide = ctx.host_wide;
	/*
	 * auto with host-wide rules alone: ptrace would watch nothing, so bpf is
	 * the only choice and its failure the error (exit 1)
	 */
	topts.backend = o->trace.backend == TRACER_BACKEND_AUTO && !targets ? TRACER_BACKEND_BPF :
									      o->trace.backend;
	r = tracer_watch(&topts, &result, &stats, &err);
	/* the tracer's loop is gone: no wake_tick any more, whatever the tracer did */
	scanworker_set_waker(ctx.scans, NULL, NULL);
	sdnotify_send(&ctx.notify, "STOPPING=1", NULL);
	/* the last numbers (a watch-status record at the end too), before the stop frees the scans */
	if (r == 0)
		watch_self(&ctx, &stats, &last_ws, &last_mw);
	scanworker_stop(ctx.scans);
	ctx.scans = NULL;
	if (r == 0) {
		recorder_watch_metrics(&recorder, &last_mw);
		recorder_watch_status(&recorder, &last_ws);
	}
	recorder_done(&recorder, &ostats);
	sdnotify_done(&ctx.notify);
	cli_report_dropped(&ostats);
	cli_report_rate_limited(&result.stats);
	if (r < 0) {
		if (!targets && topts.backend == TRACER_BACKEND_BPF &&
		    o->trace.backend == TRACER_BACKEND_AUTO)
			sw_error_prefix(&err, "watch: host-wide rules (%s) need bpf",
					ctx.host_wide_rules);
		cli_print_error(&err);
		return 1;
	}
	return 0;
}
