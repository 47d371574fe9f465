/* SPDX-License-Identifier: MIT */
/*
 * The gate of the tracer's poll-before-sleep (tracer/spin.h): the
 * runnable-task count of /proc/loadavg, the rule "a CPU to spare", the
 * reading held for SPIN_GATE_NS, and the adaptive back-off after empty spins.
 */
#include <errno.h>
#include <stdlib.h>

#include "tracer/spin.h"
#include "unit.h"

#define MS(x) (UINT64_C(1000000) * (x))

static int test_parse(void)
{
	unsigned int running = 0;

	CHECK(spin_parse_running("0.78 1.70 2.73 3/345 12345\n", &running) == 0);
	CHECK(running == 3);
	CHECK(spin_parse_running("0.00 0.00 0.00 1/1 1", &running) == 0);
	CHECK(running == 1);
	CHECK(spin_parse_running("12.50 11.00 9.75 10417/10790 99999\n", &running) == 0);
	CHECK(running == 10417);
	CHECK(spin_parse_running("", &running) == -EINVAL);
	CHECK(spin_parse_running("0.78 1.70 2.73", &running) == -EINVAL);
	CHECK(spin_parse_running("0.78 1.70 2.73 x/345 1", &running) == -EINVAL);
	CHECK(spin_parse_running("0.78 1.70 2.73 3 1", &running) == -EINVAL);
	CHECK(spin_parse_running("0.78 1.70 2.73 99999999999/1 1", &running) == -EINVAL);
	return 0;
}

static int test_rule(void)
{
	/* the tracer and one tracee on 2 CPUs: spare (the tracee stops often) */
	CHECK(spin_gate_rule(1, 2));
	CHECK(spin_gate_rule(2, 2));
	/* one more runnable task than CPUs: polling would take a CPU from it */
	CHECK(!spin_gate_rule(3, 2));
	CHECK(!spin_gate_rule(10000, 2));
	CHECK(spin_gate_rule(8, 8));
	return 0;
}

/* This process's /proc/loadavg is real; the verdict depends on the machine,
 * so only what holds either way is checked. */
static int test_real_gate(void)
{
	struct spin s;
	bool first;

	unsetenv("STALLWATCH_NO_SPIN");
	spin_init(&s);
	if (!s.enabled) {
		/* one allowed CPU: it must say no without reading anything */
		CHECK(!spin_should(&s, MS(1)));
		CHECK(s.gate_reads == 0);
		spin_done(&s);
		return 0;
	}
	CHECK(s.loadavg_fd >= 0);
	first = spin_should(&s, MS(1000));
	CHECK(s.gate_reads == 1);
	/* within SPIN_GATE_NS the reading holds: same verdict, no read */
	CHECK(spin_should(&s, MS(1005)) == first);
	CHECK(s.gate_reads == 1);
	/* after it, read again */
	spin_should(&s, MS(1000) + SPIN_GATE_NS);
	CHECK(s.gate_reads == 2);
	spin_done(&s);
	CHECK(s.loadavg_fd == -1);
	CHECK(!spin_should(&s, MS(5000)));
	return 0;
}

/* Back-off: after SPIN_FAILS_MAX empty spins, one wait in SPIN_PROBE_EVERY
 * may spin; one spin that finds a stop restores every wait. The gate is
 * forced open so this does not depend on the machine's load. */
static int test_backoff(void)
{
	struct spin s = {
		.enabled = true, .loadavg_fd = -1, .gate_open = true, .gate_until_ns = UINT64_MAX
	};
	unsigned int allowed = 0;

	for (int i = 0; i < SPIN_FAILS_MAX; i++) {
		CHECK(spin_should(&s, MS(1)));
		spin_result(&s, false);
	}
	for (int i = 0; i < 10 * SPIN_PROBE_EVERY; i++) {
		if (spin_should(&s, MS(1))) {
			allowed++;
			spin_result(&s, false);
		}
	}
	CHECK(allowed == 10);
	/* a probe finds a stop: back to spinning every time */
	while (!spin_should(&s, MS(1)))
		;
	spin_result(&s, true);
	CHECK(spin_should(&s, MS(1)));
	CHECK(spin_should(&s, MS(1)));
	/* a closed gate says no, whatever the back-off says */
	s.gate_open = false;
	CHECK(!spin_should(&s, MS(1)));
	return 0;
}

static int test_env_off(void)
{
	struct spin s;

	setenv("STALLWATCH_NO_SPIN", "1", 1);
	spin_init(&s);
	CHECK(!s.enabled);
	CHECK(s.loadavg_fd == -1);
	CHECK(!spin_should(&s, MS(1)));
	spin_done(&s);
	unsetenv("STALLWATCH_NO_SPIN");
	return 0;
}

UNIT_MAIN(TEST(test_parse), TEST(test_rule), TEST(test_real_gate), TEST(test_backoff),
	  TEST(test_env_off))
