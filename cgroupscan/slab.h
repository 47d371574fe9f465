/* SPDX-License-Identifier: MIT */
/*
 * slab.h - slab caches for `stallwatch scan`: read /proc/slabinfo, sum the
 * kmalloc variants per size, tell reclaimable caches apart, and keep a
 * bounded history per cache family that finds leaks shaped like the NFS
 * one (doc/scan.md, "Slab caches and leaks"; incident 3 of
 * doc/incidents.md: kmalloc-16/32 holding gigabytes of NFS file names that
 * drop_caches could not free and kmemleak could not see, fixed by revert
 * db531db951f9).
 *
 * Sources and kernel versions:
 *   - /proc/slabinfo format "slabinfo - version: 2.1" (SLAB and SLUB; SLUB
 *     is the only allocator since 6.8). Each row: name, active_objs,
 *     num_objs, objsize, objperslab, pagesperslab, tunables, slabdata.
 *     The file is 0400 root-only (performancecopilot/pcp#2651). Reading it
 *     walks every cache's per-node partial list under list_lock, so sample
 *     it no more than once every 10-60 s. Measured on 6.18 (doc/scan.md): about
 *     100-135 us for ~420 caches; on this project's test VM (6.18, 2 vCPUs,
 *     235 caches, 25 KB) slab_read() took 182 us p50, 261 us p99.
 *   - kmalloc variants, summed per size before trending:
 *       kmalloc-N          plain;
 *       dma-kmalloc-N      ZONE_DMA;
 *       kmalloc-rcl-N      reclaimable, 4.20+ (1291523f2c1d); kept apart,
 *                          dentry names live here;
 *       kmalloc-cg-N       memcg-accounted, 5.14+ (494c1dfe855e);
 *       kmalloc-rnd-XX-N   CONFIG_RANDOM_KMALLOC_CACHES, 6.6+ (3c6152940584).
 *     N is "8".."192", or "1k".."8k" style since 4.20. Dedicated bucket
 *     sets of CONFIG_SLAB_BUCKETS (6.11+: msg_msg-N, memdup_user-N) are
 *     other names and stay their own family: that is better attribution.
 *   - Duplicate cache names occur (prometheus/node_exporter#3506, Mellanox);
 *     they are kept by the parser and summed by the aggregation.
 *   - Merged caches: slabinfo shows one row per real cache, named after
 *     its first creator, so a name is not proof of who allocated.
 *   - /sys/kernel/slab/NAME/reclaim_account (SLUB only) is 1 for
 *     SLAB_RECLAIM_ACCOUNT caches, which is what SReclaimable counts; it is
 *     the authority on reclaimability. Without it (SLAB kernels) a short name
 *     list stands in: kmalloc-rcl-*, dentry, inode_cache, *_inode_cache,
 *     radix_tree_node, buffer_head, xfs_inode, btrfs_inode.
 *
 * Every function returns 0 or -errno and never prints.
 */
#ifndef SW_CGROUPSCAN_SLAB_H
#define SW_CGROUPSCAN_SLAB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trend.h"

#define SLAB_NAME_MAX 64
#define SLAB_SYSFS_ROOT "/sys/kernel/slab"

struct slab_cache {
	char name[SLAB_NAME_MAX]; /* cache name (longer ones cut), or family after aggregation */
	uint64_t active_objs, num_objs, objsize;
	uint64_t bytes; /* active_objs * objsize (what users mean by "size"), saturating */
	uint64_t total_bytes; /* num_objs * objsize, saturating */
	bool reclaimable;
};

/*
 * Parse /proc/slabinfo text: the first line must be "slabinfo - version: 2.x";
 * lines starting with "slabinfo" or "#" are headers; data rows need a name
 * and three numbers, malformed rows are skipped. reclaimable comes from the
 * name list above (slab_refine_reclaimable() asks sysfs). Duplicate names are
 * kept. On success *ret (free() it; NULL when there are no rows) and *ret_n.
 * Returns 0, -EINVAL (not slabinfo 2.x) or -ENOMEM.
 */
int slab_parse(const char *text, struct slab_cache **ret, size_t *ret_n);

/*
 * Read and parse /proc/slabinfo with one buffer (seq_file then fills it in
 * one read() and walks the cache list once) and time open+read+close in
 * CLOCK_MONOTONIC ns into *ret_read_ns (may be NULL). Returns 0, -EACCES
 * when not root, -errno of open/read, or what slab_parse() returns.
 */
int slab_read(struct slab_cache **ret, size_t *ret_n, uint64_t *ret_read_ns);

/*
 * The family a cache counts in: kmalloc-32, kmalloc-cg-32, dma-kmalloc-32 and
 * kmalloc-rnd-05-32 -> "kmalloc-32"; kmalloc-rcl-32 -> "kmalloc-rcl-32" (the
 * reclaimable family, kept apart); any other name unchanged (cut to size).
 * *reclaimable (may be NULL) is set from the name list above; see
 * slab_is_reclaimable() for the authoritative check.
 */
void slab_family(const char *name, char *family, size_t size, bool *reclaimable);

/*
 * Authoritative: SYSFS_ROOT/NAME/reclaim_account reads 1 (SLAB_RECLAIM_ACCOUNT).
 * When that file is missing, unreadable or odd, or sysfs_root is NULL, or the
 * name could escape the directory ('/', ".", ".."), the name list decides.
 * sysfs_root is normally SLAB_SYSFS_ROOT; tests pass a fake directory.
 */
