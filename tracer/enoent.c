/* SPDX-License-Identifier: MIT */
/*
 * enoent.c - the ENOENT-storm detector (enoent.h).
 */
#include "enoent.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the sketch ------------------------------------------------------------ */

uint64_t enoent_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return enoent_fmix64(h);
}

void enoent_sketch_add(uint8_t reg[ENOENT_REGISTERS], uint64_t hash)
{
	uint32_t idx = (uint32_t)(hash >> (64 - ENOENT_REGISTER_BITS));
	/* the other bits, with a guard bit so the rank is at most 64 - 7 + 1 */
	uint64_t rest = (hash << ENOENT_REGISTER_BITS) | (1ULL << (ENOENT_REGISTER_BITS - 1));
	uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);

	if (rank > reg[idx])
		reg[idx] = rank;
}

double enoent_sketch_estimate(const uint8_t reg[ENOENT_REGISTERS])
{
	const double m = ENOENT_REGISTERS;
	/* alpha_m for m >= 128 (Flajolet et al. 2007, figure 3) */
	const double alpha = 0.7213 / (1.0 + 1.079 / m);
	double sum = 0, e;
	unsigned zeros = 0;

	for (int i = 0; i < ENOENT_REGISTERS; i++) {
		sum += ldexp(1.0, -reg[i]);
		zeros += reg[i] == 0;
	}
	e = alpha * m * m / sum;
	/* small range: linear counting of the empty registers is better below 5m/2 */
	if (e <= 2.5 * m && zeros > 0)
		e = m * log(m / zeros);
	/* 64-bit hashes: no large-range correction is needed */
	return e;
}

void enoent_sketch_merge(uint8_t dst[ENOENT_REGISTERS], const uint8_t src[ENOENT_REGISTERS])
{
	for (int i = 0; i < ENOENT_REGISTERS; i++)
		if (src[i] > dst[i])
			dst[i] = src[i];
}

bool enoent_split(const char *path, const char **ret_dir, size_t *ret_dir_len,
		  const char **ret_name, size_t *ret_name_len)
{
	size_t len = strlen(path), slash;

	/* "a/b/" names b in a: the trailing slashes do not name anything */
	while (len > 1 && path[len - 1] == '/')
		len--;
	slash = len;
	while (slash > 0 && path[slash - 1] != '/')
		slash--;
	*ret_name = path + slash;
	*ret_name_len = len - slash;
	*ret_dir = path;
	if (slash == 0)
		*ret_dir_len = 0; /* a bare name: the start directory itself */
	else if (slash == 1)
		*ret_dir_len = 1; /* "/x": the root, spelled "/" */
	else
		*ret_dir_len = slash - 1; /* without the separating slash */
	return *ret_name_len > 0 && !(*ret_name_len == 1 && path[slash] == '/');
}

/* ---- counts ---------------------------------------------------------------- */

void enoent_add(struct enoent_counts *c, uint64_t slice_ns, uint64_t now_ns, uint64_t name_hash,
		const char *name, size_t name_len)
{
	uint64_t epoch = now_ns / slice_ns;
	uint32_t s = (uint32_t)(epoch % ENOENT_SLOTS);

	if (c->epoch[s] != epoch) {
		/* a slot of a slice that left the window: reused for this one */
		memset(c->slot[s], 0, sizeof(c->slot[s]));
		c->slot_count[s] = 0;
		c->epoch[s] = epoch;
	}
	if (c->count == 0)
		c->first_ns = now_ns;
	c->last_ns = now_ns;
	c->count++;
	c->slot_count[s]++;
	enoent_sketch_add(c->total, name_hash);
	enoent_sketch_add(c->slot[s], name_hash);
	/* a few names: the first ones, then one in 256 (the kernel half does the same) */
	if (c->count <= ENOENT_SAMPLES || (c->count & 255) == 0) {
		char *dst = c->sample[c->next_sample++ % ENOENT_SAMPLES];
		size_t n = name_len < ENOENT_SAMPLE_LEN - 1 ? name_len : ENOENT_SAMPLE_LEN - 1;

		memcpy(dst, name, n);
		dst[n] = 0;
	}
}

/*
 * Is slot s one of the window's at now (the current slice and the
 * ENOENT_BUCKETS before), and not older than min_epoch?
 */
