/* SPDX-License-Identifier: MIT */
/*
 * cgadapter.h - the one file that talks to libcgroup: which hierarchy holds
 * the memory controller (v1, v2 or none; hybrid hosts have both kinds
 * mounted, this project's test machine among them) and every mount of it,
 * deduplicated by the root's (st_dev, st_ino) (doc/scan.md, "Counting
 * offline memory cgroups": bind mounts and container runtimes mount one
 * hierarchy several times).
 *
 * libcgroup returns positive ECG* codes and logs through a callback; here
 * they become -errno and one message in struct sw_error, so nothing prints.
 */
#ifndef SW_CGROUPSCAN_CGADAPTER_H
#define SW_CGROUPSCAN_CGADAPTER_H

#include <stddef.h>
#include <sys/types.h>

#include "../common/error.h"

enum memcg_hierarchy_kind {
	MEMCG_NONE, /* no memory controller mounted */
	MEMCG_V1,
	MEMCG_V2,
};

struct memcg_mount {
	char path[4096];
	char root[4096]; /* the subtree mounted there (mountinfo field 4), "/" for the whole */
	dev_t dev;
	ino_t ino;
};

struct memcg_hierarchy_info {
	enum memcg_hierarchy_kind kind;
	struct memcg_mount *mounts; /* distinct; whole-hierarchy mounts first */
	size_t n_mounts;
};

/* Find the memory hierarchy. Returns 0 (kind may be MEMCG_NONE) or -errno with err. */
int cgadapter_discover_memory(struct memcg_hierarchy_info *ret, struct sw_error *err);
void cgadapter_hierarchy_free(struct memcg_hierarchy_info *h);

/* libcgroup ECG* code (positive) to -errno; 0 stays 0. */
int cgadapter_errno(int ecg);

/* Name of an enum memcg_hierarchy_kind as records print it: "v1", "v2", "none". */
const char *cgadapter_kind_name(enum memcg_hierarchy_kind kind);

#endif
