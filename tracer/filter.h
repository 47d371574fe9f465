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
 *
 * The notify backend's filter (filter_build_notify) has the same shape with
 * SCMP_ACT_NOTIFY (seccomp_unotify(2)) for the watched calls, plus
 *   restart_syscall  so a sleep resumed after a signal is seen again;
 *   execve/execveat  so the command's exec (where its own calls begin) is seen;
 *   sendmsg          when watched: except on the socket the child hands the
 *                    listener over with (nobody could answer that call yet);
 * and never rt_sigreturn, sigreturn, exit, exit_group, even when watched: a
 * signal before the notification is received would fail them with EINTR,
 * and a program cannot survive that for these (filter.c).
 * libseccomp 2.5.4 cannot load it with SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
 * (2.6.0 can), so it is exported as BPF (filter_export_bpf) and the child
 * loads it with the raw seccomp() call (tracer/unotify.h).
 */
#ifndef SW_TRACER_FILTER_H
#define SW_TRACER_FILTER_H

#include <linux/filter.h>
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

/*
 * Build the notify backend's filter: every syscall some call of which is in
 * watch (a %wait split does not matter here) -> SCMP_ACT_NOTIFY, and
 * restart_syscall; the rest ALLOW. A watched sendmsg is allowed when its fd
 * (arg0) is handoff_fd. That number then stays exempt for the command's whole
 * life, so the caller makes it one a program rarely reaches. An i386 program
 * that sends through socketcall(2) keeps its sendmsg hidden when most calls are
 * watched: libseccomp cannot compare the fd inside socketcall's argument
 * block, so it allows socketcall(SYS_SENDMSG) whole. no_new_privs: as for
 * filter_build(); the raw load does not apply it, the loader sets it.
 */
int filter_build_notify(const struct syscall_set *watch, bool no_new_privs, int handoff_fd,
			scmp_filter_ctx *ret_ctx, struct sw_error *err);

/*
 * The BPF program of ctx (seccomp_export_bpf()) for a raw seccomp() load:
 * ret->filter is malloc'd, the caller frees it.
 */
int filter_export_bpf(scmp_filter_ctx ctx, struct sock_fprog *ret, struct sw_error *err);

/* True if the calling process has CAP_SYS_ADMIN in its effective set. */
bool filter_have_cap_sys_admin(void);

#endif
