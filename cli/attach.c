/* SPDX-License-Identifier: MIT */
/*
 * attach.c - `stallwatch attach [OPTIONS] -p PID [-p PID...] | --name COMM |
 * --exe GLOB | --cgroup PATH`: one options struct, targets resolved here,
 * the tracing itself in tracer_attach().
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/comm.h"
#include "../common/escape.h"
#include "../common/macro.h"
#include "../common/utf8.h"
#include "../policy/policy.h"
#include "../tracer/attach.h"
#include "../tracer/procinfo.h"
#include "../tracer/tracer.h"
#include "cli.h"

#define MAX_PIDS 4096

struct attach_options {
	struct cli_trace_options trace;
	pid_t pids[MAX_PIDS];
	size_t n_pids;
	size_t n_given; /* pids[0..n_given) came from -p, the rest from the selectors */
	struct attach_query query;
	bool follow_forks;
	bool dry_run;
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
	"                         [--rate-limit N] [--summary] [-f] [--dry-run]\n"
	"                         [--backend auto|bpf|ptrace]\n"
	"                         -p PID [-p PID...] | --name COMM | --exe GLOB | --cgroup PATH\n"
	"\n"
	"Attach to running processes, every thread, and report their slow and stuck\n"
	"syscalls until SIGINT/SIGTERM (then detach cleanly) or until they all exit.\n"
	"Under bpf (the default where the kernel allows it) calls are timed in the\n"
	"kernel and nothing stops; under ptrace every syscall of the targets stops\n"
	"(costlier than `run`). Either way the targets are left as they were.\n"
	"\n"
	"  -p, --pid=PID           attach to PID (repeatable)\n"
	"      --name=COMM         every process whose comm is COMM (or matches the glob);\n"
	"                          the kernel keeps 15 characters of a comm\n"
	"      --exe=GLOB          every process whose executable matches GLOB\n"
	"      --cgroup=PATH       every process in cgroup PATH or below it\n"
	"      --dry-run           list what would be watched (pid, threads, comm, exe,\n"
	"                          the options that chose it) on stdout, attach nothing,\n"
	"                          exit 0\n"
	"  -f, --follow-forks      also trace children created after the attach\n"
	"  -e, --trace=SET         syscalls to report, strace syntax (see `run --help`)\n"
	"  -m, --min-duration=DUR  report calls taking at least DUR. Default: 10ms\n"
	"      --policy=FILE       policy file (repeatable, doc/policy.md). Without it,\n"
	"                          -e or -m: the built-in default, which reports any\n"
	"                          call >= 100 ms but waits (epoll, futex waits, sleeps,\n"
	"                          pipe and socket reads: %wait), so a daemon's idling\n"
	"                          is never reported. -e/-m replace that catch-all with\n"
	"                          their own rule, waits included.\n"
	"                          SIGHUP reloads it without detaching\n"
	"      --no-default-policy without --policy: only the -e/-m rule\n"
	"      --summary           at detach (and on SIGUSR2): per syscall calls, errors,\n"
	"                          total/min/avg/max/p99 wall time of every watched call\n"
	"  -o, --output=FILE       append records to FILE (0600). Default: stdout\n"
	"      --format=json|text  default json; text when the output is a terminal\n" CLI_SINK_OPTIONS_HELP
	"      --backend=NAME      auto (the default): bpf where the kernel allows it,\n"
	"                          else ptrace, with one stderr line saying why. bpf:\n"
	"                          times calls in the kernel, stops nothing (root, or\n"
	"                          CAP_BPF and CAP_PERFMON). ptrace: stops every call\n"
	"                          of the targets. notify is for run only: a seccomp\n"
	"                          filter cannot be put into a running process\n"
	"  -h, --help              this text\n"
	"\n"
	"--name, --exe and --cgroup never choose stallwatch (this one or another), its\n"
	"ancestors, a process already traced (TracerPid), a tracer (strace, ltrace,\n"
	"gdb, gdbserver, bpftrace, perf), a kernel thread, or a process whose\n"
	"/proc/PID/exe this user cannot read (another user's); one stderr line counts\n"
	"what they left out and why:\n"
	"  stallwatch: attach: left out 2 matching processes: 1 stallwatch, 1 tracer (strace)\n"
	"A pid given with -p is always tried.\n"
	"\n"
	"Once every thread of a process is seized, stderr says:\n"
	"  stallwatch: attached PID (COMM) with N threads\n"
	"A process is attached whole or not at all: one with a thread that another\n"
	"tracer holds (strace -p TID) is refused and left exactly as it was:\n"
	"  stallwatch: attach PID (COMM): thread TID is already traced by pid N (strace); not attached\n"
	"The first call seen after the attach may have started before it; its record\n"
	"has stallwatch.partial: true and its duration is a lower bound.\n"
	"\n"
	"Exit status: 0 after a clean detach or when every target exited, and after\n"
	"--dry-run; 1 if nothing could be attached (no process matches, all were left\n"
	"out, a kernel thread) or stallwatch failed; 2 usage error (a --name longer than\n"
	"15 characters) or invalid policy.\n"
	"\n"
	"SIGKILL of stallwatch leaves the targets running. Like strace -p, the attach\n"
	"and the detach may make a blocked epoll_wait, rt_sigtimedwait or semtimedop\n"
	"return EINTR (a kernel limitation); nanosleep, poll, read, futex and the like\n"
	"are restarted.\n"
	"\n"
	"EXAMPLES:\n"
	"  stallwatch attach -p $(pidof cadvisor) -m 50ms\n"
	"  stallwatch attach --cgroup /system.slice/kafka.service --dry-run\n"
	"  stallwatch attach --name kubelet -e read,openat,inotify_add_watch -m 10ms\n"
	"  stallwatch attach --cgroup /system.slice/kafka.service -f -o /var/log/stalls.json\n";

