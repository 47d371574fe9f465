/* SPDX-License-Identifier: MIT */
/*
 * timeutil.h - the one time type of stallwatch: uint64_t nanoseconds.
 * Durations and CLOCK_MONOTONIC instants are both uint64_t ns; wall-clock
 * instants are only made when a record is written (mono + offset).
 */
#ifndef SW_COMMON_TIMEUTIL_H
#define SW_COMMON_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define NSEC_PER_USEC UINT64_C(1000)
#define NSEC_PER_MSEC UINT64_C(1000000)
#define NSEC_PER_SEC UINT64_C(1000000000)

/* CLOCK_MONOTONIC now, in ns (vDSO: no syscall). */
uint64_t sw_mono_ns(void);

/* CLOCK_REALTIME now, in ns since the epoch. */
uint64_t sw_real_ns(void);

/* Convert a CLOCK_MONOTONIC instant to CLOCK_REALTIME ns using the current offset. */
uint64_t sw_mono_to_real_ns(uint64_t mono_ns);

/*
 * RFC 3339 UTC with 9 fractional digits and 'Z': "2026-11-23T09:34:11.123456789Z".
 * buf must hold SW_RFC3339_LEN bytes. Returns buf.
 */
#define SW_RFC3339_LEN 32
char *sw_format_rfc3339(uint64_t real_ns, char *buf, size_t size);

/*
 * Human duration for messages: "850.0 us", "153.0 ms", "1.234 s".
 * Thresholds use sw_format_threshold(): "50 ms", "1.5 s", "250 us".
 */
char *sw_format_duration(uint64_t ns, char *buf, size_t size);
char *sw_format_threshold(uint64_t ns, char *buf, size_t size);

#endif
