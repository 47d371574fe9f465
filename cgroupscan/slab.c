/* SPDX-License-Identifier: MIT */
#include "slab.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h> /* isfinite() only: a macro, no -lm */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/macro.h"
#include "../common/timeutil.h"

#define SLABINFO_PATH "/proc/slabinfo"
/* ~120 bytes a row: 64 KiB holds ~540 caches; grown by doubling up to the cap */
#define SLABINFO_BUF_INITIAL (64 * 1024)
#define SLABINFO_BUF_MAX (64 * 1024 * 1024)

/* 2^63: the largest byte count JSON carries as a json_int_t */
#define BYTES_LIMIT 9223372036854775808.0

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A kmalloc size suffix: digits, optionally followed by 'k' or 'M' ("32", "8k", "2M"). */
static bool is_size(const char *s)
{
	const char *p = s;

	while (*p >= '0' && *p <= '9')
		p++;
	if (p == s)
		return false;
	if (*p == 'k' || *p == 'M')
		p++;
	return *p == '\0';
}

/* The documented fallback list (slab.h) for kernels without /sys/kernel/slab. */
static bool name_reclaimable(const char *name)
{
	static const char *const exact[] = {
		"dentry",      "inode_cache", "radix_tree_node",
		"buffer_head", "xfs_inode",   "btrfs_inode",
	};

	if (starts_with(name, "kmalloc-rcl-"))
		return true;
	if (ends_with(name, "_inode_cache"))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(exact); i++)
		if (strcmp(name, exact[i]) == 0)
			return true;
	return false;
}

/* The size of a kmalloc variant name ("32" for kmalloc-rnd-05-32), or NULL if it is none. */
static const char *kmalloc_size(const char *name)
{
	static const char *const prefixes[] = { "kmalloc-cg-", "dma-kmalloc-" };
	const char *p;

	if (starts_with(name, "kmalloc-rnd-")) {
		p = name + strlen("kmalloc-rnd-");
		if (!(*p >= '0' && *p <= '9'))
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p != '-')
			return NULL;
		p++;
		return is_size(p) ? p : NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		if (starts_with(name, prefixes[i])) {
			p = name + strlen(prefixes[i]);
			return is_size(p) ? p : NULL;
		}
	}
	if (starts_with(name, "kmalloc-")) {
		p = name + strlen("kmalloc-");
		return is_size(p) ? p : NULL;
	}
	return NULL;
}

void slab_family(const char *name, char *family, size_t size, bool *reclaimable)
{
	const char *sz;

	if (!name)
		name = "";
	if (reclaimable)
		*reclaimable = name_reclaimable(name);
	if (!family || size == 0)
		return;
	sz = kmalloc_size(name);
	if (sz)
		snprintf(family, size, "kmalloc-%s", sz);
	else
		snprintf(family, size, "%s", name);
}

/* SYSFS_ROOT/NAME/reclaim_account: 1 or 0, or -1 when sysfs does not say. */
static int sysfs_reclaim_account(const char *sysfs_root, const char *name)
{
	char path[4096], buf[16];
	_cleanup_close_ int fd = -1;
	ssize_t r;
	int len;

	if (!sysfs_root || !*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return -1;
	len = snprintf(path, sizeof(path), "%s/%s/reclaim_account", sysfs_root, name);
	if (len < 0 || (size_t)len >= sizeof(path))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	do
		r = read(fd, buf, sizeof(buf) - 1);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return -1;
	buf[r] = '\0';
	if (strcmp(buf, "1\n") == 0 || strcmp(buf, "1") == 0)
		return 1;
	if (strcmp(buf, "0\n") == 0 || strcmp(buf, "0") == 0)
		return 0;
	return -1;
}

bool slab_is_reclaimable(const char *sysfs_root, const char *name)
{
	int r;

	if (!name)
		return false;
	r = sysfs_reclaim_account(sysfs_root, name);
	return r >= 0 ? r == 1 : name_reclaimable(name);
}

size_t slab_refine_reclaimable(const char *sysfs_root, struct slab_cache *caches, size_t n)
{
	size_t answered = 0;

	for (size_t i = 0; caches && i < n; i++) {
		int r = sysfs_reclaim_account(sysfs_root, caches[i].name);

		caches[i].reclaimable = r >= 0 ? r == 1 : name_reclaimable(caches[i].name);
		answered += r >= 0;
	}
	return answered;
}

/* Parse one decimal u64 after blanks; advances *p. false on no digits or overflow. */
static bool parse_u64(const char **p, const char *end, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s >= end || !(*s >= '0' && *s <= '9'))
		return false;
	while (s < end && *s >= '0' && *s <= '9') {
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *s - '0', &v))
			return false;
		s++;
	}
	if (s < end && *s != ' ' && *s != '\t')
		return false;
	*p = s;
	*ret = v;
	return true;
}