static void attach_warn(void *opaque, const char *line)
{
	cli_print_escaped(stderr, "stallwatch: warning: ", line);
}

/* auto fell back to ptrace: one line, before the attach lines */
static void attach_backend_chosen(void *opaque, const struct tracer_result *res)
{
	(void)opaque;
	cli_say_fallback(res);
}

static void attach_ready(void *opaque, pid_t pid, const char *comm, int threads)
{
	char esc[SW_ESCAPE_SIZE(64)]; /* the comm is the target's: escaped */

	/* scripts and tests wait for this line (stallwatch(8), ATTACH) */
	fprintf(stderr, "stallwatch: attached %d (%s) with %d threads\n", pid,
		sw_escape(comm, esc, sizeof(esc)), threads);
}

static void attach_failed(void *opaque, const struct sw_error *err)
{
	/* the message already says why (no such process, traced by, ...) */
	cli_error("%s", err->msg);
}

/* ---- what the selectors left out, one line -------------------------------------------- */

#define LIST_MAX 4 /* distinct pids, uids or names shown in a clause, sorted; "..." after */
#define LIST_CAP 64 /* distinct values kept to sort */

/* Add v to a list of distinct values (LIST_CAP at most). */
static void distinct_add(long *list, size_t *n, long v)
{
	for (size_t i = 0; i < *n; i++)
		if (list[i] == v)
			return;
	if (*n < LIST_CAP)
		list[(*n)++] = v;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "0, 104" (sorted, LIST_MAX at most, then ", ...") */
static void print_longs(FILE *f, long *list, size_t n)
{
	qsort(list, n, sizeof(*list), cmp_long);
	for (size_t i = 0; i < n && i < LIST_MAX; i++)
		fprintf(f, "%s%ld", i ? ", " : "", list[i]);
	if (n > LIST_MAX)
		fputs(", ...", f);
}

/* "owned by uid 0, 104; NEEDS" for processes whose /proc/PID/exe is unreadable */
static void print_owners(FILE *f, const struct attach_selection *s, enum attach_verdict v,
			 const char *needs)
{
	long uids[LIST_CAP] = {};
	size_t n = 0;
	bool own = false;

	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].verdict != v)
			continue;
		if (s->v[i].uid == geteuid())
			own = true;
		else
			distinct_add(uids, &n, (long)s->v[i].uid);
	}
	if (n) {
		fputs("owned by uid ", f);
		print_longs(f, uids, n);
	}
	/* our own uid but /proc/PID/exe unreadable: it made itself non-dumpable */
	if (own)
		fprintf(f, "%snot dumpable", n ? ", " : "");
	fprintf(f, "; %s needs root or CAP_SYS_PTRACE", needs);
}

static size_t count_verdict(const struct attach_selection *s, enum attach_verdict v)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->v[i].verdict == v;
	return n;
}

