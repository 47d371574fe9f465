/* SPDX-License-Identifier: MIT */
/* sw_suggest: "did you mean" for policy keys (common/suggest.h). */
#include "common/macro.h"
#include "common/suggest.h"
#include "unit.h"

static const char *const rule_keys[] = { "description", "enabled",   "targets",	     "syscalls",
					 "paths",	"result",    "min_duration", "severity",
					 "tags",	"rate_limit" };

static const char *suggest(const char *word)
{
	return sw_suggest(word, rule_keys, ARRAY_SIZE(rule_keys));
}

static int test_typos(void)
{
	CHECK_STR(suggest("syscals"), "syscalls"); /* a deletion */
	CHECK_STR(suggest("Syscalls"), "syscalls"); /* keys are case-sensitive: one edit */
	CHECK_STR(suggest("tragets"), "targets"); /* a swap */
	CHECK_STR(suggest("severty"), "severity");
	CHECK_STR(suggest("min-duration"), "min_duration"); /* a substitution */
	CHECK_STR(suggest("minduration"), "min_duration"); /* an insertion */
	CHECK_STR(suggest("path"), "paths");
	CHECK_STR(suggest("tag"), "tags");
	CHECK_STR(suggest("ratelimit"), "rate_limit");
	return 0;
}

static int test_too_far(void)
{
	CHECK(suggest("threshold") == NULL);
	CHECK(suggest("x") == NULL); /* one edit from nothing useful: "x" is no typo of "tags" */
	CHECK(suggest("ab") == NULL);
	CHECK(suggest("") == NULL);
	/* a candidate of 4 characters allows one edit, a longer one two */
	CHECK_STR(suggest("tgs"), "tags");
	CHECK(suggest("tg") == NULL);
	CHECK_STR(suggest("syscallsss"), "syscalls");
	CHECK(suggest("syscallxyz") == NULL);
	return 0;
}

static int test_limits(void)
{
	char long_word[100];

	memset(long_word, 'a', sizeof(long_word) - 1);
	long_word[sizeof(long_word) - 1] = 0;
	CHECK(suggest(long_word) == NULL);
	CHECK(sw_suggest("a", NULL, 0) == NULL);
	return 0;
}

UNIT_MAIN(TEST(test_typos), TEST(test_too_far), TEST(test_limits))
