/* SPDX-License-Identifier: MIT */
#include "timeutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t sw_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t sw_real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

uint64_t sw_mono_to_real_ns(uint64_t mono_ns)
{
	/* Read the pair back to back; the offset only moves with clock steps. */
	uint64_t real = sw_real_ns(), mono = sw_mono_ns();

	return real - mono + mono_ns;
}

char *sw_format_rfc3339(uint64_t real_ns, char *buf, size_t size)
{
	time_t secs = (time_t)(real_ns / NSEC_PER_SEC);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09" PRIu64 "Z", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 real_ns % NSEC_PER_SEC);
	return buf;
}

char *sw_format_duration(uint64_t ns, char *buf, size_t size)
{
	if (ns < NSEC_PER_MSEC)
		snprintf(buf, size, "%" PRIu64 ".%01" PRIu64 " us", ns / 1000, (ns % 1000) / 100);
	else if (ns < NSEC_PER_SEC)
		snprintf(buf, size, "%" PRIu64 ".%01" PRIu64 " ms", ns / NSEC_PER_MSEC,
			 (ns % NSEC_PER_MSEC) / 100000);
	else
		snprintf(buf, size, "%" PRIu64 ".%03" PRIu64 " s", ns / NSEC_PER_SEC,
			 (ns % NSEC_PER_SEC) / NSEC_PER_MSEC);
	return buf;
}

char *sw_format_threshold(uint64_t ns, char *buf, size_t size)
{
	static const struct {
		uint64_t div;
		const char *unit;
	} units[] = { { NSEC_PER_SEC, "s" }, { NSEC_PER_MSEC, "ms" }, { NSEC_PER_USEC, "us" } };

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ns >= units[i].div && ns % units[i].div == 0) {
			snprintf(buf, size, "%" PRIu64 " %s", ns / units[i].div, units[i].unit);
			return buf;
		}
		/* one decimal place is enough for thresholds like 1.5 s or 2.5 ms */
		if (ns >= units[i].div && ns % (units[i].div / 10) == 0) {
			snprintf(buf, size, "%" PRIu64 ".%" PRIu64 " %s", ns / units[i].div,
				 (ns % units[i].div) / (units[i].div / 10), units[i].unit);
			return buf;
		}
	}
	snprintf(buf, size, "%" PRIu64 " ns", ns);
	return buf;
}