/* The clause of one reason, e.g. "1 already traced (by pid 77)"; nothing if none. */
static void print_clause(FILE *f, const struct attach_selection *s, enum attach_verdict v,
			 bool *first)
{
	size_t n = count_verdict(s, v);
	const char *sep = *first ? "" : ", ";

	if (!n)
		return;
	*first = false;
	switch (v) {
	case ATTACH_LEFT_STALLWATCH:
		fprintf(f, "%s%zu stallwatch", sep, n);
		break;
	case ATTACH_LEFT_ANCESTOR:
		fprintf(f, "%s%zu ancestor%s of stallwatch", sep, n, n > 1 ? "s" : "");
		break;
	case ATTACH_LEFT_KTHREAD:
		fprintf(f, "%s%zu kernel thread%s", sep, n, n > 1 ? "s" : "");
		break;
	case ATTACH_LEFT_TRACER: {
		const char *names[LIST_CAP] = {};
		size_t k = 0;

		for (size_t i = 0; i < s->n; i++) {
			bool seen = false;

			if (s->v[i].verdict != v)
				continue;
			for (size_t j = 0; j < k && !seen; j++)
				seen = strcmp(names[j], s->v[i].comm) == 0;
			if (!seen && k < LIST_CAP)
				names[k++] = s->v[i].comm;
		}
		qsort(names, k, sizeof(*names), cmp_str);
		fprintf(f, "%s%zu tracer%s (", sep, n, n > 1 ? "s" : "");
		for (size_t j = 0; j < k && j < LIST_MAX; j++)
			fprintf(f, "%s%s", j ? ", " : "", names[j]);
		fputs(k > LIST_MAX ? ", ...)" : ")", f);
		break;
	}
	case ATTACH_LEFT_TRACED: {
		long pids[LIST_CAP] = {};
		size_t k = 0;

		for (size_t i = 0; i < s->n; i++)
			if (s->v[i].verdict == v)
				distinct_add(pids, &k, (long)s->v[i].tracer_pid);
		fprintf(f, "%s%zu already traced (by pid%s ", sep, n, k > 1 ? "s" : "");
		print_longs(f, pids, k);
		fputc(')', f);
		break;
	}
	case ATTACH_LEFT_HIDDEN: {
		const struct attach_candidate *c = NULL;

		for (size_t i = 0; i < s->n && !c; i++)
			if (s->v[i].verdict == v)
				c = &s->v[i];
		/* every candidate matched the same criteria: those that are readable */
		fprintf(f, "%s%zu matched by %s%s%s but could not be inspected (", sep, n,
			c->by_name ? "name" : "", c->by_name && c->by_cgroup ? " and " : "",
			c->by_cgroup ? "cgroup" : "");
		print_owners(f, s, v, "attaching");
		fputc(')', f);
		break;
	}
	default:
		break;
	}
}

/*
 * One line on stderr about what the selectors left out; returns false when
 * nothing is left to attach (the line then says so). have_pids: -p pids too.
 */
static bool report_selection(const struct attach_selection *s, int selected, bool have_pids)
{
	static const enum attach_verdict order[] = {
		ATTACH_LEFT_STALLWATCH, ATTACH_LEFT_ANCESTOR, ATTACH_LEFT_TRACER,
		ATTACH_LEFT_TRACED,	ATTACH_LEFT_HIDDEN,   ATTACH_LEFT_KTHREAD,
	};
	_cleanup_free_ char *line = NULL;
	size_t left = 0, unchecked = count_verdict(s, ATTACH_UNCHECKED), size = 0;
	bool first = true, none = selected == 0 && !have_pids;
	FILE *f;

	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		left += count_verdict(s, order[i]);
	if (!left && !unchecked && !none)
		return true;
	f = open_memstream(&line, &size);
	if (!f) {
		cli_error("out of memory");
		return !none;
	}
	fputs("attach: ", f);
	if (none && !left)
		fputs("no process matches the selection", f);
	else if (left) {
		fprintf(f, "%sleft out %zu matching process%s: ", none ? "nothing to attach: " : "",
			left, left > 1 ? "es" : "");
		for (size_t i = 0; i < ARRAY_SIZE(order); i++)
			print_clause(f, s, order[i], &first);
	}
	if (unchecked) {
		fprintf(f, "%s%zu process%s could not be checked against --exe (",
			left || none ? "; " : "", unchecked, unchecked > 1 ? "es" : "");
		print_owners(f, s, ATTACH_UNCHECKED, "reading /proc/PID/exe");
		fputc(')', f);
	}
	fclose(f);
	cli_print_escaped(stderr, "stallwatch: ", line ? line : "attach: out of memory");
	return !none;
}

/* ---- --dry-run ----------------------------------------------------------------------- */

struct dry_row {
	pid_t pid;
	int threads;
	char comm[64];
	char exe[PROCINFO_PATH_MAX];
	char matched[512];
};

