/* SPDX-License-Identifier: MIT */
/*
 * main.c - `stallwatch COMMAND ...`: the subcommand table (crun's
 * commands[] shape). Each subcommand lives in its own file under cli/.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "run", cli_run, "wrap a command; seccomp prefilter; follows all children" },
	{ "attach", cli_attach, "attach to running processes (all threads)" },
	{ "scan", cli_scan, "host scan: memcgs, memory.stat timing, dentries, slab" },
	{ "validate", cli_validate, "check policy files, do nothing else" },
	{ "watch", cli_watch, "daemon: policy-selected targets + scheduled scans" },
};

static const char main_usage[] =
	"USAGE: stallwatch COMMAND [OPTIONS] [ARGS]\n"
	"\n"
	"Syscall-stall watchdog: times the syscalls of chosen processes and writes one\n"
	"JSON record per slow or stuck call.\n"
	"\n"
	"Commands:\n"
	"  run      [OPTIONS] -- COMMAND [ARG...]   wrap a command; seccomp prefilter; follows\n"
	"                                           all children\n"
	"  attach   [OPTIONS] -p PID [-p PID...]    attach to running processes (all threads)\n"
	"  attach   [OPTIONS] --name COMM | --exe GLOB | --cgroup PATH\n"
	"  scan     [--interval DUR] [--count N] [--state FILE]\n"
	"                                           host scan: memcgs, memory.stat timing,\n"
	"                                           dentries, slab\n"
	"  watch    [--policy FILE]... [OPTIONS]    daemon: policy-selected targets +\n"
	"                                           scheduled scans\n"
	"  validate [--json] FILE...                check policy files, do nothing else\n"
	"\n"
	"  stallwatch COMMAND --help    options of one command\n"
	"  stallwatch --version\n"
	"\n"
	"EXAMPLES:\n"
	"  stallwatch run -- ./metrics-agent\n"
	"  stallwatch run -m 50ms -e read,openat -o /tmp/stalls.json -- cadvisor\n"
	"\n"
	"See stallwatch(8) and doc/schema.md for the record format.\n";

/*
 * Descriptors 0-2 must be open before we open anything (strace: the
 * core_pattern case), or -o FILE could land on fd 1. Placeholders are
 * CLOEXEC so the command still sees them closed, as the caller left them.
 */
static void ensure_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int n = open("/dev/null", O_RDWR);

		if (n >= 0 && n != fd) {
			close(n);
			continue;
		}
		if (n == fd)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
}

int main(int argc, char **argv)
{
	ensure_std_fds();
	if (argc < 2) {
		fputs(main_usage, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(main_usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("stallwatch %s (record schema 1)\n", SW_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	cli_error("unknown command `%s` (try `stallwatch --help`)", argv[1]);
	return EXIT_USAGE;
}
