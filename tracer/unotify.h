/* SPDX-License-Identifier: MIT */
/*
 * unotify.h - the seccomp user-notification primitives of the notify
 * backend (seccomp_unotify(2), kernel/seccomp.c).
 *
 * The command's filter returns SECCOMP_RET_USER_NOTIF for watched calls; the
 * thread then sleeps until its supervisor, holding the listener fd, receives
 * the notification and answers it. stallwatch only times calls, so it always
 * answers SECCOMP_USER_NOTIF_FLAG_CONTINUE (5.5): the kernel runs the call as
 * if it had been allowed. Nothing is emulated, so the usual TOCTOU caveat of
 * CONTINUE (a supervisor deciding on pointer arguments) does not apply.
 *
 * The filter is loaded with SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (5.19):
 * once the notification is received, only a fatal signal ends the wait.
 * Without it a signal that arrives while the supervisor works makes a call
 * that cannot fail, getppid(), return EINTR to a handler without SA_RESTART.
 */
#ifndef SW_TRACER_UNOTIFY_H
#define SW_TRACER_UNOTIFY_H

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stdint.h>

/* 6.6 (include/uapi/linux/seccomp.h); Debian 12's linux-libc-dev 6.1 lacks them. */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

/* How the notify backend loads its filter: a listener, killable waits (5.19). */
#define UNOTIFY_FILTER_FLAGS                                                                       \
	(SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)

/*
 * Load prog on the calling thread with UNOTIFY_FILTER_FLAGS, after setting
 * no_new_privs when asked (needed without CAP_SYS_ADMIN). Only syscalls, so
 * it can run between fork and exec. Returns the listener fd (O_CLOEXEC) or
 * -errno: -EBUSY when a filter already in force has a listener of its own
 * (kernel/seccomp.c, has_duplicate_listener(): e.g. a nested
 * `stallwatch run --backend=notify`), -EINVAL when the kernel does not know
 * the flags (< 5.19), -EACCES without no_new_privs or CAP_SYS_ADMIN.
 */
int unotify_install(const struct sock_fprog *prog, bool no_new_privs);

/*
 * Receive the next notification into *req (zeroed first: the kernel refuses
 * a dirty buffer with EINVAL). Blocks unless the fd polled readable. Returns 0
 * or -errno: -EINTR (a signal), -ENOENT (the target went away between the
 * wake-up and the receive; nothing to answer).
 */
int unotify_recv(int fd, struct seccomp_notif *req);

/*
 * Let notification id's call run (SECCOMP_USER_NOTIF_FLAG_CONTINUE). Returns
 * 0 or -errno: -ENOENT when the target no longer waits for this answer: a
 * signal interrupted it (it is notified again if the call restarts) or it
 * died. That is no error: the caller counts it.
 */
int unotify_continue(int fd, uint64_t id);

/*
 * SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (6.6): wake the target on the CPU that
 * answers, as the supervisor goes back to sleep at once (kernel/seccomp.c
 * uses WF_CURRENT_CPU then). Can be switched at any time. -EINVAL before 6.6.
 */
int unotify_set_sync_wakeup(int fd, bool on);

/*
 * Can this process run a command under the notify backend? 0, or -ENOSYS (no
 * seccomp), -EINVAL (no SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: Linux < 5.19,
 * or no CONFIG_SECCOMP_FILTER), -EBUSY (we run under a filter with a
 * listener: the command's load would fail), or another -errno.
 */
int unotify_probe(void);

#endif