/* One data row [line, end). false: malformed, skipped. */
static bool parse_row(const char *line, const char *end, struct slab_cache *c)
{
	const char *p = line, *name_end;
	size_t len;

	name_end = p;
	while (name_end < end && *name_end != ' ' && *name_end != '\t')
		name_end++;
	len = (size_t)(name_end - p);
	if (len == 0)
		return false;
	if (len >= sizeof(c->name))
		len = sizeof(c->name) - 1;
	*c = (struct slab_cache){};
	memcpy(c->name, p, len);
	c->name[len] = '\0';
	p = name_end;
	if (!parse_u64(&p, end, &c->active_objs) || !parse_u64(&p, end, &c->num_objs) ||
	    !parse_u64(&p, end, &c->objsize))
		return false;
	c->bytes = mul_sat(c->active_objs, c->objsize);
	c->total_bytes = mul_sat(c->num_objs, c->objsize);
	c->reclaimable = name_reclaimable(c->name);
	return true;
}

int slab_parse(const char *text, struct slab_cache **ret, size_t *ret_n)
{
	_cleanup_free_ struct slab_cache *v = NULL;
	size_t lines = 1, n = 0;

	if (!text || !ret || !ret_n)
		return -EINVAL;
	if (!starts_with(text, "slabinfo - version: 2."))
		return -EINVAL;

	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	v = calloc(lines, sizeof(*v));
	if (!v)
		return -ENOMEM;

	for (const char *line = text; *line;) {
		const char *end = strchrnul(line, '\n');

		if (!starts_with(line, "slabinfo") && *line != '#' && line < end &&
		    parse_row(line, end, &v[n]))
			n++;
		line = *end ? end + 1 : end;
	}

	if (n == 0) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

/* Grow *buf (owned by the caller; NULL at first) to SLABINFO_BUF_INITIAL, then by doubling. */
static int buf_grow(char **buf, size_t *cap)
{
	size_t want = *cap ? *cap * 2 : SLABINFO_BUF_INITIAL;
	char *bigger;

	if (want > SLABINFO_BUF_MAX)
		return -EFBIG;
	bigger = realloc(*buf, want);
	if (!bigger)
		return -ENOMEM;
	*buf = bigger;
	*cap = want;
	return 0;
}

int slab_read(struct slab_cache **ret, size_t *ret_n, uint64_t *ret_read_ns)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	size_t cap = 0, len = 0;
	uint64_t start;
	int r;

	if (!ret || !ret_n)
		return -EINVAL;
	/* allocate before the clock starts: the time is the kernel's, not malloc's */
	r = buf_grow(&buf, &cap);
	if (r < 0)
		return r;

	start = sw_mono_ns();
	fd = open(SLABINFO_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t got;

		if (len + 1 >= cap) {
			r = buf_grow(&buf, &cap);
			if (r < 0)
				return r;
		}
		got = read(fd, buf + len, cap - len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			break;
		len += (size_t)got;
	}
	close(TAKE_FD(fd));
	if (ret_read_ns)
		*ret_read_ns = sw_mono_ns() - start;
	buf[len] = '\0';
	return slab_parse(buf, ret, ret_n);
}

struct family_ref {
	char family[SLAB_NAME_MAX];
	size_t index; /* into the input: keeps "objsize of the first" stable */
};

static int cmp_family_ref(const void *a, const void *b)
{
	const struct family_ref *x = a, *y = b;
	int c = strcmp(x->family, y->family);

	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int cmp_bytes_desc(const void *a, const void *b)
{
	const struct slab_cache *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return strcmp(x->name, y->name);
}

int slab_aggregate(const struct slab_cache *in, size_t n, struct slab_cache **ret, size_t *ret_n)
{
	_cleanup_free_ struct family_ref *refs = NULL;
	_cleanup_free_ struct slab_cache *out = NULL;
	size_t m = 0;

	if ((!in && n > 0) || !ret || !ret_n)
		return -EINVAL;
	if (n == 0) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	refs = calloc(n, sizeof(*refs));
	out = calloc(n, sizeof(*out));
	if (!refs || !out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		slab_family(in[i].name, refs[i].family, sizeof(refs[i].family), NULL);
		refs[i].index = i;
	}
	qsort(refs, n, sizeof(*refs), cmp_family_ref);

	for (size_t i = 0; i < n; i++) {
		const struct slab_cache *c = &in[refs[i].index];
		struct slab_cache *f;

		if (i == 0 || strcmp(refs[i].family, refs[i - 1].family) != 0) {
			f = &out[m++];
			snprintf(f->name, sizeof(f->name), "%s", refs[i].family);
			f->objsize = c->objsize;
		} else {
			f = &out[m - 1];
		}
		f->active_objs = add_sat(f->active_objs, c->active_objs);
		f->num_objs = add_sat(f->num_objs, c->num_objs);
		f->bytes = add_sat(f->bytes, c->bytes);
		f->total_bytes = add_sat(f->total_bytes, c->total_bytes);
		f->reclaimable = f->reclaimable || c->reclaimable;
	}
	qsort(out, m, sizeof(*out), cmp_bytes_desc);
	*ret = TAKE_PTR(out);
	*ret_n = m;
	return 0;
}

/* ---- history ---- */

struct slab_series {
	char family[SLAB_NAME_MAX];
	size_t n;
	struct trend_point pts[SLAB_HISTORY_MAX]; /* oldest first */
};

struct slab_history {
	struct slab_series **s;
	size_t n, cap;
};

struct slab_history *slab_history_new(void)
{
	return calloc(1, sizeof(struct slab_history));
}

void slab_history_free(struct slab_history *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		free(h->s[i]);
	free(h->s);
	free(h);
}

size_t slab_history_size(const struct slab_history *h)
{
	return h ? h->n : 0;
}

/* Index of family's series, or h->n. */
static size_t series_index(const struct slab_history *h, const char *family)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (strcmp(h->s[i]->family, family) == 0)
			break;
	return i;
}

static struct slab_series *series_find(const struct slab_history *h, const char *family)
{
	size_t i = series_index(h, family);

	return i < h->n ? h->s[i] : NULL;
}

static void series_remove(struct slab_history *h, size_t i)
{
	free(h->s[i]);
	memmove(&h->s[i], &h->s[i + 1], (h->n - i - 1) * sizeof(*h->s));
	h->n--;
}

static double series_last(const struct slab_series *s)
{
	return s->n ? s->pts[s->n - 1].value : 0;
}

/*
 * A new series for family, or NULL: -ENOMEM in *r, or 0 when the history is
 * full of families at least as large as bytes.
 */
static struct slab_series *series_new(struct slab_history *h, const char *family, double bytes,
				      int *r)
{
	struct slab_series *s;

	*r = 0;
	if (h->n >= SLAB_HISTORY_MAX_SERIES) {
		size_t smallest = 0;

		for (size_t i = 1; i < h->n; i++)
			if (series_last(h->s[i]) < series_last(h->s[smallest]))
				smallest = i;
		if (!(series_last(h->s[smallest]) < bytes))
			return NULL;
		series_remove(h, smallest);
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct slab_series **v = realloc(h->s, cap * sizeof(*v));

		if (!v) {
			*r = -ENOMEM;
			return NULL;
		}
		h->s = v;
		h->cap = cap;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		*r = -ENOMEM;
		return NULL;
	}
	snprintf(s->family, sizeof(s->family), "%s", family);
	h->s[h->n++] = s;
	return s;
}

/* Append with the order, step and bound rules of slab.h. */
static void series_push(struct slab_series *s, double t_s, double bytes)
{
	if (s->n > 0) {
		struct trend_point *last = &s->pts[s->n - 1];

		if (!(t_s > last->t_s))
			return;
		if (s->n >= 2 && last->t_s - s->pts[s->n - 2].t_s < SLAB_HISTORY_STEP_S) {
			*last = (struct trend_point){ t_s, bytes };
			return;
		}
	}
	if (s->n == SLAB_HISTORY_MAX) {
		memmove(&s->pts[0], &s->pts[1], (SLAB_HISTORY_MAX - 1) * sizeof(s->pts[0]));
		s->n--;
	}
	s->pts[s->n++] = (struct trend_point){ t_s, bytes };
}

static int cmp_u64_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x > y ? -1 : x < y;
}

