/* SPDX-License-Identifier: MIT */
/*
 * duration.h - "-m DUR" values: a decimal number and a unit, ns/us/ms/s
 * ("µs" accepted for us); a bare number means ms (perf trace, bcc -m).
 * Parsed by hand, so the locale's decimal separator never matters.
 */
#ifndef SW_POLICY_DURATION_H
#define SW_POLICY_DURATION_H

#include <stdint.h>

#include "../common/error.h"

/*
 * "50ms" -> 50000000, "1.5s" -> 1500000000, "250" -> 250000000, "0" -> 0.
 * Fractions finer than 1 ns are an error, as are negatives, signs, spaces,
 * empty strings, unknown units and values above UINT64_MAX ns.
 * Returns 0 or -EINVAL / -ERANGE with a message in err.
 */
int duration_parse(const char *s, uint64_t *ret_ns, struct sw_error *err);

#endif
