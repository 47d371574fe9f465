/* SPDX-License-Identifier: MIT */
/*
 * run.c - `stallwatch run [OPTIONS] -- COMMAND [ARG...]`.
 * Parses options into one struct, resolves the command like execvp(3) so
 * "not found" (127) and "not executable" (126) are said before anything
 * runs, then hands over to tracer_run() and mirrors the command's status.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/macro.h"
#include "../policy/policy.h"
#include "../tracer/tracer.h"
#include "cli.h"

#define MAX_GROUPS 1024

struct run_options {
	struct cli_trace_options trace;
	const char *user;
	char **command;
};

static const char run_usage[] =
	"USAGE: stallwatch run [-e SET] [-m DUR] [--policy FILE]... [--no-default-policy]\n"
	"                      [-o FILE] [--format json|text] [--syslog] [--metrics-file FILE]\n"
	"                      [--rate-limit N] [--summary] [-u USER] [--backend NAME]\n"
	"                      -- COMMAND [ARG...]\n"
	"\n"
	"Run COMMAND under a syscall-stall watchdog: a seccomp filter picks the watched\n"
	"calls, ptrace (or seccomp user notification) sees them. Every thread and\n"
	"child is followed; a watched syscall that fires a policy rule yields one JSON\n"
	"record when it returns (slow-syscall) and, while it is still blocked, one the\n"
	"moment the rule's threshold passes (stuck-syscall). Records go to stderr\n"
	"unless -o is given.\n"
	"\n"
	"Stalls, not waits: with no --policy, -e or -m, the built-in default policy\n"
	"(doc/policy.md) reports any call of 100 ms or more except waits (epoll, futex\n"
	"waits, sleeps, reads of pipes and sockets: %wait), and its incident rules.\n"
	"-e or -m add the `command-line` rule, exactly what they say (waits included)\n"
	"in place of that catch-all. -e also limits what every rule watches.\n"
	"\n"
	"  -e, --trace=SET         syscalls to watch, strace syntax: names, %file %desc\n"
	"                          %net %process %memory %signal %ipc %creds %clock\n"
	"                          %wait (per call), /REGEX, !SET negates, ?NAME\n"
	"                          ignores unknown names. Repeatable (sets add up).\n"
	"                          Default: all, waits included\n"
	"  -m, --min-duration=DUR  report calls taking at least DUR (ns, us, ms, s;\n"
	"                          a bare number is ms). Default: 10ms\n"
	"      --policy=FILE       policy file (repeatable; later files override rules\n"
	"                          of the same name). SIGHUP reloads it\n"
	"      --no-default-policy without --policy: only the command-line rule\n"
	"  -o, --output=FILE       append records to FILE (created mode 0600)\n"
	"      --format=json|text  json (default) or one human line per record;\n"
	"                          text is the default when the output is a terminal\n" CLI_SINK_OPTIONS_HELP
	"      --summary           at exit (and on SIGUSR2): per syscall calls, errors,\n"
	"                          total/min/avg/max/p99 wall time of every watched call\n"
	"  -u, --user=USER         run COMMAND as USER (uid, gid and groups)\n"
	"      --backend=NAME      how calls are seen: bpf (timed in the kernel,\n"
	"                          nothing stopped; root, or CAP_BPF and CAP_PERFMON;\n"
	"                          if stallwatch dies COMMAND runs on, unwatched),\n"
	"                          ptrace (stops each watched call at entry and exit:\n"
	"                          exact durations, return values; COMMAND dies with\n"
	"                          stallwatch), notify (seccomp user notification, no\n"
	"                          ptrace: COMMAND may itself run strace or gdb;\n"
	"                          entries only, so a duration is bracketed and the\n"
	"                          return value unknown) or auto (default): bpf where\n"
	"                          the kernel allows it, else ptrace, else notify,\n"
	"                          with one stderr line saying why\n"
	"  -h, --help              this text\n"
	"\n"
	"Exit status: COMMAND's own; if it died by a signal, stallwatch dies by the\n"
	"same signal (core dumps off). 127 command not found, 126 not executable,\n"
	"2 usage error or invalid policy, 125 stallwatch itself failed.\n"
	"\n"
	"Killing stallwatch (SIGKILL) kills COMMAND: under the seccomp filter its\n"
	"watched syscalls could not run without stallwatch (notify: COMMAND's own\n"
	"children live on, and their watched calls fail with ENOSYS). `kill PID` of\n"
	"stallwatch is forwarded to COMMAND once; Ctrl-C reaches COMMAND once, from the\n"
	"terminal.\n"
	"\n"
	"EXAMPLES:\n"
	"  stallwatch run -- ./agent                  # stalls: any call >= 100 ms but waits\n"
	"  stallwatch run -m 10ms -- make -j2         # every syscall >= 10 ms, waits too\n"
	"  stallwatch run -e '!%wait' -m 20ms -- ./server  # calls >= 20 ms that are no wait\n"
	"  stallwatch run -m 50ms -e read,openat -- ./agent\n"
	"  stallwatch run -e %file -m 1ms -o /var/log/stallwatch.json -- find / -name x\n"
	"  stallwatch run -e '!%process' -- ./server  # all but process management\n"
	"  stallwatch run --policy /etc/stallwatch/default.json --policy site.json -- ./agent\n"
	"  stallwatch run -u nobody -- ./untrusted    # trace as root, run as nobody\n"
	"  stallwatch run --backend=notify -- strace -f ./agent  # a tracer inside\n";

static void tracer_warn(void *opaque, const char *line)
{
	cli_print_escaped(stderr, "stallwatch: warning: ", line);
}

/*
 * auto could not use bpf (or ptrace): one line, once (opaque: bool, said
 * already). The tracer calls it before the command runs; cli_run() once
 * more after.
 */
