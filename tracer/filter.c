/* SPDX-License-Identifier: MIT */
#include "filter.h"

#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/macro.h"

bool filter_have_cap_sys_admin(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};

	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective & CAP_TO_MASK(CAP_SYS_ADMIN);
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, struct sw_error *err)
{
	int r = seccomp_rule_add(ctx, action, nr, 0);

	if (r < 0)
		return sw_error_set(err, r, "seccomp rule for `%s`", syscall_name(nr) ?: "?");
	return 0;
}

int filter_build(const struct syscall_set *watch, bool no_new_privs, scmp_filter_ctx *ret_ctx,
		 struct sw_error *err)
{
	_cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
	struct syscall_set traced = *watch, all;
	const uint32_t trace = SCMP_ACT_TRACE(0);
	int restart_nr = syscall_nr("restart_syscall"), ptrace_nr = syscall_nr("ptrace");
	int sigreturn_nr = syscall_nr("rt_sigreturn");
	int clone_nr = syscall_nr("clone");
	bool default_trace;
	int r;

	if (syscall_set_count(watch) > 0) {
		syscall_set_add(&traced, restart_nr);
		syscall_set_add(&traced, sigreturn_nr);
	}
	syscall_set_add(&traced, ptrace_nr);

	syscall_set_fill_all(&all);
	/*
	 * Fewer rules make a faster filter: when most syscalls are watched,
	 * TRACE by default and list the exceptions. Unlisted syscalls keep a
	 * constant verdict either way, so the kernel's seccomp action cache
	 * (5.11+) skips the BPF program for them.
	 */
	default_trace = syscall_set_count(&traced) * 2 > syscall_set_count(&all);

	ctx = seccomp_init(default_trace ? trace : SCMP_ACT_ALLOW);
	if (!ctx)
		return sw_error_set(err, -ENOMEM, "seccomp_init failed");

	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, no_new_privs ? 1 : 0);
	if (r < 0)
		return sw_error_set(err, r, "seccomp: no_new_privs attribute");
	/* A 32-bit or x32 binary inside the command must not die of SIGSYS. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
	if (r < 0)
		return sw_error_set(err, r, "seccomp: bad-arch attribute");
#if defined(__x86_64__)
	r = seccomp_arch_add(ctx, SCMP_ARCH_X86);
	if (r < 0 && r != -EEXIST)
		return sw_error_set(err, r, "seccomp: add arch x86");
	r = seccomp_arch_add(ctx, SCMP_ARCH_X32);
	if (r < 0 && r != -EEXIST)
		return sw_error_set(err, r, "seccomp: add arch x32");
#endif

	for (int nr = 0; nr < SW_MAX_NR; nr++) {
		if (!syscall_set_has(&all, nr) || nr == clone_nr)
			continue;
		if (default_trace && !syscall_set_has(&traced, nr))
			r = add_rule(ctx, SCMP_ACT_ALLOW, nr, err);
		else if (!default_trace && syscall_set_has(&traced, nr))
			r = add_rule(ctx, trace, nr, err);
		else
			continue;
		if (r < 0)
			return r;
	}

	if (clone_nr >= 0) {
		if (syscall_set_has(&traced, clone_nr)) {
			if (!default_trace)
				r = add_rule(ctx, trace, clone_nr, err);
		} else if (default_trace) {
			/* only clone(CLONE_UNTRACED) stops */
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, clone_nr, 1,
					     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_UNTRACED, 0));
		} else {
			r = seccomp_rule_add(
				ctx, trace, clone_nr, 1,
				SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_UNTRACED, CLONE_UNTRACED));
		}
		if (r < 0)
			return sw_error_set(err, r, "seccomp rule for `clone`");
	}

	*ret_ctx = TAKE_PTR(ctx);
	return 0;
}