static double bytes_value(uint64_t bytes)
{
	double v = (double)bytes;

	/* keep every stored value representable as a JSON integer */
	return v < BYTES_LIMIT ? v : BYTES_LIMIT - 1024;
}

int slab_history_add(struct slab_history *h, double t_s, const struct slab_cache *families,
		     size_t n)
{
	_cleanup_free_ uint64_t *sizes = NULL;
	uint64_t top_min = 1; /* smallest size still among the top */
	size_t m = 0;

	if (!h || !isfinite(t_s) || (!families && n > 0))
		return -EINVAL;

	sizes = calloc(n ? n : 1, sizeof(*sizes));
	if (!sizes)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!families[i].reclaimable)
			sizes[m++] = families[i].bytes;
	if (m > SLAB_HISTORY_TOP) {
		qsort(sizes, m, sizeof(*sizes), cmp_u64_desc);
		if (sizes[SLAB_HISTORY_TOP - 1] > top_min)
			top_min = sizes[SLAB_HISTORY_TOP - 1];
	}

	for (size_t i = 0; i < n; i++) {
		const struct slab_cache *f = &families[i];
		size_t k = series_index(h, f->name);
		struct slab_series *s = k < h->n ? h->s[k] : NULL;

		if (f->reclaimable) {
			if (s)
				series_remove(h, k);
			continue;
		}
		if (!s) {
			int r;

			if (f->bytes < SLAB_HISTORY_MIN_BYTES && f->bytes < top_min)
				continue;
			s = series_new(h, f->name, bytes_value(f->bytes), &r);
			if (!s) {
				if (r < 0)
					return r;
				continue;
			}
		}
		series_push(s, t_s, bytes_value(f->bytes));
	}
	return 0;
}

