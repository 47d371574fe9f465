/* SPDX-License-Identifier: MIT */
/*
 * hostcalls - calls whose records carry host context (stallwatch.host), each
 * with its own readings of the host files around it, for scan.sh.
 *
 *   hostcalls WAIT_MS HOLD_MS OUT STEP...
 *
 * Waits WAIT_MS first (stallwatch's first host sample), then runs each STEP:
 *   read:FILE    open FILE and read it to EOF with a 64 KiB buffer (as
 *                cadvisor reads memory.stat); the fd stays open until exit,
 *                so a record built after the call still finds its path
 *   neg:DIR:N    N stat(2)s of missing names in DIR: negative dentries
 *   inotify:DIR  inotify_add_watch(DIR, IN_CREATE | IN_DELETE): child
 *                events, the mask that walks DIR's child dentries
 *   udp          sendto + recvfrom of one datagram over loopback
 *   sleep:MS     a nanosleep of MS ms (the fds of the reads stay open: a
 *                backend that reads /proc for their paths has time to)
 * Around inotify and udp it reports its own readings, the first right
 * before the call and the second HOLD_MS after it (a backend may build the
 * record after the call returned):
 *   dentry before|after NR_DENTRY NR_NEGATIVE   (/proc/sys/fs/dentry-state)
 *   softnet before|after TIME_SQUEEZE DROPPED   (/proc/net/softnet_stat sums)
 *   psi before|after CPU MEMORY IO              (some avg10; "-" without PSI)
 * (dentry and psi around inotify, softnet and psi around udp).
 * Exits 0, or 1 when a step fails.
 */
#include "helper.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>

static char *slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = 0;
	return buf;
}

static void say_dentry(const char *when)
{
	char buf[256];
	unsigned long long tot, unused, age, want, neg;

	if (!slurp("/proc/sys/fs/dentry-state", buf, sizeof(buf)) ||
	    sscanf(buf, "%llu %llu %llu %llu %llu", &tot, &unused, &age, &want, &neg) != 5)
		h_die("dentry-state");
	h_say("dentry %s %llu %llu\n", when, tot, neg);
}

static void say_softnet(const char *when)
{
	static char buf[65536];
	unsigned long long squeeze = 0, dropped = 0;
	char *line, *save = NULL;

	if (!slurp("/proc/net/softnet_stat", buf, sizeof(buf)))
		h_die("softnet_stat");
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned int processed, d, s;

		if (sscanf(line, "%x %x %x", &processed, &d, &s) != 3)
			h_die("softnet_stat line");
		dropped += d;
		squeeze += s;
	}
	h_say("softnet %s %llu %llu\n", when, squeeze, dropped);
}

static void psi_some_avg10(const char *res, char *out, size_t size)
{
	char path[64], buf[512];
	const char *p;

	snprintf(path, sizeof(path), "/proc/pressure/%s", res);
	snprintf(out, size, "-");
	if (!slurp(path, buf, sizeof(buf)) || strncmp(buf, "some avg10=", 11) != 0)
		return;
	p = buf + 11;
	snprintf(out, size, "%.*s", (int)strcspn(p, " "), p);
}

static void say_psi(const char *when)
{
	char cpu[32], mem[32], io[32];

	psi_some_avg10("cpu", cpu, sizeof(cpu));
	psi_some_avg10("memory", mem, sizeof(mem));
	psi_some_avg10("io", io, sizeof(io));
	h_say("psi %s %s %s %s\n", when, cpu, mem, io);
}

static void step_read(const char *file)
{
	static char buf[65536];
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		h_die(file);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		h_die(file);
	h_say("read %s\n", file);
	/* fd left open on purpose: see the header */
}

static void step_neg(const char *spec)
{
	char dir[4096], path[4200];
	const char *colon = strrchr(spec, ':');
	long n;
	struct stat st;

	if (!colon || (size_t)(colon - spec) >= sizeof(dir))
		h_die("neg:DIR:N");
	snprintf(dir, sizeof(dir), "%.*s", (int)(colon - spec), spec);
	n = h_atol(colon + 1, "N");
	for (long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/missing-%ld", dir, i);
		if (stat(path, &st) == 0 || errno != ENOENT)
			h_die(path);
	}
	h_say("neg %s %ld\n", dir, n);
}

static void step_inotify(const char *dir, long hold_ms)
{
	int fd = inotify_init1(IN_CLOEXEC), wd;

	if (fd < 0)
		h_die("inotify_init1");
	say_dentry("before");
	say_psi("before");
	wd = inotify_add_watch(fd, dir, IN_CREATE | IN_DELETE);
	if (wd < 0)
		h_die(dir);
	h_nanosleep_ms(hold_ms);
	say_dentry("after");
	say_psi("after");
}

static void step_udp(long hold_ms)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char byte = 'x';

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) < 0)
		h_die("udp socket");
	say_softnet("before");
	say_psi("before");
	if (sendto(s, &byte, 1, 0, (struct sockaddr *)&a, sizeof(a)) != 1 ||
	    recvfrom(s, &byte, 1, 0, NULL, NULL) != 1)
		h_die("udp sendto/recvfrom");
	h_nanosleep_ms(hold_ms);
	say_softnet("after");
	say_psi("after");
}

int main(int argc, char **argv)
{
	long wait_ms, hold_ms;

	if (argc < 5) {
		fprintf(stderr, "usage: hostcalls WAIT_MS HOLD_MS OUT STEP...\n");
		return 2;
	}
	wait_ms = h_atol(argv[1], "WAIT_MS");
	hold_ms = h_atol(argv[2], "HOLD_MS");
	h_out_open(argv[3]);
	h_nanosleep_ms(wait_ms);
	for (int i = 4; i < argc; i++) {
		if (strncmp(argv[i], "read:", 5) == 0)
			step_read(argv[i] + 5);
		else if (strncmp(argv[i], "neg:", 4) == 0)
			step_neg(argv[i] + 4);
		else if (strncmp(argv[i], "inotify:", 8) == 0)
			step_inotify(argv[i] + 8, hold_ms);
		else if (strncmp(argv[i], "sleep:", 6) == 0)
			h_nanosleep_ms(h_atol(argv[i] + 6, "sleep:MS"));
		else if (strcmp(argv[i], "udp") == 0)
			step_udp(hold_ms);
		else {
			fprintf(stderr, "hostcalls: unknown step %s\n", argv[i]);
			return 2;
		}
	}
	h_nanosleep_ms(hold_ms);
	h_say("done\n");
	return 0;
}
