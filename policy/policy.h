/* SPDX-License-Identifier: MIT */
/*
 * policy.h - what is watched and when a call is reported.
 *
 * For now a policy holds the one built-in rule interface.md names
 * `command-line` (calls in the -e set taking at least -m, severity warning).
 * Policy files (targets, several rules, severities) are a later issue; the
 * tracer only depends on the two hot-path questions below, answered from
 * flat per-ABI arrays so a stop costs one load.
 */
#ifndef SW_POLICY_POLICY_H
#define SW_POLICY_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/error.h"
#include "syscall_set.h"

#define POLICY_UNWATCHED UINT64_MAX
#define POLICY_RULE_NAME_MAX 64

/* The ABIs a tracee on this machine can use (x86_64 kernel: native, i386, x32). */
enum policy_abi {
	POLICY_ABI_NATIVE,
	POLICY_ABI_X86,
	POLICY_ABI_X32,
	_POLICY_ABI_MAX,
};

struct policy_rule {
	char name[POLICY_RULE_NAME_MAX];
	const char *level; /* one of the 8 syslog names */
	uint64_t min_duration_ns;
	struct syscall_set syscalls; /* native numbers */
};

struct policy {
	struct policy_rule command_line;
	/* threshold per ABI and syscall number (x32: without __X32_SYSCALL_BIT) */
	uint64_t threshold_ns[_POLICY_ABI_MAX][SW_MAX_NR];
};

/* Build the command-line rule from -e (set) and -m (min_duration_ns). */
int policy_init_command_line(struct policy *p, const struct syscall_set *set,
			     uint64_t min_duration_ns, struct sw_error *err);

/*
 * Threshold for a call, or POLICY_UNWATCHED. arch is the AUDIT_ARCH_* value
 * from PTRACE_GET_SYSCALL_INFO; nr is as the kernel reports it.
 */
uint64_t policy_threshold_ns(const struct policy *p, uint32_t arch, uint64_t nr);

/* The rule a reported call came from (only one rule exists yet). */
const struct policy_rule *policy_rule_for(const struct policy *p, uint32_t arch, uint64_t nr);

/* Map AUDIT_ARCH_* + nr to our ABI index and table index; false if foreign. */
bool policy_abi_of(uint32_t arch, uint64_t nr, enum policy_abi *ret_abi, int *ret_index);

#endif