static bool slot_live(const struct enoent_counts *c, int s, uint64_t epoch_now, uint64_t min_epoch)
{
	return c->slot_count[s] && c->epoch[s] <= epoch_now &&
	       epoch_now - c->epoch[s] <= ENOENT_BUCKETS && c->epoch[s] >= min_epoch;
}

static uint64_t window_count(const struct enoent_counts *c, uint64_t epoch_now, uint64_t min_epoch)
{
	uint64_t n = 0;

	for (int s = 0; s < ENOENT_SLOTS; s++)
		if (slot_live(c, s, epoch_now, min_epoch))
			n += c->slot_count[s];
	return n;
}

static void window_union(const struct enoent_counts *c, uint64_t epoch_now, uint64_t min_epoch,
			 uint8_t reg[ENOENT_REGISTERS])
{
	memset(reg, 0, ENOENT_REGISTERS);
	for (int s = 0; s < ENOENT_SLOTS; s++)
		if (slot_live(c, s, epoch_now, min_epoch))
			enoent_sketch_merge(reg, c->slot[s]);
}

double enoent_window_distinct(const struct enoent_counts *c, uint64_t slice_ns, uint64_t now_ns,
			      uint64_t *ret_count)
{
	uint8_t reg[ENOENT_REGISTERS];
	uint64_t epoch = now_ns / slice_ns;

	if (ret_count)
		*ret_count = window_count(c, epoch, 0);
	window_union(c, epoch, 0, reg);
	return enoent_sketch_estimate(reg);
}

/* ---- the table --------------------------------------------------------------- */

static uint32_t key_hash(const struct enoent_key *k)
{
	uint64_t h = k->tgid * 0x9e3779b97f4a7c15ULL;

	h ^= k->dev + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h ^= k->ino + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h ^= k->dirname_hash + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return (uint32_t)(h ^ (h >> 32));
}

static bool key_eq(const struct enoent_key *a, const struct enoent_key *b)
{
	return a->tgid == b->tgid && a->dev == b->dev && a->ino == b->ino &&
	       a->dirname_hash == b->dirname_hash;
}

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = 16;

	while (p < n)
		p <<= 1;
	return p;
}

int enoent_init(struct enoent_detector *d, const struct policy_enoent *conf)
{
	uint32_t cap;

	memset(d, 0, sizeof(*d));
	d->conf = *conf;
	d->conf.directories = NULL;
	d->conf.n_directories = 0;
	if (!d->conf.max_directories)
		d->conf.max_directories = POLICY_ENOENT_MAX_DIRECTORIES;
	d->per_process_max = ENOENT_DIRS_PER_PROCESS;
	d->slice_ns = d->conf.window_ns / ENOENT_BUCKETS;
	if (!d->slice_ns)
		d->slice_ns = 1;
	cap = d->conf.max_directories;
	d->n_heads = pow2_at_least(cap);
	d->heads = malloc(d->n_heads * sizeof(*d->heads));
	d->proc_heads = malloc(d->n_heads * sizeof(*d->proc_heads));
	d->procs = malloc(cap * sizeof(*d->procs));
	if (!d->heads || !d->proc_heads || !d->procs) {
		enoent_done(d);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < d->n_heads; i++)
		d->heads[i] = d->proc_heads[i] = -1;
	/* one process per pair at most: the pool of process counts never runs out */
	for (uint32_t i = 0; i < cap; i++)
		d->procs[i].next = i + 1 < cap ? (int32_t)(i + 1) : -1;
	d->proc_free = 0;
	d->free_head = -1;
	d->lru_oldest = d->lru_newest = -1;
	return 0;
}

void enoent_done(struct enoent_detector *d)
{
	for (uint32_t i = 0; i < d->n_alloc; i++)
		if (d->entries[i].used && d->release)
			d->release(d->flush_opaque, &d->entries[i]);
	free(d->entries);
	free(d->heads);
	free(d->proc_heads);
	free(d->procs);
	d->entries = NULL;
	d->heads = d->proc_heads = NULL;
	d->procs = NULL;
	d->n_alloc = d->n_used = 0;
}

