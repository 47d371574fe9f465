/* SPDX-License-Identifier: MIT */
/*
 * unit.h - crun-style unit tests: each test is `static int test_x(void)`
 * returning 0 (pass), 77 (skip) or anything else (fail). UNIT_MAIN() runs
 * them and prints one automake-style line per test ("PASS: file:test",
 * "FAIL: ...", "SKIP: ... (reason)"); tests/run.sh counts those lines.
 * The binary exits 1 if any test failed.
 */
#ifndef SW_TESTS_UNIT_H
#define SW_TESTS_UNIT_H

#include <stdio.h>
#include <string.h>

#define UNIT_SKIP 77

/* Inside a test: fail with a message naming the line. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *_a = (a), *_b = (b);                                                   \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                                           \
			fprintf(stderr, "  %s:%d: `%s` != `%s`\n", __FILE__, __LINE__,             \
				_a ? _a : "(null)", _b ? _b : "(null)");                           \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

#define SKIP(reason)                                                                               \
	do {                                                                                       \
		unit_skip_reason = (reason);                                                       \
		return UNIT_SKIP;                                                                  \
	} while (0)

static const char *unit_skip_reason __attribute__((unused));

struct unit_test {
	const char *name;
	int (*fn)(void);
};

#define TEST(fn)                                                                                   \
	{                                                                                          \
#fn, fn                                                                            \
	}

static inline int unit_main(const char *file, const struct unit_test *tests, size_t n)
{
	int failed = 0;

	for (size_t i = 0; i < n; i++) {
		int r;

		unit_skip_reason = NULL;
		r = tests[i].fn();
		if (r == 0)
			printf("PASS: %s:%s\n", file, tests[i].name);
		else if (r == UNIT_SKIP)
			printf("SKIP: %s:%s (%s)\n", file, tests[i].name,
			       unit_skip_reason ? unit_skip_reason : "no reason given");
		else {
			printf("FAIL: %s:%s\n", file, tests[i].name);
			failed++;
		}
		fflush(stdout);
	}
	return failed ? 1 : 0;
}

#define UNIT_MAIN(...)                                                                             \
	int main(void)                                                                             \
	{                                                                                          \
		static const struct unit_test tests[] = { __VA_ARGS__ };                           \
		return unit_main(__FILE__, tests, sizeof(tests) / sizeof(tests[0]));               \
	}

#endif