void slab_history_prune(struct slab_history *h, double now_s, double max_age_s)
{
	double cutoff = now_s - max_age_s;

	if (!h || !isfinite(cutoff))
		return;
	for (size_t i = h->n; i-- > 0;) {
		struct slab_series *s = h->s[i];
		size_t drop = 0;

		while (drop < s->n && s->pts[drop].t_s < cutoff)
			drop++;
		if (drop == s->n) {
			series_remove(h, i);
			continue;
		}
		memmove(&s->pts[0], &s->pts[drop], (s->n - drop) * sizeof(s->pts[0]));
		s->n -= drop;
	}
}

size_t slab_history_points(const struct slab_history *h, const char *family,
			   struct trend_point *out, size_t max)
{
	const struct slab_series *s;

	if (!h || !family)
		return 0;
	s = series_find(h, family);
	if (!s)
		return 0;
	if (out)
		memcpy(out, s->pts, (max < s->n ? max : s->n) * sizeof(*out));
	return s->n;
}

/* Largest fall between consecutive points relative to the level before it. */
static double max_relative_drop(const struct slab_series *s)
{
	double worst = 0;

	for (size_t i = 1; i < s->n; i++) {
		double before = s->pts[i - 1].value, fall = before - s->pts[i].value;

		if (fall > 0 && before > 0 && fall / before > worst)
			worst = fall / before;
	}
	return worst;
}

static int cmp_leak(const void *a, const void *b)
{
	const struct slab_leak *x = a, *y = b;

	if (x->slope_bytes_per_hour != y->slope_bytes_per_hour)
		return x->slope_bytes_per_hour > y->slope_bytes_per_hour ? -1 : 1;
	return strcmp(x->family, y->family);
}

static void leak_from(struct slab_leak *l, const struct slab_series *s, const struct trend_fit *f)
{
	*l = (struct slab_leak){
		.slope_bytes_per_hour = f->slope_per_s * 3600.0,
		.r2 = f->r2,
		.span_s = f->span_s,
		.bytes_now = (uint64_t)series_last(s),
		.points = s->n,
	};
	snprintf(l->family, sizeof(l->family), "%s", s->family);
}