int enoent_set_conf(struct enoent_detector *d, const struct policy_enoent *conf)
{
	void (*flush)(void *, struct enoent_entry *) = d->flush;
	void (*release)(void *, struct enoent_entry *) = d->release;
	void *opaque = d->flush_opaque;
	uint64_t evictions = d->evictions, storms = d->storms;
	uint32_t per_process_max = d->per_process_max;
	int r;

	if (conf->window_ns == d->conf.window_ns &&
	    (conf->max_directories ?: POLICY_ENOENT_MAX_DIRECTORIES) == d->conf.max_directories) {
		struct policy_enoent keep = *conf;

		keep.directories = NULL;
		keep.n_directories = 0;
		keep.max_directories = d->conf.max_directories;
		d->conf = keep;
		return 0;
	}
	/* open storms are reported with what they have before the table starts afresh */
	for (uint32_t i = 0; i < d->n_alloc; i++)
		if (d->entries[i].used && d->entries[i].storm && flush)
			flush(opaque, &d->entries[i]);
	enoent_done(d);
	r = enoent_init(d, conf);
	d->flush = flush;
	d->release = release;
	d->flush_opaque = opaque;
	d->evictions = evictions;
	d->storms = storms;
	d->per_process_max = per_process_max;
	return r;
}

static int32_t *proc_slot(struct enoent_detector *d, pid_t tgid)
{
	int32_t *p = &d->proc_heads[(uint32_t)tgid * 2654435761U & (d->n_heads - 1)];

	while (*p >= 0 && d->procs[*p].tgid != tgid)
		p = &d->procs[*p].next;
	return p;
}

static uint32_t proc_count(struct enoent_detector *d, pid_t tgid)
{
	int32_t *p = proc_slot(d, tgid);

	return *p >= 0 ? d->procs[*p].n : 0;
}

static void proc_adjust(struct enoent_detector *d, pid_t tgid, int delta)
{
	int32_t *p = proc_slot(d, tgid), i;

	if (*p < 0) {
		if (delta < 0 || d->proc_free < 0)
			return;
		i = d->proc_free;
		d->proc_free = d->procs[i].next;
		d->procs[i] = (struct enoent_proc){ .tgid = tgid, .n = 0, .next = -1 };
		*p = i;
	}
	i = *p;
	d->procs[i].n += (uint32_t)delta;
	if (d->procs[i].n == 0) {
		*p = d->procs[i].next;
		d->procs[i].next = d->proc_free;
		d->proc_free = i;
	}
}

static void lru_unlink(struct enoent_detector *d, struct enoent_entry *e)
{
	if (e->lru_prev >= 0)
		d->entries[e->lru_prev].lru_next = e->lru_next;
	else
		d->lru_oldest = e->lru_next;
	if (e->lru_next >= 0)
		d->entries[e->lru_next].lru_prev = e->lru_prev;
	else
		d->lru_newest = e->lru_prev;
	e->lru_prev = e->lru_next = -1;
}

static void lru_push_newest(struct enoent_detector *d, struct enoent_entry *e)
{
	int32_t i = (int32_t)(e - d->entries);

	e->lru_prev = d->lru_newest;
	e->lru_next = -1;
	if (d->lru_newest >= 0)
		d->entries[d->lru_newest].lru_next = i;
	else
		d->lru_oldest = i;
	d->lru_newest = i;
}

static int32_t *chain_of(struct enoent_detector *d, const struct enoent_key *key)
{
	int32_t *p = &d->heads[key_hash(key) & (d->n_heads - 1)];

	while (*p >= 0 && !key_eq(&d->entries[*p].key, key))
		p = &d->entries[*p].hnext;
	return p;
}

struct enoent_entry *enoent_find(struct enoent_detector *d, const struct enoent_key *key)
{
	int32_t *p = chain_of(d, key);

	return *p >= 0 ? &d->entries[*p] : NULL;
}

void enoent_drop(struct enoent_detector *d, struct enoent_entry *e)
{
	int32_t *p = chain_of(d, &e->key), i = (int32_t)(e - d->entries);

	if (d->release)
		d->release(d->flush_opaque, e);
	if (*p == i)
		*p = e->hnext;
	lru_unlink(d, e);
	proc_adjust(d, (pid_t)e->key.tgid, -1);
	e->used = false;
	e->hnext = d->free_head;
	d->free_head = i;
	d->n_used--;
}

/* Make room by dropping a pair: its storm, if open, reported first. */
static void evict(struct enoent_detector *d, struct enoent_entry *e)
{
	if (e->storm && d->flush)
		d->flush(d->flush_opaque, e);
	enoent_drop(d, e);
	d->evictions++;
}

