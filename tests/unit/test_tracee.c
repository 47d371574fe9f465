/* SPDX-License-Identifier: MIT */
/* The tracee table and the per-ABI thresholds the hot path reads. */
#include <linux/audit.h>

#include "policy/load.h"
#include "tracer/tracee.h"
#include "unit.h"

static int test_table_add_find_remove_grow(void)
{
	struct tracee_table tab;

	CHECK(tracee_table_init(&tab) == 0);
	for (pid_t tid = 1000; tid < 3000; tid++)
		CHECK(tracee_add(&tab, tid));
	CHECK(tab.count == 2000);
	for (pid_t tid = 1000; tid < 3000; tid += 2)
		tracee_remove(&tab, tracee_find(&tab, tid));
	CHECK(tab.count == 1000);
	for (pid_t tid = 1000; tid < 3000; tid++)
		CHECK((tracee_find(&tab, tid) != NULL) == (tid % 2 == 1));
	/* churn through tombstones: must not fill up */
	for (int round = 0; round < 20000; round++) {
		struct tracee *t = tracee_add(&tab, 100000 + round);

		CHECK(t);
		tracee_remove(&tab, t);
	}
	CHECK(tab.count == 1000);
	CHECK(tracee_find(&tab, 2999));
	tracee_table_done(&tab);
	return 0;
}

static int test_thresholds_per_abi(void)
{
	_cleanup_policy_ struct policy *p = NULL;
	struct policy_diags diags = {};
	struct syscall_set set;
	struct policy_source empty = { .name = "empty", .text = "{}", .len = 2 };
	struct policy_load_options lo = {
		.sources = &empty,
		.n_sources = 1,
		.command_line = true,
		.watch = &set,
		.min_duration_ns = 50000000,
	};
	struct policy_process proc = { .tgid = 1 };
	struct policy_call call = { .nr = 0, .duration_ns = 50000000, .proc = &proc };
	const struct policy_rule *rule;

	CHECK(syscall_set_parse("read,nanosleep", &set, NULL) == 0);
	CHECK(policy_load(&lo, &p, &diags) == 0);
	CHECK(diags.n == 0);
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, 0) == 50000000); /* read */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, 1) == POLICY_UNWATCHED); /* write */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_I386, 3) == 50000000); /* i386 read */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_I386, 4) == POLICY_UNWATCHED); /* i386 write */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_I386, 162) == 50000000); /* i386 nanosleep */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_X86_64, 0x40000000 | 0) == 50000000); /* x32 read */
	CHECK(policy_threshold_ns(p, AUDIT_ARCH_AARCH64, 63) == POLICY_UNWATCHED);
	rule = policy_match(p, &call, NULL);
	CHECK(rule);
	CHECK_STR(rule->name, "command-line");
	CHECK_STR(rule->level, "warning");
	return 0;
}

UNIT_MAIN(TEST(test_table_add_find_remove_grow), TEST(test_thresholds_per_abi))
