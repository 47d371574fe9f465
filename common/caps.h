/* SPDX-License-Identifier: MIT */
/*
 * caps.h - does the calling thread have a capability in its effective set
 * (capget(2))? For the diagnoses that depend on it: ptrace's EPERM, a
 * seccomp filter without no_new_privs, bpf()'s EPERM.
 */
#ifndef SW_COMMON_CAPS_H
#define SW_COMMON_CAPS_H

#include <linux/capability.h>
#include <stdbool.h>

/* Capabilities newer than some uapi headers (both Linux 5.8). */
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

/* True if cap (CAP_SYS_ADMIN, CAP_BPF, ...) is effective; false if not or capget fails. */
bool sw_have_cap(int cap);

#endif