/* The least recently failed pair of tgid (the walk from the oldest; bounded by the table). */
static struct enoent_entry *oldest_of(struct enoent_detector *d, pid_t tgid)
{
	for (int32_t i = d->lru_oldest; i >= 0; i = d->entries[i].lru_next)
		if ((pid_t)d->entries[i].key.tgid == tgid)
			return &d->entries[i];
	return NULL;
}

struct enoent_entry *enoent_get(struct enoent_detector *d, const struct enoent_key *key,
				uint64_t now_ns, bool *ret_new)
{
	struct enoent_entry *e;
	int32_t *p = chain_of(d, key), i;

	*ret_new = false;
	if (*p >= 0) {
		e = &d->entries[*p];
		if (e->lru_next >= 0) {
			lru_unlink(d, e);
			lru_push_newest(d, e);
		}
		return e;
	}
	if (proc_count(d, (pid_t)key->tgid) >= d->per_process_max) {
		e = oldest_of(d, (pid_t)key->tgid);
		if (e)
			evict(d, e);
	} else if (d->n_used >= d->conf.max_directories && d->lru_oldest >= 0)
		evict(d, &d->entries[d->lru_oldest]);
	if (d->free_head < 0) {
		/* the pool grows by doubling up to max_directories (indices stay valid) */
		uint32_t n = d->n_alloc ? d->n_alloc * 2 : 16;
		struct enoent_entry *ne;

		if (n > d->conf.max_directories)
			n = d->conf.max_directories;
		if (n <= d->n_alloc)
			return NULL;
		ne = realloc(d->entries, n * sizeof(*ne));
		if (!ne)
			return NULL;
		d->entries = ne;
		for (uint32_t j = n; j-- > d->n_alloc;) {
			ne[j].used = false;
			ne[j].hnext = d->free_head;
			d->free_head = (int32_t)j;
		}
		d->n_alloc = n;
	}
	i = d->free_head;
	e = &d->entries[i];
	d->free_head = e->hnext;
	memset(e, 0, sizeof(*e));
	e->key = *key;
	e->used = true;
	p = chain_of(d, key); /* an eviction may have changed the chain */
	e->hnext = *p;
	*p = i;
	lru_push_newest(d, e);
	proc_adjust(d, (pid_t)key->tgid, 1);
	d->n_used++;
	(void)now_ns;
	*ret_new = true;
	return e;
}

bool enoent_plausible(const struct enoent_detector *d, const struct enoent_entry *e,
		      uint64_t now_ns)
{
	double need = d->conf.distinct_per_s * (double)d->conf.window_ns / 1e9;

	return (double)window_count(&e->c, now_ns / d->slice_ns, e->min_epoch) >= need;
}

double enoent_rate_per_s(const struct enoent_detector *d, const struct enoent_entry *e,
			 uint64_t now_ns)
{
	return enoent_window_distinct(&e->c, d->slice_ns, now_ns, NULL) * 1e9 /
	       (double)d->conf.window_ns;
}

bool enoent_check(struct enoent_detector *d, struct enoent_entry *e, uint64_t now_ns, bool force)
{
	uint64_t epoch = now_ns / d->slice_ns, wcount, start_ns;
	double need = d->conf.distinct_per_s * (double)d->conf.window_ns / 1e9, distinct;
	uint8_t reg[ENOENT_REGISTERS];

	/*
	 * The estimate (a merge of the window's sketches) is made at most
	 * ENOENT_EVAL_PER_BUCKET times a slice, or when need / that many
	 * lookups came since the last one: a burst is decided within 1/8 of
	 * what makes a storm, a trickle within 1/8 of a slice.
	 */
	if (!force && now_ns - e->evaluated_ns < d->slice_ns / ENOENT_EVAL_PER_BUCKET &&
	    (double)(e->c.count - e->evaluated_count) < need / ENOENT_EVAL_PER_BUCKET)
		return false;
	e->evaluated_ns = now_ns;
	e->evaluated_count = e->c.count;
	/* fewer lookups than the names needed: no estimate to make */
	wcount = window_count(&e->c, epoch, e->min_epoch);
	if ((double)wcount < need)
		return false;
	window_union(&e->c, epoch, e->min_epoch, reg);
	distinct = enoent_sketch_estimate(reg);
	if (e->storm) {
		double rate = distinct * 1e9 / (double)d->conf.window_ns;

		if (rate > e->storm_peak_per_s)
			e->storm_peak_per_s = rate;
		enoent_sketch_merge(e->storm_names.reg, reg);
		return false;
	}
	if (distinct < need)
		return false;
	e->storm = true;
	e->storm_open_ns = now_ns;
	/* the storm began with the window that made it: its oldest live slice */
	start_ns = now_ns;
	for (int s = 0; s < ENOENT_SLOTS; s++)
		if (slot_live(&e->c, s, epoch, e->min_epoch) &&
		    e->c.epoch[s] * d->slice_ns < start_ns)
			start_ns = e->c.epoch[s] * d->slice_ns;
	e->storm_start_ns = start_ns > e->c.first_ns ? start_ns : e->c.first_ns;
	e->storm_count_base = e->c.count - wcount;
	e->storm_peak_per_s = distinct * 1e9 / (double)d->conf.window_ns;
	memcpy(e->storm_names.reg, reg, sizeof(reg));
	d->storms++;
	return true;
}