bool slab_is_reclaimable(const char *sysfs_root, const char *name);

/*
 * Set ->reclaimable of each cache from slab_is_reclaimable() (one small sysfs
 * read per cache). Returns how many were answered by sysfs rather than names.
 * Costly next to slabinfo itself (1.4 ms p50 for 235 caches on the test VM,
 * 8x the slabinfo read); reclaim_account is fixed when a cache is created, so
 * callers should ask once per new name and remember the answer.
 */
size_t slab_refine_reclaimable(const char *sysfs_root, struct slab_cache *caches, size_t n);

/*
 * Sum caches into families: bytes, total_bytes, active_objs and num_objs
 * summed (saturating), objsize of the first member in input order,
 * reclaimable if any member is. Sorted by bytes descending, then by name.
 * *ret is free()d by the caller (NULL when n is 0). Returns 0 or -ENOMEM.
 */
int slab_aggregate(const struct slab_cache *in, size_t n, struct slab_cache **ret, size_t *ret_n);

/*
 * History: per family a series of at most SLAB_HISTORY_MAX points (t_s =
 * CLOCK_REALTIME seconds, value = bytes), oldest dropped first.
 *
 * Tracked are only non-reclaimable families that reach SLAB_HISTORY_MIN_BYTES
 * or are among the SLAB_HISTORY_TOP largest non-reclaimable families (with
 * bytes > 0) in some sample; once tracked, a family gets a point in every
 * sample it appears in. At most SLAB_HISTORY_MAX_SERIES families: when full,
 * a new one replaces the family with the smallest latest size, if smaller.
 *
 * Points closer than SLAB_HISTORY_STEP_S to the one before the latest
 * replace the latest instead of being appended: the latest sample is always
 * present, and a full series covers at least 360 x 120 s = 12 h whatever
 * the scan interval. (A plain 360-point ring sampled every 60 s would span
 * 5.98 h and never meet the leak rule's ">= 6 h".) A point not
 * later than the series' latest (a clock step back) is ignored.
 */
#define SLAB_HISTORY_MAX 360
#define SLAB_HISTORY_STEP_S 120.0
#define SLAB_HISTORY_MIN_BYTES (UINT64_C(1) << 20)
#define SLAB_HISTORY_TOP 32
#define SLAB_HISTORY_MAX_SERIES 128
/* a fall of more than this fraction of the level before it: the cache breathes */
#define SLAB_LEAK_MAX_DROP 0.05
/* fewer points than this are never a leak */
#define SLAB_LEAK_MIN_POINTS 5

struct slab_history;

struct slab_history *slab_history_new(void);
void slab_history_free(struct slab_history *h);

/*
 * Add one sample: families as slab_aggregate() returns them (any order).
 * A tracked family that now shows as reclaimable (e.g. loaded from a state
 * file before sysfs said so) is dropped. Returns 0, -EINVAL or -ENOMEM.
 */
int slab_history_add(struct slab_history *h, double t_s, const struct slab_cache *families,
		     size_t n);

/* Drop points older than now_s - max_age_s, and families left without points. */
void slab_history_prune(struct slab_history *h, double now_s, double max_age_s);

/* Number of tracked families. */
size_t slab_history_size(const struct slab_history *h);

/*
 * Copy up to max points of family, oldest first, into out (may be NULL when
 * max is 0). Returns the number of points the family has (0: not tracked).
 */
size_t slab_history_points(const struct slab_history *h, const char *family,
			   struct trend_point *out, size_t max);

struct slab_leak {
	char family[SLAB_NAME_MAX];
	double slope_bytes_per_hour;
	double r2;
	double span_s;
	uint64_t bytes_now; /* latest point */
	size_t points;
};

/*
 * Families whose trend looks like the NFS leak (doc/scan.md, the leak rule):
 * not reclaimable, at least SLAB_LEAK_MIN_POINTS points, span >= min_span_s,
 * slope >= min_bytes_per_hour, r2 >= min_r2, and no fall between consecutive
 * points larger than SLAB_LEAK_MAX_DROP of the level before it (a cache that
 * breathes is not a leak). Sorted by slope descending. *ret is free()d by the
 * caller (NULL when none). Returns 0, -EINVAL or -ENOMEM.
 */
int slab_history_leaks(const struct slab_history *h, double min_span_s, double min_bytes_per_hour,
		       double min_r2, struct slab_leak **ret, size_t *ret_n);

/*
 * The at most max families with the steepest positive slope over their
 * history (no other threshold): the record's "top growing caches".
 */
int slab_history_top_growing(const struct slab_history *h, size_t max, struct slab_leak **ret,
			     size_t *ret_n);

/*
 * State for `scan --state`: {"families":{"kmalloc-32":[[t_s,bytes],...],...}},
 * t_s a real, bytes an integer, oldest first. NULL on ENOMEM.
 */
json_t *slab_history_to_json(const struct slab_history *h);

/*
 * Merge a state object into h with slab_history_add()'s rules (order, step,
 * bound). Tolerant: a missing or odd "families", a bad name (empty, too long,
 * reclaimable by name), a non-array series and any point that is not
 * [finite number, integer-valued number in 0..2^63) are skipped. Returns 0,
 * -EINVAL only when j is not an object, or -ENOMEM.
 */
int slab_history_from_json(struct slab_history *h, const json_t *j);

#endif
