/* SPDX-License-Identifier: MIT */
/*
 * enoent.h - the ENOENT-storm detector: failed path lookups counted per
 * (process, directory), distinct names estimated in bounded memory, and
 * the storm decision (doc/policy.md, "enoent_storms").
 *
 * Pure bookkeeping: no /proc, no records. Its caller (tracer/storm.h)
 * turns a failed call into an enoent_key and a name, and a due storm
 * into a record.
 *
 *   enoent_sketch_*   HyperLogLog of 128 one-byte registers (9.2 %
 *                     standard error; enoent_counts.h);
 *   enoent_add()      one failed lookup into a struct enoent_counts (the
 *                     layout the bpf backend's kernel half fills too);
 *   enoent_observe()  ... into the table, which holds at most
 *                     max_directories (process, directory) pairs and
 *                     ENOENT_DIRS_PER_PROCESS per process: a new pair
 *                     beyond a bound evicts the least recently failed
 *                     one (of its process first), counted in evictions;
 *   enoent_due()      storms whose record is due.
 *
 * A storm: at least distinct_per_s x window distinct failed names in the
 * sliding window (ENOENT_BUCKETS slices of window / ENOENT_BUCKETS, plus
 * the current partial one). It opens when first seen; its record is due
 * one window later (so it describes at least a window of the storm), or
 * at once when its pair is evicted or the tracer ends. After a record the
 * next storm of the pair counts only slices that began after it: at most
 * one record per pair and window, and no slice counted in two records.
 */
#ifndef SW_TRACER_ENOENT_H
#define SW_TRACER_ENOENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../policy/policy.h"
#include "bpf/enoent_counts.h"

#define ENOENT_DIRS_PER_PROCESS 64
/* the window's distinct count is estimated at most this often per pair (and at ticks) */
#define ENOENT_EVAL_PER_BUCKET 8

struct enoent_sketch {
	uint8_t reg[ENOENT_REGISTERS];
};

/* A 64-bit hash of len bytes (FNV-1a, then a MurmurHash3 finalizer to spread the top bits). */
uint64_t enoent_hash(const char *s, size_t len);
void enoent_sketch_add(uint8_t reg[ENOENT_REGISTERS], uint64_t hash);
/* The estimated number of distinct hashes added (HyperLogLog with the small-range correction). */
double enoent_sketch_estimate(const uint8_t reg[ENOENT_REGISTERS]);
void enoent_sketch_merge(uint8_t dst[ENOENT_REGISTERS], const uint8_t src[ENOENT_REGISTERS]);

/*
 * A path split as the key needs it: dirname (everything before the last
 * '/', trailing slashes dropped first; "" for a bare name; "/" kept for
 * "/x") and name (the last component). false for an empty name.
 */
bool enoent_split(const char *path, const char **ret_dir, size_t *ret_dir_len,
		  const char **ret_name, size_t *ret_name_len);

/* One failed lookup of name_hash at now_ns into c (slices of slice_ns). */
void enoent_add(struct enoent_counts *c, uint64_t slice_ns, uint64_t now_ns, uint64_t name_hash,
		const char *name, size_t name_len);
/*
 * The window of c at now_ns: distinct names (estimate) and failed lookups
 * in the slots of the last ENOENT_BUCKETS slices and the current one.
 */
double enoent_window_distinct(const struct enoent_counts *c, uint64_t slice_ns, uint64_t now_ns,
			      uint64_t *ret_count);

struct procinfo;

/* One (process, directory) the table tracks. */
struct enoent_entry {
	struct enoent_key key;
	struct enoent_counts c;
	char *directory; /* resolved by the caller at first sight (malloc'd), or NULL */
	bool ignored; /* not a directory the policy reports: not counted */
	/* an open storm: since when, and what it counted */
	bool storm;
	uint64_t storm_open_ns; /* when the window first held enough */
	uint64_t storm_start_ns; /* the first failed lookup of the window it opened with */
	uint64_t storm_count_base; /* c.count before that window */
	double storm_peak_per_s; /* highest window rate seen during the storm */
	struct enoent_sketch storm_names; /* names since storm_start_ns */
	struct procinfo *info; /* the process, read when the storm opened (caller's), or NULL */
	uint64_t evaluated_ns; /* the window was last estimated then */
	uint64_t evaluated_count; /* ... with c.count at this */
	uint64_t min_epoch; /* the storm check counts slices from this one (after a record) */
	/*
	 * The slow storm (distinct_per_day): the day it counts began at
	 * day_start_ns, with day_base_distinct names (the estimate of c.total)
	 * and day_base_count lookups behind it; day_due: its record is due.
	 */
	uint64_t day_start_ns, day_base_distinct, day_base_count;
	uint64_t day_evaluated_count;
	bool day_due;
	/* links: the table's hash chain and its least-recently-failed list (indices, -1 none) */
	int32_t hnext, lru_prev, lru_next;
	bool used;
};

