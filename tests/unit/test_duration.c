/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <locale.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "policy/duration.h"
#include "unit.h"

struct good_case {
	const char *input;
	uint64_t ns;
};

struct bad_case {
	const char *input;
	int code;
	const char *message; /* substring of err.msg */
};

static int check_good(const struct good_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sw_error err = {};
		uint64_t ns = 12345;
		int r = duration_parse(cases[i].input, &ns, &err);

		if (r != 0 || ns != cases[i].ns) {
			fprintf(stderr, "  `%s`: r=%d ns=%llu, want %llu (%s)\n", cases[i].input, r,
				(unsigned long long)ns, (unsigned long long)cases[i].ns, err.msg);
			return -1;
		}
	}
	return 0;
}

static int check_bad(const struct bad_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sw_error err = {};
		uint64_t ns = 12345;
		int r = duration_parse(cases[i].input, &ns, &err);

		/* ns must be untouched so a caller's default survives a bad value. */
		if (r != cases[i].code || err.code != r || ns != 12345 ||
		    !strstr(err.msg, cases[i].message)) {
			fprintf(stderr, "  `%s`: r=%d ns=%llu msg=`%s`, want %d and `%s`\n",
				cases[i].input ? cases[i].input : "(null)", r,
				(unsigned long long)ns, err.msg, cases[i].code, cases[i].message);
			return -1;
		}
	}
	return 0;
}

static int test_every_unit(void)
{
	static const struct good_case cases[] = {
		{ "7ns", 7ULL },
		{ "7us", 7000ULL },
		{ "7\xc2\xb5s", 7000ULL }, /* MICRO SIGN */
		{ "7\xce\xbcs", 7000ULL }, /* GREEK SMALL LETTER MU */
		{ "7ms", 7000000ULL },
		{ "7s", 7000000000ULL },
		{ "0s", 0 },
		{ "0ns", 0 },
	};

	return check_good(cases, ARRAY_SIZE(cases));
}

static int test_bare_number_is_ms(void)
{
	static const struct good_case cases[] = {
		{ "0", 0 },
		{ "250", 250000000ULL },
		{ "1.5", 1500000ULL },
		{ "007", 7000000ULL },
	};

	return check_good(cases, ARRAY_SIZE(cases));
}

static int test_decimals(void)
{
	static const struct good_case cases[] = {
		{ "1.5s", 1500000000ULL },
		{ "0.25ms", 250000ULL },
		{ "2.5us", 2500ULL },
		{ "1.000000001s", 1000000001ULL },
		{ "0.000000001s", 1ULL },
		{ "0.001us", 1ULL },
		{ "1.0ns", 1ULL },
		/* Trailing zeros past 1 ns are exact, hence allowed. */
		{ "2.000000000000s", 2000000000ULL },
	};

	return check_good(cases, ARRAY_SIZE(cases));
}

static int test_limits(void)
{
	static const struct good_case good[] = {
		{ "18446744073709551615ns", UINT64_MAX },
		{ "18446744073.709551615s", UINT64_MAX },
		{ "0000000000000000000000000001ns", 1ULL },
	};
	static const struct bad_case bad[] = {
		{ "18446744073709551616ns", -ERANGE,
		  "`18446744073709551616ns`: above the maximum of 18446744073709551615 ns" },
		{ "18446744073.709551616s", -ERANGE, "above the maximum" },
		{ "18446744074s", -ERANGE, "above the maximum" },
		{ "18446744073709552ms", -ERANGE, "above the maximum" },
		{ "99999999999999999999999999", -ERANGE, "above the maximum" },
	};

	if (check_good(good, ARRAY_SIZE(good)) < 0)
		return -1;
	return check_bad(bad, ARRAY_SIZE(bad));
}

static int test_rejects(void)
{
	static const struct bad_case cases[] = {
		{ NULL, -EINVAL, "empty duration" },
		{ "", -EINVAL, "empty duration" },
		{ "-5ms", -EINVAL, "bad duration `-5ms`: must start with a digit" },
		{ "+5ms", -EINVAL, "bad duration `+5ms`: must start with a digit" },
		{ " 5ms", -EINVAL, "must start with a digit" },
		{ ".5", -EINVAL, "bad duration `.5`: must start with a digit" },
		{ ".5s", -EINVAL, "must start with a digit" },
		{ "ms", -EINVAL, "must start with a digit" },
		{ "1.", -EINVAL, "bad duration `1.`: expected digits after `.`" },
		{ "1.s", -EINVAL, "expected digits after `.`" },
		{ "1..5", -EINVAL, "expected digits after `.`" },
		{ "5x", -EINVAL, "bad duration `5x`: unknown unit `x` (use ns, us, ms or s)" },
		{ "5m", -EINVAL, "unknown unit `m`" },
		{ "5sec", -EINVAL, "unknown unit `sec`" },
		{ "5MS", -EINVAL, "unknown unit `MS`" },
		{ "5ms ", -EINVAL, "unknown unit `ms `" },
		{ "5 ms", -EINVAL, "unknown unit ` ms`" },
		{ "1,5s", -EINVAL, "unknown unit `,5s`" },
		{ "1e3", -EINVAL, "unknown unit `e3`" },
		{ "0x10", -EINVAL, "unknown unit `x10`" },
		{ "1.5ns", -EINVAL, "bad duration `1.5ns`: finer than 1 ns" },
		{ "0.0000000001s", -EINVAL, "finer than 1 ns" },
		{ "0.0001us", -EINVAL, "finer than 1 ns" },
		{ "0.0000001ms", -EINVAL, "finer than 1 ns" },
		{ "1.50000ns", -EINVAL, "finer than 1 ns" },
	};

	return check_bad(cases, ARRAY_SIZE(cases));
}

static int test_error_context_is_optional(void)
{
	uint64_t ns = 0;

	CHECK(duration_parse("5x", &ns, NULL) == -EINVAL);
	CHECK(duration_parse("99999999999999999999s", &ns, NULL) == -ERANGE);
	CHECK(duration_parse("5", &ns, NULL) == 0 && ns == 5000000ULL);
	return 0;
}

/*
 * Under a comma-decimal locale strtod() would read "1.5" as 1; the parser
 * must not care. Without de_DE.UTF-8 installed only the C-locale half runs.
 */
static int test_decimal_point_ignores_locale(void)
{
	_cleanup_free_ char *saved = NULL;
	uint64_t dot_ns = 0, comma_ns = 0;
	bool switched;
	char decimal_point;
	int dot_r, comma_r;

	saved = strdup(setlocale(LC_NUMERIC, NULL));
	CHECK(saved);
	switched = setlocale(LC_NUMERIC, "de_DE.UTF-8") != NULL;
	decimal_point = localeconv()->decimal_point[0];
	dot_r = duration_parse("1.5s", &dot_ns, NULL);
	comma_r = duration_parse("1,5s", &comma_ns, NULL);
	setlocale(LC_NUMERIC, saved);

	if (switched)
		CHECK(decimal_point == ',');
	else
		fprintf(stderr, "  note: de_DE.UTF-8 not installed, checked the %s locale only\n",
			saved);
	CHECK(dot_r == 0 && dot_ns == 1500000000ULL);
	CHECK(comma_r == -EINVAL);
	return 0;
}

UNIT_MAIN(TEST(test_every_unit), TEST(test_bare_number_is_ms), TEST(test_decimals),
	  TEST(test_limits), TEST(test_rejects), TEST(test_error_context_is_optional),
	  TEST(test_decimal_point_ignores_locale))