static const struct attach_candidate *find_candidate(const struct attach_selection *s, pid_t pid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].pid == pid)
			return &s->v[i];
	return NULL;
}

/* Append ", TEXT" (or "TEXT" first) to a MATCHED cell. */
static _printf_(3, 4) void matched_add(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len && len + 2 < size) {
		memcpy(buf + len, ", ", 3);
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

static void dry_row_fill(struct dry_row *row, const struct attach_candidate *c, bool given,
			 const struct attach_candidate *sel)
{
	row->pid = c->pid;
	row->threads = c->threads;
	sw_utf8_sanitize(c->comm, strlen(c->comm), row->comm, sizeof(row->comm), 0);
	sw_utf8_sanitize(c->exe, strlen(c->exe), row->exe, sizeof(row->exe), 0);
	row->matched[0] = 0;
	if (given)
		matched_add(row->matched, sizeof(row->matched), "-p");
	if (!sel || sel->verdict != ATTACH_SELECTED)
		return;
	if (sel->by_name)
		matched_add(row->matched, sizeof(row->matched), "--name");
	if (sel->by_exe)
		matched_add(row->matched, sizeof(row->matched), "--exe");
	if (sel->by_cgroup)
		matched_add(row->matched, sizeof(row->matched), "--cgroup %s", sel->cgroup);
}

/*
 * List what attach would watch, on stdout: one row per process (pid,
 * threads, comm, exe, the options that chose it). A -p pid that attach
 * would refuse or fail on gets its error line on stderr instead.
 */
static void dry_run(const struct attach_options *o, const struct attach_selection *s)
{
	_cleanup_free_ struct dry_row *rows = calloc(o->n_pids ? o->n_pids : 1, sizeof(*rows));
	size_t n = 0;
	int exe_width = 3;

	if (!rows) {
		cli_error("out of memory");
		return;
	}
	for (size_t i = 0; i < o->n_pids; i++) {
		bool given = i < o->n_given;
		const struct attach_candidate *sel = find_candidate(s, o->pids[i]);
		struct attach_candidate c;
		struct sw_error err = {};
		char comm[64];

		if (given) {
			/* the same line as attach_failed() would print */
			if (attach_check_target(o->pids[i], comm, sizeof(comm), &err) < 0) {
				cli_error("%s", err.msg);
				continue;
			}
			if (attach_inspect(o->pids[i], &c) < 0 || c.tracer_pid ||
			    c.exe_errno == EACCES || c.exe_errno == EPERM ||
			    attach_check_threads(o->pids[i], NULL) < 0) {
				attach_explain(o->pids[i], &err);
				cli_error("%s", err.msg);
				attach_candidate_done(&c);
				continue;
			}
			dry_row_fill(&rows[n++], &c, true, sel);
			attach_candidate_done(&c);
		} else if (sel)
			dry_row_fill(&rows[n++], sel, false, sel);
	}
	for (size_t i = 0; i < n; i++) {
		int w = (int)strlen(rows[i].exe);

		if (w > exe_width)
			exe_width = w < 48 ? w : 48;
	}
	printf("%-7s %7s  %-15s  %-*s  %s\n", "PID", "THREADS", "COMM", exe_width, "EXE",
	       "MATCHED");
	for (size_t i = 0; i < n; i++) {
		char comm[SW_ESCAPE_SIZE(sizeof(rows[i].comm))];
		char exe[SW_ESCAPE_SIZE(sizeof(rows[i].exe))];
		char matched[SW_ESCAPE_SIZE(sizeof(rows[i].matched))];

		/* the comm and exe are the process's, cgroup paths the host's: escaped */
		printf("%-7d %7d  %-15s  %-*s  %s\n", rows[i].pid, rows[i].threads,
		       sw_escape(rows[i].comm, comm, sizeof(comm)), exe_width,
		       sw_escape(rows[i].exe, exe, sizeof(exe)),
		       sw_escape(rows[i].matched, matched, sizeof(matched)));
	}
	fflush(stdout);
}

static int parse_pid(const char *arg, pid_t *ret)
{
	char *end;
	long v;

	/* digits only: strtol() alone takes " 5" and "+5" but not "5 " */
	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || !*arg || strspn(arg, "0123456789") != strlen(arg) || *end || v <= 0 ||
	    v > 0x3fffffff) {
		cli_error("attach: -p `%s`: not a process id", arg);
		return -EINVAL;
	}
	*ret = (pid_t)v;
	return 0;
}

