/* SPDX-License-Identifier: MIT */
/*
 * bpf_enoent.h - the bpf backend's ENOENT-storm counting: the kernel half
 * (watch.bpf.c, "ENOENT storms (kernel)") counts failed lookups per
 * (process, directory); this copies its counts into the lifecycle's
 * detector (storm.h), which decides storms and writes their records as
 * under ptrace.
 */
#ifndef SW_TRACER_BPF_ENOENT_H
#define SW_TRACER_BPF_ENOENT_H

#include <stdint.h>

#include "lifecycle.h"

struct watch_bpf;

/*
 * Before the load: the pair table's size (the policy's max_directories;
 * one entry when the detector is off: a reload cannot turn the kernel's
 * counting on, as it cannot widen the seccomp filter).
 */
void bpf_enoent_configure(struct watch_bpf *skel, const struct policy *policy);
/* After the load: which syscalls count (lc->argmap), and counting on if lc->storm. 0 or -errno. */
int bpf_enoent_start(struct watch_bpf *skel, struct lifecycle *lc);
/*
 * Copy the kernel's counts into lc->storm (a reload's window or a
 * disabled detector goes to the kernel too). Returns when to do it again
 * (every slice of the window, at most a second apart; UINT64_MAX: off).
 */
uint64_t bpf_enoent_sync(struct watch_bpf *skel, struct lifecycle *lc, uint64_t now_ns);

#endif
