/* SPDX-License-Identifier: MIT */
/*
 * bpf_enoent.c - the bpf backend's ENOENT-storm counting (bpf_enoent.h).
 */
#include "bpf_enoent.h"

#include <bpf/libbpf.h>
#include <errno.h>

#include "../common/timeutil.h"
#include "bpf/enoent_counts.h"
#include "bpf/watch.h"
#include "storm.h"
#include "watch.skel.h"

void bpf_enoent_configure(struct watch_bpf *skel, const struct policy *policy)
{
	uint32_t n = policy->enoent.enabled ? policy->enoent.max_directories : 1;

	bpf_map__set_max_entries(skel->maps.enoent_dirs, n ? n : 1);
}

int bpf_enoent_start(struct watch_bpf *skel, struct lifecycle *lc)
{
	struct syscall_set calls;

	policy_enoent_calls(&calls);
	for (__u32 nr = 0; nr < WATCH_MAX_NR && nr < SW_MAX_NR; nr++) {
		const struct syscall_args *a = &lc->argmap[nr];
		struct enoent_call v = { .fd_arg = ENOENT_NO_ARG };
		int r;

		if (!syscall_set_has(&calls, (int)nr) || a->path_arg == ARG_NONE)
			continue;
		v.counted = 1;
		v.path_arg = (__u8)a->path_arg;
		if ((a->flags & SYSCALL_DIRFD) && a->fd_arg != ARG_NONE)
			v.fd_arg = (__u8)a->fd_arg;
		r = bpf_map__update_elem(skel->maps.enoent_calls, &nr, sizeof(nr), &v, sizeof(v),
					 0);
		if (r < 0)
			return r;
	}
	if (lc->storm) {
		/* the kernel's map has no per-process bound: one here would drop pairs it still has */
		lc->storm->det.per_process_max = lc->storm->det.conf.max_directories;
		skel->data->enoent_slice_ns = lc->storm->det.slice_ns;
		skel->bss->enoent_on = bpf_map__max_entries(skel->maps.enoent_dirs) > 1;
	}
	return 0;
}

uint64_t bpf_enoent_sync(struct watch_bpf *skel, struct lifecycle *lc, uint64_t now_ns)
{
	struct bpf_map *map = skel->maps.enoent_dirs;
	struct enoent_key key, next;
	struct enoent_counts c;
	bool first = true;
	uint64_t every_ns;

	if (!skel->bss->enoent_on)
		return UINT64_MAX;
	if (!lc->storm) {
		/* a reload turned the detector off */
		skel->bss->enoent_on = 0;
		return UINT64_MAX;
	}
	/* a reload's window: the kernel's slices from now on (their slots restart) */
	if (skel->data->enoent_slice_ns != lc->storm->det.slice_ns)
		skel->data->enoent_slice_ns = lc->storm->det.slice_ns;
	while (bpf_map__get_next_key(map, first ? NULL : &key, &next, sizeof(next)) == 0) {
		first = false;
		key = next;
		if (bpf_map__lookup_elem(map, &key, sizeof(key), &c, sizeof(c), 0) < 0)
			continue;
		storm_kernel_counts(lc->storm, &key, &c, now_ns);
	}
	/* every slice: a storm's names are the union of the windows seen */
	every_ns = lc->storm->det.slice_ns;
	if (every_ns > NSEC_PER_SEC)
		every_ns = NSEC_PER_SEC;
	return now_ns + every_ns;
}