/*
 * An empty selector, or one of whitespace alone, is a usage error: `--cgroup
 * ''` once selected every process on the host (the supervisor's too).
 */
static bool selector_blank(const char *option, const char *value)
{
	if (!*value)
		cli_error("attach: %s must not be empty", option);
	else if (!value[strspn(value, " \t\n\v\f\r")])
		cli_error("attach: %s must not be only whitespace", option);
	else
		return false;
	return true;
}

static int parse_args(struct attach_options *o, int argc, char **argv)
{
	enum { OPT_NAME = 256, OPT_EXE, OPT_CGROUP, OPT_DRY_RUN };
	static const struct option long_options[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "exe", required_argument, NULL, OPT_EXE },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "follow-forks", no_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
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
		if (shared > 0) {
			if (c == 'm')
				cli_note_min_duration(&o->trace, argc, argv);
			continue;
		}
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
		case OPT_NAME: {
			char hint[512];

			if (selector_blank("--name", optarg))
				return -EINVAL;
			if (sw_comm_never_matches(optarg, hint, sizeof(hint))) {
				cli_error("attach: --name %s", hint);
				return -EINVAL;
			}
			o->query.name = optarg;
			break;
		}
		case OPT_EXE:
			if (selector_blank("--exe", optarg))
				return -EINVAL;
			o->query.exe = optarg;
			break;
		case OPT_CGROUP:
			if (selector_blank("--cgroup", optarg))
				return -EINVAL;
			o->query.cgroup = optarg;
			break;
		case 'f':
			o->follow_forks = true;
			break;
		case OPT_DRY_RUN:
			o->dry_run = true;
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
	if (cli_check_backend(&o->trace, "attach") < 0)
		return -EINVAL;
	for (int i = optind; i < argc; i++)
		if (cli_check_min_duration_unit(&o->trace, argv[i], "attach") < 0)
			return -EINVAL;
	if (optind < argc) {
		cli_error("attach: unexpected argument `%s` (use -p PID)", argv[optind]);
		return -EINVAL;
	}
	if (!o->n_pids && !o->query.name && !o->query.exe && !o->query.cgroup) {
		cli_error("attach: no target (use -p PID, --name, --exe or --cgroup)");
		return -EINVAL;
	}
	/* records (or the list) go to stdout: a closed one would take them to /dev/null, silently */
	if (o->dry_run && cli_fd_was_closed(STDOUT_FILENO)) {
		cli_error("attach: stdout is closed and the --dry-run list would go there");
		return -EINVAL;
	}
	if (!o->dry_run && cli_check_record_stream(&o->trace, STDOUT_FILENO, "attach") < 0)
		return -EINVAL;
	if (!o->trace.watch_given)
		syscall_set_fill_all(&o->trace.watch);
	o->n_given = o->n_pids;
	return 0;
}

int cli_attach(int argc, char **argv)
{
	_cleanup_(attach_options_freep) struct attach_options *o = calloc(1, sizeof(*o));
	_cleanup_(attach_selection_done) struct attach_selection sel = {};
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
		r = attach_select(&o->query, &sel, &err);
		if (r < 0) {
			cli_print_error(&err);
			return 1;
		}
		for (size_t i = 0; i < sel.n; i++) {
			bool dup = false;

			if (sel.v[i].verdict != ATTACH_SELECTED)
				continue;
			for (size_t j = 0; j < o->n_pids && !dup; j++)
				dup = o->pids[j] == sel.v[i].pid;
			if (dup)
				continue;
			if (o->n_pids == MAX_PIDS) {
				cli_error(
					"attach: warning: more than %d processes selected; the others "
					"are left out",
					MAX_PIDS);
				break;
			}
			o->pids[o->n_pids++] = sel.v[i].pid;
		}
		/* stallwatch.8 EXIT STATUS: 1 if nothing could be attached; a dry run exits 0 */
		if (!report_selection(&sel, r, o->n_given > 0) && !o->dry_run)
			return 1;
	}
	if (o->dry_run) {
		dry_run(o, &sel);
		return 0;
	}

	r = cli_recorder_init(&recorder, &o->trace, STDOUT_FILENO, "attach");
	if (r < 0)
		return 1;
	topts.pids = o->pids;
	topts.n_pids = o->n_pids;
	topts.follow_forks = o->follow_forks;
	topts.backend = o->trace.backend;
	topts.backend_chosen = attach_backend_chosen;
	topts.policy = o->policy.current;
	topts.reload_build = cli_policy_build;
	topts.reload_done = cli_policy_adopt;
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
