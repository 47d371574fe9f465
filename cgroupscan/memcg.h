/* SPDX-License-Identifier: MIT */
/*
 * memcg.h - offline ("zombie", dying) memory cgroups and self-timed
 * memory.stat reads: the kernel-side cause of the GitHub and Pinterest
 * stalls (doc/incidents.md; the kernel side in doc/scan.md, Background).
 *
 * Counting:
 *   v1: /proc/cgroups `memory` num_cgroups (every memcg not yet freed, the
 *       root included) minus the directories of the memory hierarchy. The
 *       row is read before and after the walk, so churn shows as a range.
 *   v2: the root cgroup.stat nr_dying_subsys_memory (6.11+, ab0312526867),
 *       else nr_dying_descendants (4.14+, which also counts cgroups dying
 *       for other controllers).
 * The hierarchy and its mounts are found with libcgroup (cgadapter.h).
 * In a cgroup namespace the visible tree is a subtree while /proc/cgroups is
 * host-wide: the count would be false, so it is refused with a reason.
 */
#ifndef SW_CGROUPSCAN_MEMCG_H
#define SW_CGROUPSCAN_MEMCG_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/error.h"
#include "cgadapter.h"

struct memcg_options {
	const char *proc_root; /* "/proc" (tests: a fake tree) */
	bool walk; /* v1: walk the tree now (false: reuse cached_online) */
	uint64_t cached_online; /* the last walk's count, when walk is false */
	unsigned possible_cpus; /* for the pinned-memory estimate; 0: sysconf */
};

struct memcg_scan {
	enum memcg_hierarchy_kind hierarchy;
	char mount[4096]; /* the mount walked / read */
	size_t n_mounts; /* distinct mounts of the hierarchy */
	bool counted; /* online/offline are valid */
	char unavailable[256]; /* why not, when !counted */
	uint64_t online; /* visible memory cgroups, root included */
	uint64_t offline, offline_min, offline_max;
	bool walked; /* v1: this scan walked the tree (else online is cached) */
	uint64_t walk_ns;
	uint64_t dirs_vanished; /* ENOENT/ENOTDIR mid-walk: normal churn */
	/* self-timed open+read+close of the root and top-level memory.stat */
	uint64_t stat_reads;
	uint64_t stat_read_p50_ns, stat_read_max_ns;
	char stat_read_max_path[4400];
	/* dying x (13 kB + 2 kB x possible CPUs): doc/scan.md, the pinned-memory estimate */
	uint64_t est_pinned_bytes;
};

/* One scan. Returns 0 (see ->counted / ->unavailable) or -errno with err. */
int memcg_scan(const struct memcg_hierarchy_info *h, const struct memcg_options *o,
	       struct memcg_scan *ret, struct sw_error *err);

/*
 * v2 counting of one hierarchy root directory (a real or a fake tree):
 * online from nr_subsys_memory + ... (6.11+) or nr_descendants + 1, offline
 * from nr_dying_subsys_memory, else nr_dying_descendants.
 */
int memcg_count_v2(const char *root, struct memcg_scan *ret, struct sw_error *err);

/* v1: count the directories under root (root included); vanished ones are counted apart. */
int memcg_walk_v1(const char *root, uint64_t *ret_dirs, uint64_t *ret_vanished);

/* Is this process in a cgroup namespace other than the initial one? */
bool memcg_in_cgroup_namespace(const char *proc_root);

#endif