struct enoent_entry *enoent_observe(struct enoent_detector *d, const struct enoent_key *key,
				    uint64_t name_hash, const char *name, size_t name_len,
				    uint64_t now_ns, bool *ret_new, bool *ret_opened)
{
	struct enoent_entry *e = enoent_get(d, key, now_ns, ret_new);

	*ret_opened = false;
	if (!e)
		return NULL;
	enoent_add(&e->c, d->slice_ns, now_ns, name_hash, name, name_len);
	if (e->storm)
		enoent_sketch_add(e->storm_names.reg, name_hash);
	*ret_opened = enoent_check(d, e, now_ns, false);
	if (enoent_check_day(d, e, now_ns))
		*ret_opened = true;
	return e;
}

bool enoent_check_day(struct enoent_detector *d, struct enoent_entry *e, uint64_t now_ns)
{
	uint64_t per_day = d->conf.distinct_per_day, distinct;

	if (!per_day || e->day_due || e->c.count == 0)
		return false;
	if (!e->day_start_ns)
		e->day_start_ns = e->c.first_ns;
	/* a day without enough: the next one counts from here (the sketch keeps everything) */
	if (now_ns - e->day_start_ns > POLICY_ENOENT_DAY_NS) {
		e->day_start_ns = now_ns;
		e->day_base_distinct = (uint64_t)llround(enoent_sketch_estimate(e->c.total));
		e->day_base_count = e->day_evaluated_count = e->c.count;
		return false;
	}
	/* fewer lookups than names needed, or too few since the last estimate */
	if (e->c.count - e->day_base_count < per_day ||
	    (e->day_evaluated_count > e->day_base_count &&
	     e->c.count - e->day_evaluated_count < per_day / ENOENT_EVAL_PER_BUCKET))
		return false;
	e->day_evaluated_count = e->c.count;
	distinct = (uint64_t)llround(enoent_sketch_estimate(e->c.total));
	if (distinct < e->day_base_distinct + per_day)
		return false;
	e->day_due = true;
	return true;
}

void enoent_day_closed(struct enoent_detector *d, struct enoent_entry *e, uint64_t now_ns)
{
	(void)d;
	e->day_due = false;
	e->day_start_ns = now_ns;
	e->day_base_distinct = (uint64_t)llround(enoent_sketch_estimate(e->c.total));
	e->day_base_count = e->day_evaluated_count = e->c.count;
}

uint64_t enoent_due_ns(const struct enoent_detector *d, const struct enoent_entry *e)
{
	if (e->day_due)
		return 0;
	return e->storm ? e->storm_open_ns + d->conf.window_ns : UINT64_MAX;
}

uint64_t enoent_next_due_ns(const struct enoent_detector *d)
{
	uint64_t next = UINT64_MAX;

	for (uint32_t i = 0; i < d->n_alloc; i++)
		if (d->entries[i].used && (d->entries[i].storm || d->entries[i].day_due) &&
		    enoent_due_ns(d, &d->entries[i]) < next)
			next = enoent_due_ns(d, &d->entries[i]);
	return next;
}

void enoent_closed(struct enoent_detector *d, struct enoent_entry *e, uint64_t now_ns)
{
	/* the next storm counts only names failed after this record: one record per window */
	e->min_epoch = now_ns / d->slice_ns + 1;
	e->storm = false;
	memset(&e->storm_names, 0, sizeof(e->storm_names));
	e->evaluated_ns = 0;
}
