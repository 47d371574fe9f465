/* SPDX-License-Identifier: MIT */
/*
 * filter.h - the seccomp prefilter `run` installs in the command.
 *
 * Watched syscalls -> SCMP_ACT_TRACE (a PTRACE_EVENT_SECCOMP stop), the rest
 * -> ALLOW, so unwatched calls never stop. Always traced on top of the set:
 *   restart_syscall  so an interrupted watched call can be stitched whole;
 *   rt_sigreturn     so we learn whether a handler's return restarts it;
 *   ptrace           to warn when the command's own ptrace() fails (one tracer per task);
 *   clone with CLONE_UNTRACED in flags, to warn: that child escapes us and
 *                    gets ENOSYS for every watched call (doc/transparency.md, 34).
 * The filter covers x86_64, i386 and x32 (libseccomp maps rules by name), and
 * a foreign arch is allowed rather than killed (SCMP_FLTATR_ACT_BADARCH).
 */
#ifndef SW_TRACER_FILTER_H
#define SW_TRACER_FILTER_H

#include <seccomp.h>
#include <stdbool.h>

#include "../common/error.h"
#include "../policy/syscall_set.h"

static inline void seccomp_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}
#define _cleanup_seccomp_ __attribute__((cleanup(seccomp_releasep)))

/*
 * Build (not load) the filter. no_new_privs: false only when the caller
 * holds CAP_SYS_ADMIN, so setuid programs inside the command keep working;
 * libseccomp 2.5.4 sets NNP by default, even for root.
 */
int filter_build(const struct syscall_set *watch, bool no_new_privs, scmp_filter_ctx *ret_ctx,
		 struct sw_error *err);

/* True if the calling process has CAP_SYS_ADMIN in its effective set. */
bool filter_have_cap_sys_admin(void);

#endif