int slab_history_leaks(const struct slab_history *h, double min_span_s, double min_bytes_per_hour,
		       double min_r2, struct slab_leak **ret, size_t *ret_n)
{
	_cleanup_free_ struct slab_leak *v = NULL;
	size_t m = 0;

	if (!h || !ret || !ret_n)
		return -EINVAL;
	if (h->n > 0) {
		v = calloc(h->n, sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	for (size_t i = 0; i < h->n; i++) {
		/* never reclaimable: add() drops those, from_json() skips them */
		const struct slab_series *s = h->s[i];
		struct trend_fit f;

		if (s->n < SLAB_LEAK_MIN_POINTS)
			continue;
		if (trend_fit(s->pts, s->n, &f) < 0)
			continue;
		if (f.span_s < min_span_s || f.slope_per_s * 3600.0 < min_bytes_per_hour ||
		    f.r2 < min_r2 || !(f.slope_per_s > 0))
			continue;
		if (max_relative_drop(s) > SLAB_LEAK_MAX_DROP)
			continue;
		leak_from(&v[m++], s, &f);
	}
	if (m == 0) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	qsort(v, m, sizeof(*v), cmp_leak);
	*ret = TAKE_PTR(v);
	*ret_n = m;
	return 0;
}

int slab_history_top_growing(const struct slab_history *h, size_t max, struct slab_leak **ret,
			     size_t *ret_n)
{
	_cleanup_free_ struct slab_leak *v = NULL;
	size_t m = 0;

	if (!h || !ret || !ret_n)
		return -EINVAL;
	if (h->n > 0 && max > 0) {
		v = calloc(h->n, sizeof(*v));
		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < h->n; i++) {
			struct trend_fit f;

			if (trend_fit(h->s[i]->pts, h->s[i]->n, &f) < 0 || !(f.slope_per_s > 0))
				continue;
			leak_from(&v[m++], h->s[i], &f);
		}
	}
	if (m == 0) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	qsort(v, m, sizeof(*v), cmp_leak);
	*ret = TAKE_PTR(v);
	*ret_n = m < max ? m : max;
	return 0;
}

/* jansson 2.14 ships json_decrefp() for exactly this (json_auto_t) */
#define _cleanup_json_ _cleanup_(json_decrefp)

json_t *slab_history_to_json(const struct slab_history *h)
{
	_cleanup_json_ json_t *root = json_object();
	json_t *families = json_object();

	if (!root || !families || json_object_set_new(root, "families", families) < 0)
		return NULL;
	for (size_t i = 0; h && i < h->n; i++) {
		const struct slab_series *s = h->s[i];
		json_t *arr = json_array();

		if (!arr || json_object_set_new(families, s->family, arr) < 0)
			return NULL;
		for (size_t k = 0; k < s->n; k++) {
			json_t *pt = json_pack("[f,I]", s->pts[k].t_s, (json_int_t)s->pts[k].value);

			if (!pt || json_array_append_new(arr, pt) < 0)
				return NULL;
		}
	}
	return TAKE_PTR(root);
}

/* A stored point: [finite t_s, integer-valued bytes in 0..2^63). */
static bool json_point(const json_t *pt, double *t_s, double *bytes)
{
	const json_t *t, *b;
	double bv;

	if (!json_is_array(pt) || json_array_size(pt) != 2)
		return false;
	t = json_array_get(pt, 0);
	b = json_array_get(pt, 1);
	if (!json_is_number(t) || !json_is_number(b))
		return false;
	*t_s = json_number_value(t);
	bv = json_number_value(b);
	if (!isfinite(*t_s) || !isfinite(bv) || bv < 0 || bv >= BYTES_LIMIT ||
	    bv != (double)(int64_t)bv)
		return false;
	*bytes = bv;
	return true;
}

int slab_history_from_json(struct slab_history *h, const json_t *j)
{
	const json_t *families, *series;
	const char *name;

	if (!h || !json_is_object(j))
		return -EINVAL;
	families = json_object_get(j, "families");
	if (!json_is_object(families))
		return 0;
	/* json_object_foreach() wants a non-const object; nothing here modifies it */
	json_object_foreach((json_t *)families, name, series)
	{
		struct slab_series *s;
		bool reclaimable;
		size_t len = strlen(name), k;
		double t_s = 0, bytes = 0;
		int r;

		slab_family(name, NULL, 0, &reclaimable);
		if (len == 0 || len >= SLAB_NAME_MAX || reclaimable || !json_is_array(series))
			continue;
		/* no series for a family without one good point */
		for (k = 0; k < json_array_size(series); k++)
			if (json_point(json_array_get(series, k), &t_s, &bytes))
				break;
		if (k == json_array_size(series))
			continue;
		s = series_find(h, name);
		if (!s) {
			const json_t *last = json_array_get(series, json_array_size(series) - 1);
			double last_t, last_bytes = bytes;

			json_point(last, &last_t, &last_bytes);
			s = series_new(h, name, last_bytes, &r);
			if (!s) {
				if (r < 0)
					return r;
				continue;
			}
		}
		for (; k < json_array_size(series); k++)
			if (json_point(json_array_get(series, k), &t_s, &bytes))
				series_push(s, t_s, bytes);
	}
	return 0;
}