static void backend_chosen(void *opaque, const struct tracer_result *res)
{
	bool *said = opaque;

	if (*said || !res->fallback_reason[0] || res->backend_used == TRACER_BACKEND_AUTO)
		return;
	*said = true;
	cli_say_fallback(res);
}

/*
 * Find COMMAND like execvp(3). Returns 0 with the path, or the exit status
 * stallwatch(8) gives (127 not found, 126 found but not runnable).
 */
static int resolve_command(const char *name, char *ret_path, size_t size, int *ret_errno)
{
	const char *path_env = getenv("PATH");
	bool found_unrunnable = false;
	struct stat st;

	if (strchr(name, '/')) {
		if (stat(name, &st) < 0) {
			*ret_errno = errno;
			return errno == ENOENT || errno == ENOTDIR ? EXIT_RUN_NOTFOUND :
								     EXIT_RUN_NOEXEC;
		}
		if (S_ISDIR(st.st_mode)) {
			*ret_errno = EISDIR;
			return EXIT_RUN_NOEXEC;
		}
		if (access(name, X_OK) < 0) {
			*ret_errno = errno;
			return EXIT_RUN_NOEXEC;
		}
		snprintf(ret_path, size, "%s", name);
		return 0;
	}
	if (!path_env)
		path_env = "/usr/local/bin:/usr/bin:/bin";
	for (const char *dir = path_env; dir;) {
		const char *colon = strchr(dir, ':');
		size_t len = colon ? (size_t)(colon - dir) : strlen(dir);

		/* an empty PATH element means the current directory */
		snprintf(ret_path, size, "%.*s%s%s", (int)len, len ? dir : ".", "/", name);
		if (stat(ret_path, &st) == 0 && !S_ISDIR(st.st_mode)) {
			if (access(ret_path, X_OK) == 0)
				return 0;
			found_unrunnable = true;
		}
		dir = colon ? colon + 1 : NULL;
	}
	*ret_errno = found_unrunnable ? EACCES : ENOENT;
	return found_unrunnable ? EXIT_RUN_NOEXEC : EXIT_RUN_NOTFOUND;
}

