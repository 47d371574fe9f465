/* SPDX-License-Identifier: MIT */
#include "policy.h"

#include <linux/audit.h>
#include <seccomp.h>
#include <string.h>

/* x32 calls arrive with the native arch and this bit set (arch/x86/include/uapi/asm/unistd.h) */
#define X32_SYSCALL_BIT 0x40000000ULL

bool policy_abi_of(uint32_t arch, uint64_t nr, enum policy_abi *ret_abi, int *ret_index)
{
	enum policy_abi abi;

	if (arch == AUDIT_ARCH_X86_64 && (nr & X32_SYSCALL_BIT)) {
		abi = POLICY_ABI_X32;
		nr &= ~X32_SYSCALL_BIT;
	} else if (arch == AUDIT_ARCH_X86_64)
		abi = POLICY_ABI_NATIVE;
	else if (arch == AUDIT_ARCH_I386)
		abi = POLICY_ABI_X86;
	else
		return false;
	if (nr >= SW_MAX_NR)
		return false;
	*ret_abi = abi;
	*ret_index = (int)nr;
	return true;
}

static const uint32_t abi_scmp_arch[_POLICY_ABI_MAX] = {
	[POLICY_ABI_NATIVE] = SCMP_ARCH_X86_64,
	[POLICY_ABI_X86] = SCMP_ARCH_X86,
	[POLICY_ABI_X32] = SCMP_ARCH_X32,
};

int policy_init_command_line(struct policy *p, const struct syscall_set *set,
			     uint64_t min_duration_ns, struct sw_error *err)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->command_line.name, sizeof(p->command_line.name), "command-line");
	p->command_line.level = "warning";
	p->command_line.min_duration_ns = min_duration_ns;
	p->command_line.syscalls = *set;

	for (int abi = 0; abi < _POLICY_ABI_MAX; abi++)
		for (int nr = 0; nr < SW_MAX_NR; nr++)
			p->threshold_ns[abi][nr] = POLICY_UNWATCHED;

	for (int nr = 0; nr < SW_MAX_NR; nr++) {
		const char *name;

		if (!syscall_set_has(set, nr))
			continue;
		p->threshold_ns[POLICY_ABI_NATIVE][nr] = min_duration_ns;
		name = syscall_name(nr);
		if (!name)
			continue;
		/* Compat ABIs are matched by name: "read" is 3 on i386, 0 on x86_64. */
		for (int abi = POLICY_ABI_X86; abi < _POLICY_ABI_MAX; abi++) {
			int compat_nr = seccomp_syscall_resolve_name_arch(abi_scmp_arch[abi], name);

			if (compat_nr < 0)
				continue;
			compat_nr &= ~(int)X32_SYSCALL_BIT;
			if (compat_nr < SW_MAX_NR)
				p->threshold_ns[abi][compat_nr] = min_duration_ns;
		}
	}
	return 0;
}

uint64_t policy_threshold_ns(const struct policy *p, uint32_t arch, uint64_t nr)
{
	enum policy_abi abi;
	int index;

	if (!policy_abi_of(arch, nr, &abi, &index))
		return POLICY_UNWATCHED;
	return p->threshold_ns[abi][index];
}

const struct policy_rule *policy_rule_for(const struct policy *p, uint32_t arch, uint64_t nr)
{
	return &p->command_line;
}