struct enoent_detector {
	struct policy_enoent conf; /* directories not copied: the policy's */
	uint64_t slice_ns; /* window / ENOENT_BUCKETS */
	struct enoent_entry *entries; /* pool, grows to conf.max_directories */
	uint32_t n_alloc, n_used;
	/* pairs of one process at most (ENOENT_DIRS_PER_PROCESS; bpf: the kernel's bound only) */
	uint32_t per_process_max;
	int32_t free_head;
	int32_t *heads; /* hash chains by key */
	uint32_t n_heads; /* power of two */
	int32_t lru_oldest, lru_newest;
	/* per-process counts: a small chained table */
	struct enoent_proc {
		pid_t tgid;
		uint32_t n;
		int32_t next;
	} * procs;
	int32_t *proc_heads;
	int32_t proc_free;
	uint64_t evictions; /* pairs dropped for room */
	uint64_t storms; /* storms opened */
	/* an evicted pair with an open storm: its record first (the caller's), then it goes */
	void (*flush)(void *opaque, struct enoent_entry *e);
	void *flush_opaque;
	/* a pair is dropped: the caller frees what it hung on it (directory, info) */
	void (*release)(void *opaque, struct enoent_entry *e);
};

int enoent_init(struct enoent_detector *d, const struct policy_enoent *conf);
void enoent_done(struct enoent_detector *d);
/* A reloaded policy: a new window or bound starts the table afresh. */
int enoent_set_conf(struct enoent_detector *d, const struct policy_enoent *conf);

/* The pair, if tracked. */
struct enoent_entry *enoent_find(struct enoent_detector *d, const struct enoent_key *key);
/*
 * The pair, tracked from now on (*ret_new: it was not, the caller
 * resolves its directory); NULL on ENOMEM.
 */
struct enoent_entry *enoent_get(struct enoent_detector *d, const struct enoent_key *key,
				uint64_t now_ns, bool *ret_new);
/*
 * One failed lookup (enoent_get + enoent_add + the storm check). Returns
 * the entry; *ret_opened when a storm opened with it (the caller reads the
 * process identity then).
 */
struct enoent_entry *enoent_observe(struct enoent_detector *d, const struct enoent_key *key,
				    uint64_t name_hash, const char *name, size_t name_len,
				    uint64_t now_ns, bool *ret_new, bool *ret_opened);
/*
 * Is a storm open in e now (opened now if the window holds enough)?
 * force: estimate now whatever the last estimate's age. Returns true when
 * it opened with this check.
 */
bool enoent_check(struct enoent_detector *d, struct enoent_entry *e, uint64_t now_ns, bool force);
/* Enough failed lookups in the window for a storm, were their names distinct? */
bool enoent_plausible(const struct enoent_detector *d, const struct enoent_entry *e,
		      uint64_t now_ns);
/* The window's rate of distinct names now, per second. */
double enoent_rate_per_s(const struct enoent_detector *d, const struct enoent_entry *e,
			 uint64_t now_ns);
/*
 * The slow storm: are there distinct_per_day distinct failed names in e
 * since its day began (at most a day ago; an older day starts again from
 * what is counted now)? Sets e->day_due and returns true when it fired
 * with this check. Cheap unless distinct_per_day lookups came since the
 * day began, then one sketch estimate per 1/8 of distinct_per_day lookups.
 */
bool enoent_check_day(struct enoent_detector *d, struct enoent_entry *e, uint64_t now_ns);
/* The slow storm's record was written at now_ns: a new day begins. */
void enoent_day_closed(struct enoent_detector *d, struct enoent_entry *e, uint64_t now_ns);
/* The storm's record is due at (UINT64_MAX: none open). */
uint64_t enoent_due_ns(const struct enoent_detector *d, const struct enoent_entry *e);
/* The earliest due record of the table (UINT64_MAX: none). */
uint64_t enoent_next_due_ns(const struct enoent_detector *d);
/*
 * The record of e's storm was written at now_ns (or given up): the storm
 * closes, and the next one counts only slices that begin after now_ns.
 */
void enoent_closed(struct enoent_detector *d, struct enoent_entry *e, uint64_t now_ns);
/* Drop one pair (the caller decided: e.g. its process is gone and its storm reported). */
void enoent_drop(struct enoent_detector *d, struct enoent_entry *e);

/* Iterate: for (i = 0; i < d->n_alloc; i++) if ((e = enoent_at(d, i))) ... */
static inline struct enoent_entry *enoent_at(struct enoent_detector *d, uint32_t i)
{
	return i < d->n_alloc && d->entries[i].used ? &d->entries[i] : NULL;
}

#endif