/* Die the way the command died, so shells and make see WIFSIGNALED (doc/transparency.md, 24). */
static _Noreturn void mirror_signal(int sig)
{
	struct rlimit no_core = { 0, 0 };
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t set;

	/* never overwrite the command's core file with ours */
	setrlimit(RLIMIT_CORE, &no_core);
	sigaction(sig, &dfl, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	/* a signal that does not kill by default (e.g. SIGCHLD can't get here) */
	_exit(128 + sig);
}

static int parse_args(struct run_options *o, int argc, char **argv)
{
	static const struct option long_options[] = {
		CLI_TRACE_LONG_OPTIONS,
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	/* '+': stop at the command, so its own options are left alone; ':': we print errors */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:e:m:o:u:h", long_options, NULL)) != -1) {
		int shared = cli_parse_trace_option(&o->trace, c, optarg);

		if (shared < 0)
			return -EINVAL;
		if (shared > 0) {
			if (c == 'm')
				cli_note_min_duration(&o->trace, argc, argv);
			continue;
		}
		switch (c) {
		case 'u':
			o->user = optarg;
			break;
		case 'h':
			fputs(run_usage, stdout);
			return 1;
		case ':':
			cli_error("run: option `%s` needs a value (see `stallwatch run --help`)",
				  argv[optind - 1]);
			return -EINVAL;
		default:
			/* a long option's text says more than getopt's optopt */
			if (strncmp(argv[optind - 1], "--", 2) == 0 || !optopt)
				cli_error("run: bad option `%s` (see `stallwatch run --help`)",
					  argv[optind - 1]);
			else
				cli_error("run: unknown option `-%c` (see `stallwatch run --help`)",
					  optopt);
			return -EINVAL;
		}
	}
	if (cli_check_backend(&o->trace, "run") < 0)
		return -EINVAL;
	if (optind >= argc) {
		cli_error("run: no command given (stallwatch run [OPTIONS] -- COMMAND)");
		return -EINVAL;
	}
	/* "-m 10 ms -- cmd": getopt stopped at `ms`, before the `--` */
	for (int i = optind + 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			if (cli_check_min_duration_unit(&o->trace, argv[optind], "run") < 0)
				return -EINVAL;
			break;
		}
	/* records go to stderr: a closed one would take them to /dev/null, silently */
	if (cli_check_record_stream(&o->trace, STDERR_FILENO, "run") < 0)
		return -EINVAL;
	o->command = argv + optind;
	if (!o->trace.watch_given)
		syscall_set_fill_all(&o->trace.watch);
	return 0;
}

static void run_options_done(struct run_options *o)
{
	free(o->trace.policy_files);
}

int cli_run(int argc, char **argv)
{
	_cleanup_(run_options_done) struct run_options o = {};
	_cleanup_(cli_policy_done) struct cli_policy policy = {};
	struct tracer_run_options topts = { .warn = tracer_warn };
	struct tracer_result result = {};
	struct recorder recorder;
	struct output_stats ostats;
	struct sw_error err = {};
	char exec_path[PATH_MAX];
	gid_t groups[MAX_GROUPS];
	bool fallback_said = false;
	int r, exec_errno = 0;

	cli_trace_options_init(&o.trace);
	r = parse_args(&o, argc, argv);
	if (r != 0)
		return r > 0 ? 0 : EXIT_USAGE;

	r = resolve_command(o.command[0], exec_path, sizeof(exec_path), &exec_errno);
	/* "-m 10 ms cmd" without `--`: a command named like a unit that is not there */
	if (r == EXIT_RUN_NOTFOUND &&
	    cli_check_min_duration_unit(&o.trace, o.command[0], "run") < 0)
		return EXIT_USAGE;
	if (r != 0) {
		cli_error("%s: %s", o.command[0],
			  r == EXIT_RUN_NOTFOUND && !strchr(o.command[0], '/') ?
				  "command not found" :
				  strerror(exec_errno));
		return r;
	}

	if (o.user) {
		struct passwd *pw = getpwnam(o.user);
		int n_groups = MAX_GROUPS;

		if (!pw) {
			cli_error("-u `%s`: no such user", o.user);
			return EXIT_USAGE;
		}
		if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n_groups) < 0) {
			cli_error("-u `%s`: more than %d groups", o.user, MAX_GROUPS);
			return EXIT_RUN_INTERNAL;
		}
		topts.as_user = true;
		topts.uid = pw->pw_uid;
		topts.gid = pw->pw_gid;
		topts.groups = groups;
		topts.n_groups = n_groups;
	}

	/* an invalid policy is a usage error: said before anything runs */
	r = cli_policy_load(&policy, &o.trace);
	if (r < 0)
		return r == -EINVAL ? EXIT_USAGE : EXIT_RUN_INTERNAL;
	r = cli_recorder_init(&recorder, &o.trace, STDERR_FILENO, "run");
	if (r < 0)
		return EXIT_RUN_INTERNAL;

	topts.argv = o.command;
	topts.exec_path = exec_path;
	topts.policy = policy.current;
	topts.reload_build = cli_policy_build;
	topts.reload_done = cli_policy_adopt;
	topts.reload_opaque = &policy;
	topts.recorder = &recorder;
	topts.backend = o.trace.backend;
	topts.backend_chosen = backend_chosen;
	topts.backend_chosen_opaque = &fallback_said;
	if (o.trace.summary && !(topts.summary = summary_new())) {
		cli_error("out of memory");
		recorder_done(&recorder, NULL);
		return EXIT_RUN_INTERNAL;
	}
	r = tracer_run(&topts, &result, &err);
	backend_chosen(&fallback_said, &result);
	if (topts.summary) {
		summary_emit(topts.summary, &recorder);
		summary_free(topts.summary);
	}
	recorder_done(&recorder, &ostats);
	cli_report_dropped(&ostats);
	cli_report_rate_limited(&result.stats);
	if (r == -EPERM && o.trace.backend == TRACER_BACKEND_PTRACE) {
		/* ptrace refused (a seccomp filter, a container, Yama): say what works without it */
		cli_error("%s: %s; --backend=notify works without ptrace", err.msg,
			  strerror(EPERM));
		return EXIT_RUN_INTERNAL;
	}
	if (r < 0) {
		cli_print_error(&err);
		return EXIT_RUN_INTERNAL;
	}

	switch (result.outcome) {
	case TRACER_EXITED:
		return result.code;
	case TRACER_SIGNALED:
		fflush(NULL);
		mirror_signal(result.code);
	case TRACER_EXEC_FAILED:
	default:
		if (result.failed_stage == 1) {
			cli_error("cannot install the seccomp filter: %s", strerror(result.code));
			return EXIT_RUN_INTERNAL;
		}
		if (result.failed_stage == 2) {
			cli_error("-u `%s`: cannot change user: %s", o.user, strerror(result.code));
			return EXIT_RUN_INTERNAL;
		}
		if (result.failed_stage == 4) {
			cli_error(
				"--backend=notify: cannot hand the seccomp listener over or set the "
				"command's parent-death signal: %s",
				strerror(result.code));
			return EXIT_RUN_INTERNAL;
		}
		cli_error("%s: %s", o.command[0], strerror(result.code));
		return result.code == ENOENT ? EXIT_RUN_NOTFOUND : EXIT_RUN_NOEXEC;
	}
}
