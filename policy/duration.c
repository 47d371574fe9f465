/* SPDX-License-Identifier: MIT */
/*
 * duration.c - parse "-m DUR" values (see duration.h).
 *
 * Grammar: DIGITS [ "." DIGITS ] [ UNIT ], UNIT = ns | us | µs | ms | s.
 * A '.' needs digits on both sides ("1." and ".5" are rejected), as in JSON
 * numbers: a lone dot is more likely a typo than a shorthand. Digits are
 * compared as ASCII and never go through strtod(), so the locale's decimal
 * separator cannot change the result.
 */
#include "duration.h"

#include <stdbool.h>
#include <string.h>

#include "../common/timeutil.h"

struct duration_unit {
	const char *suffix;
	uint64_t ns;
};

/*
 * The empty suffix is the bare-number default, ms as in perf trace and bcc.
 * Both the MICRO SIGN (U+00B5) and the GREEK SMALL LETTER MU (U+03BC) are
 * accepted: they look the same, and rejecting one of them would print an
 * error that seems to reject the unit it was asked for.
 */
static const struct duration_unit duration_units[] = {
	{ "", NSEC_PER_MSEC },		{ "ns", 1 },
	{ "us", NSEC_PER_USEC },	{ "\xc2\xb5s", NSEC_PER_USEC },
	{ "\xce\xbcs", NSEC_PER_USEC }, { "ms", NSEC_PER_MSEC },
	{ "s", NSEC_PER_SEC },
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static const struct duration_unit *find_unit(const char *suffix)
{
	for (size_t i = 0; i < ARRAY_SIZE(duration_units); i++) {
		if (strcmp(duration_units[i].suffix, suffix) == 0)
			return &duration_units[i];
	}
	return NULL;
}

int duration_parse(const char *s, uint64_t *ret_ns, struct sw_error *err)
{
	const char *int_start, *int_end, *frac_start = NULL, *frac_end = NULL;
	const struct duration_unit *unit;
	uint64_t whole = 0, fraction_ns = 0, place, total;
	const char *p;

	if (!s || !*s)
		return sw_error_set(err, -EINVAL, "empty duration (expected e.g. `50ms`)");

	/* Signs, whitespace and ".5" all end here: a duration starts with a digit. */
	if (!is_digit(*s))
		return sw_error_set(err, -EINVAL, "bad duration `%s`: must start with a digit", s);
	int_start = p = s;
	while (is_digit(*p))
		p++;
	int_end = p;
	if (*p == '.') {
		frac_start = ++p;
		while (is_digit(*p))
			p++;
		frac_end = p;
		if (frac_start == frac_end)
			return sw_error_set(err, -EINVAL,
					    "bad duration `%s`: expected digits after `.`", s);
	}

	unit = find_unit(p);
	if (!unit)
		return sw_error_set(err, -EINVAL,
				    "bad duration `%s`: unknown unit `%s` (use ns, us, ms or s)", s,
				    p);

	for (p = int_start; p < int_end; p++) {
		if (__builtin_mul_overflow(whole, 10, &whole) ||
		    __builtin_add_overflow(whole, (uint64_t)(*p - '0'), &whole))
			goto out_of_range;
	}

	/*
	 * Each fraction digit is worth a tenth of the previous one. Units are
	 * powers of ten, so the place value reaches 1 ns exactly; past that
	 * only zeros may follow ("1.0ns" is 1 ns, "1.5ns" is an error).
	 */
	place = unit->ns;
	for (p = frac_start; p && p < frac_end; p++) {
		if (place == 1) {
			if (*p != '0')
				return sw_error_set(err, -EINVAL,
						    "bad duration `%s`: finer than 1 ns", s);
			continue;
		}
		place /= 10;
		fraction_ns += (uint64_t)(*p - '0') * place;
	}

	/* fraction_ns < unit->ns, so only the whole part can overflow. */
	if (__builtin_mul_overflow(whole, unit->ns, &total) ||
	    __builtin_add_overflow(total, fraction_ns, &total))
		goto out_of_range;
	*ret_ns = total;
	return 0;

out_of_range:
	return sw_error_set(err, -ERANGE, "bad duration `%s`: above the maximum of %llu ns", s,
			    (unsigned long long)UINT64_MAX);
}
