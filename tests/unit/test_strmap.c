/* SPDX-License-Identifier: MIT */
/* sw_strmap: the name index of the policy loader (common/strmap.h). */
#include <errno.h>
#include <stdio.h>

#include "common/strmap.h"
#include "unit.h"

static int test_empty(void)
{
	struct sw_strmap m = {};
	size_t v = 7;

	CHECK(!sw_strmap_get(&m, "x", &v));
	CHECK(!sw_strmap_get(&m, "", NULL));
	CHECK(v == 7);
	CHECK(sw_strmap_size(&m) == 0);
	sw_strmap_free(&m);
	sw_strmap_free(&m); /* twice is harmless */
	return 0;
}

static int test_add_get(void)
{
	struct sw_strmap m = {};
	char key[32];
	size_t v;

	CHECK(sw_strmap_add(&m, "", 0) == 0); /* the empty string is a key like any */
	CHECK(sw_strmap_add(&m, "read", 1) == 0);
	CHECK(sw_strmap_add(&m, "read", 2) == -EEXIST);
	CHECK(sw_strmap_get(&m, "read", &v) && v == 1); /* the first value stays */
	CHECK(sw_strmap_get(&m, "", &v) && v == 0);
	CHECK(!sw_strmap_get(&m, "rea", &v));
	CHECK(!sw_strmap_get(&m, "reads", &v));
	/* many keys: the table grows and every key is still found */
	for (size_t i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "rule-%zu", i);
		CHECK(sw_strmap_add(&m, key, i + 10) == 0);
	}
	CHECK(sw_strmap_size(&m) == 100002);
	for (size_t i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "rule-%zu", i);
		CHECK(sw_strmap_get(&m, key, &v) && v == i + 10);
	}
	CHECK(!sw_strmap_get(&m, "rule-100000", &v));
	CHECK(sw_strmap_get(&m, "read", &v) && v == 1);
	sw_strmap_free(&m);
	CHECK(!sw_strmap_get(&m, "read", &v));
	return 0;
}

UNIT_MAIN(TEST(test_empty), TEST(test_add_get))
