/* SPDX-License-Identifier: MIT */
/*
 * bpf_names.h - the bpf backend's host-wide name prefilter (watch.h,
 * "host-wide name prefilter"): where every host-wide rule of a syscall
 * names its files by a literal last component (policy.h,
 * policy_host_wide_basenames()), a call of a thread group that is not
 * watched can make a record only when its file has one of those names.
 * The kernel keeps the others at their end (watch.bpf.c, finish()); the
 * sweep asks bpf_names_sweep_takes() before it hands a call still in
 * flight to the lifecycle, with the same test on /proc.
 */
#ifndef SW_TRACER_BPF_NAMES_H
#define SW_TRACER_BPF_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../policy/policy.h"
#include "bpf/watch.h"
#include "syscall_args.h"

struct watch_bpf;
struct name_verdict;

struct bpf_names {
	/* what the kernel's name_filter and names hold */
	struct watch_name_filter filter[WATCH_ABI_MAX * WATCH_MAX_NR];
	char names[POLICY_BASENAMES_MAX][POLICY_BASENAME_MAX];
	size_t n_names;
	/*
	 * The calls in flight the sweep found not named, by (tid, start):
	 * those of the last sweep (sorted by tid) and those of this one. A
	 * call is looked at in /proc once, however many sweeps it lasts.
	 */
	struct name_verdict *kept, *next;
	size_t n_kept, cap_kept, n_next, cap_next;
};

/*
 * The kernel's tables from policy (at the load and on SIGHUP): the filter
 * is off for every syscall while the names change, so a reload never
 * keeps a call that either policy would send. argmap: lc->argmap (which
 * argument is the fd, which the path). 0 or -errno (the filter is then
 * left off).
 */
int bpf_names_fill(struct bpf_names *bn, struct watch_bpf *skel,
		   const struct syscall_args argmap[SW_MAX_NR], const struct policy *policy);

/*
 * The sweep: can c, tid's call in flight (c->host_only: a thread group
 * that is not watched), make a record? false when its syscall is filtered
 * and its file, as /proc shows it (the fd's link, the path argument's last
 * component), has none of the names.
 */
bool bpf_names_sweep_takes(struct bpf_names *bn, uint32_t tid, const struct watch_call *c);
/* A sweep is over: what it kept is what the next one remembers. */
void bpf_names_sweep_done(struct bpf_names *bn);

void bpf_names_free(struct bpf_names *bn);

#endif
