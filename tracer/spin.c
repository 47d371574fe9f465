/* SPDX-License-Identifier: MIT */
/*
 * spin.c - the gate of the tracer's poll-before-sleep (see spin.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spin.h"

void spin_init(struct spin *s)
{
	cpu_set_t allowed;
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	*s = (struct spin){ .loadavg_fd = -1 };
	if (getenv("STALLWATCH_NO_SPIN"))
		return;
	/* with one CPU the poll could only delay a tracee that shares it */
	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0 || CPU_COUNT(&allowed) < 2 ||
	    online < 2)
		return;
	s->loadavg_fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
	if (s->loadavg_fd < 0)
		return;
	s->online_cpus = (unsigned int)online;
	s->enabled = true;
}

void spin_done(struct spin *s)
{
	if (s->loadavg_fd >= 0)
		close(s->loadavg_fd);
	s->loadavg_fd = -1;
	s->enabled = false;
}

int spin_parse_running(const char *loadavg, unsigned int *ret_running)
{
	const char *p = loadavg;
	unsigned long running;
	char *end;

	/* the fourth field: "R/T" (kernel/fs/proc/loadavg.c since 2.6) */
	for (int field = 0; field < 3; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	errno = 0;
	running = strtoul(p, &end, 10);
	if (errno || end == p || *end != '/' || running > 1000000000UL)
		return -EINVAL;
	*ret_running = (unsigned int)running;
	return 0;
}

/* Read /proc/loadavg now; on any failure the gate closes for good. */
static void gate_read(struct spin *s)
{
	char line[128];
	unsigned int running;
	ssize_t n;

	s->gate_reads++;
	n = pread(s->loadavg_fd, line, sizeof(line) - 1, 0);
	if (n <= 0) {
		spin_done(s);
		return;
	}
	line[n] = '\0';
	if (spin_parse_running(line, &running) < 0) {
		spin_done(s);
		return;
	}
	s->gate_open = spin_gate_rule(running, s->online_cpus);
}

bool spin_should(struct spin *s, uint64_t now_ns)
{
	if (!s->enabled)
		return false;
	if (s->fails >= SPIN_FAILS_MAX && ++s->probe % SPIN_PROBE_EVERY != 0)
		return false;
	if (now_ns >= s->gate_until_ns) {
		gate_read(s);
		if (!s->enabled)
			return false;
		s->gate_until_ns = now_ns + SPIN_GATE_NS;
	}
	if (s->gate_open)
		s->spins++;
	return s->gate_open;
}

void spin_result(struct spin *s, bool found)
{
	if (found)
		s->fails = 0;
	else if (s->fails < SPIN_FAILS_MAX)
		s->fails++;
}
