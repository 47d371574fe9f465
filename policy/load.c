/* SPDX-License-Identifier: MIT */
/*
 * load.c - policy files to a compiled policy (see load.h, doc/policy.md).
 *
 * Two phases. Phase 1 reads each source in order: JSON syntax (jansson,
 * duplicate keys rejected), the top-level shape, targets, lists and scan
 * thresholds (self-contained, compiled at once), and the rule fragments,
 * which are only sorted by name (replace / append) because they may refer
 * to targets and lists of any file. Phase 2 compiles every rule fragment in
 * load order - also replaced ones, so their mistakes are reported too - and
 * the live ones become the policy's rules.
 *
 * jansson has positions only for syntax errors; every other diagnostic
 * looks its value's position up in a per-file jsonpos index by JSON Pointer.
 */
#include "load.h"

#include <jansson.h>
#include <stdarg.h>
#include <string.h>

#include "../common/comm.h"
#include "../common/fileio.h"
#include "../common/strmap.h"
#include "../common/suggest.h"
#include "../common/timeutil.h"
#include "duration.h"
#include "jsonpos.h"

#define MAX_POLICY_BYTES (16 * 1024 * 1024)
#define PTR_MAX 512
#define MAX_RATE_LIMIT 1000000 /* records per minute; keeps the token bucket in 64 bits */
#define PID_MAX_LIMIT 4194304 /* include/linux/threads.h, 64-bit */

struct src {
	char *name;
	char *text;
	size_t len;
	json_t *root;
	struct jsonpos pos;
};

/* A JSON object in one source: a target, list, rule or scan object. */
struct frag {
	size_t src;
	char ptr[PTR_MAX];
	json_t *value;
};

struct named {
	char name[POLICY_NAME_MAX];
	struct frag def;
	struct policy_target target; /* targets only */
	bool used;
};

struct rule_frag {
	struct frag f;
	bool append;
	size_t rule; /* index into loader.rules */
	bool live; /* contributes to the final rule (not replaced later) */
	size_t prev; /* the rule's fragment before this one, or SIZE_MAX */
};

struct rule_def {
	char name[POLICY_NAME_MAX];
	size_t first_frag; /* the base fragment that is live */
	size_t last_frag; /* its newest fragment (the chain of rule_frag.prev) */
};

struct loader {
	const struct policy_load_options *o;
	struct policy_diags *diags;
	struct src *srcs;
	size_t n_srcs;
	struct named *targets;
	size_t n_targets;
	struct named *lists;
	size_t n_lists;
	struct rule_frag *frags;
	size_t n_frags;
	struct rule_def *rules;
	size_t n_rules;
	struct policy_scan scan;
	struct policy_enoent enoent; /* enoent_storms, key by key over the sources */
	bool mark_used; /* references count as uses (not from replaced fragments) */
	bool oom;
	/*
	 * Indexes by name (into targets, lists, rules) and of the diagnostics
	 * said so far: every lookup O(1), so loading stays linear in the
	 * number of rules, targets, lists and diagnostics.
	 */
	struct sw_strmap target_ix, list_ix, rule_ix, diag_ix, errno_ix;
	bool errno_ix_built;
	struct syscall_set all; /* every syscall, for rules without `syscalls` */
	bool all_filled;
};

/*
 * Room for one more element in an array of n: arrays grow by doubling, with
 * the capacity implied by n (0, then 4, 8, 16...), so appending n elements
 * costs O(n), not O(n^2) reallocs and copies. Returns the (maybe moved)
 * array, or NULL with ld->oom set (the old array is kept).
 */
static void *reserve(struct loader *ld, void *v, size_t n, size_t elem)
{
	size_t cap;
	void *nv;

	if (n != 0 && (n < 4 || (n & (n - 1)) != 0))
		return v; /* n < its capacity */
	cap = n ? n * 2 : 4;
	if (cap > SIZE_MAX / elem) {
		ld->oom = true;
		return NULL;
	}
	nv = realloc(v, cap * elem);
	if (!nv)
		ld->oom = true;
	return nv;
}

/* ---- diagnostics ------------------------------------------------------ */

void policy_diags_free(struct policy_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].message);
	}
	free(d->v);
	*d = (struct policy_diags){};
}

void policy_diag_format(const struct policy_diag *d, char *buf, size_t size)
{
	if (!d->line) {
		snprintf(buf, size, "%s: %s", d->file, d->message);
		return;
	}
	snprintf(buf, size, "%s:%u:%u: %s[%s]: %s", d->file, d->line, d->column,
		 d->error ? "error" : "warning", d->code, d->message);
}

static void diag_at(struct loader *ld, size_t src, unsigned line, unsigned column, bool error,
		    const char *code, const char *message)
{
	const char *file = ld->srcs[src].name;
	struct policy_diags *d = ld->diags;
	struct policy_diag *nd;
	char key[1200];
	int r;

	/* a list used by several rules would repeat its element's error */
	snprintf(key, sizeof(key), "%zu:%u:%u:%s:%s", src, line, column, code, message);
	r = sw_strmap_add(&ld->diag_ix, key, d->n);
	if (r == -EEXIST)
		return;
	if (r < 0) {
		ld->oom = true;
		return;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct policy_diag *v = realloc(d->v, cap * sizeof(*v));

		if (!v) {
			ld->oom = true;
			return;
		}
		d->v = v;
		d->cap = cap;
	}
	nd = &d->v[d->n];
	/* 0:0 is the whole file (it could not be read); a position is at least 1:1 */
	*nd = (struct policy_diag){ .line = line || column ? line ?: 1 : 0,
				    .column = line || column ? column ?: 1 : 0,
				    .error = error,
				    .code = code,
				    .src = src,
				    .seq = d->n };
	nd->file = strdup(file);
	nd->message = strdup(message);
	if (!nd->file || !nd->message) {
		free(nd->file);
		free(nd->message);
		ld->oom = true;
		return;
	}
	d->n++;
	if (error)
		d->n_errors++;
	else
		d->n_warnings++;
}

/* Position of the value (or key) at ptr; falls back to the nearest ancestor. */
static void locate(const struct src *s, const char *ptr, bool at_key, unsigned *line, unsigned *col)
{
	char buf[PTR_MAX];
	char *slash;

	*line = *col = 1;
	if (at_key && jsonpos_key(&s->pos, ptr, line, col))
		return;
	snprintf(buf, sizeof(buf), "%s", ptr);
	for (;;) {
		if (jsonpos_value(&s->pos, buf, line, col))
			return;
		slash = strrchr(buf, '/');
		if (!slash)
			return;
		*slash = 0;
	}
}

static void diag(struct loader *ld, size_t src, const char *ptr, bool at_key, bool error,
		 const char *code, const char *fmt, ...) _printf_(7, 8);
static void diag(struct loader *ld, size_t src, const char *ptr, bool at_key, bool error,
		 const char *code, const char *fmt, ...)
{
	char message[1024];
	unsigned line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	locate(&ld->srcs[src], ptr, at_key, &line, &col);
	diag_at(ld, src, line, col, error, code, message);
}

#define ERR(ld, src, ptr, code, ...) diag(ld, src, ptr, false, true, code, __VA_ARGS__)
#define WARN_KEY(ld, src, ptr, code, ...) diag(ld, src, ptr, true, false, code, __VA_ARGS__)

/* child pointer of ptr: key or index; on overflow the parent's (a coarser position) */
static void child_key(char *out, const char *ptr, const char *key)
{
	snprintf(out, PTR_MAX, "%s", ptr);
	if (jsonpos_append_key(out, PTR_MAX, key) < 0)
		snprintf(out, PTR_MAX, "%s", ptr);
}

static void child_index(char *out, const char *ptr, size_t index)
{
	snprintf(out, PTR_MAX, "%s", ptr);
	if (jsonpos_append_index(out, PTR_MAX, index) < 0)
		snprintf(out, PTR_MAX, "%s", ptr);
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static bool expect_type(struct loader *ld, size_t src, const char *ptr, const json_t *v, bool ok,
			const char *what, const char *want)
{
	if (!ok)
		ERR(ld, src, ptr, "wrong-type", "%s must be %s, not %s", what, want, type_name(v));
	return ok;
}

/* The keys of each object; anything else is `unknown-key`. */
/* clang-format off */
static const char *const top_keys[] = {
	"version", "targets", "lists", "rules", "scan", "enoent_storms",
};
static const char *const target_keys[] = { "pid", "comm", "exe", "cgroup", "children" };
static const char *const rule_keys[] = {
	"name", "override", "description", "enabled", "targets", "syscalls",
	"paths", "result", "min_duration", "severity", "tags", "rate_limit",
};
/* clang-format on */

/*
 * An unknown key. In a rule or a target it is an error: ignoring it would
 * widen what they match (`"syscals"` makes a rule match every call).
 * Elsewhere (top level, scan) it is a warning and the key is ignored. A
 * known key near it is suggested; an error without one lists the keys.
 */
static void unknown_key(struct loader *ld, size_t src, const char *kptr, bool error,
			const char *key, const char *in, const char *const *known, size_t n)
{
	const char *near = sw_suggest(key, known, n);
	char list[512] = "";
	size_t len = 0;

	if (!error) {
		diag(ld, src, kptr, true, false, "unknown-key",
		     "unknown key `%s`%s%s (ignored)%s%s%s", key, in ? " in " : "", in ?: "",
		     near ? ": did you mean `" : "", near ?: "", near ? "`?" : "");
		return;
	}
	if (near) {
		diag(ld, src, kptr, true, true, "unknown-key",
		     "unknown key `%s` in %s: did you mean `%s`?", key, in, near);
		return;
	}
	for (size_t i = 0; i < n && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? " " : "",
					known[i]);
	diag(ld, src, kptr, true, true, "unknown-key", "unknown key `%s` in %s (keys: %s)", key, in,
	     list);
}

/* ---- small checks ----------------------------------------------------- */

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= POLICY_NAME_MAX)
		return false;
	for (const char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("_.:-", *c)))
			return false;
	return true;
}

/* fnmatch(3) accepts anything; catch what is surely a mistake. */
static const char *glob_problem(const char *g)
{
	if (!*g)
		return "empty pattern";
	for (const char *c = g; *c; c++) {
		if (*c == '\\') {
			if (!c[1])
				return "trailing backslash";
			c++;
		} else if (*c == '[') {
			const char *e = c + 1;

			if (*e == '!' || *e == '^')
				e++;
			if (*e == ']')
				e++;
			while (*e && *e != ']')
				e++;
			if (!*e)
				return "unbalanced `[`";
			c = e;
		}
	}
	return NULL;
}

/* The errno a name means, or -1 (-ENOMEM with ld->oom set). */
static int errno_from_name(struct loader *ld, const char *name)
{
	/* glibc's strerrorname_np() names only one of each pair of equal values */
	static const struct {
		const char *alias, *name;
	} aliases[] = {
		{ "EWOULDBLOCK", "EAGAIN" },
		{ "ENOTSUP", "EOPNOTSUPP" },
		{ "EDEADLOCK", "EDEADLK" },
	};
	size_t e;

	/* every name once, at the first `result`: then one lookup per item */
	for (int v = 1; v < 4096 && !ld->errno_ix_built; v++) {
		const char *n = strerrorname_np(v);

		if (n && sw_strmap_add(&ld->errno_ix, n, (size_t)v) == -ENOMEM) {
			ld->oom = true;
			return -ENOMEM;
		}
	}
	ld->errno_ix_built = true;
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
		if (strcmp(name, aliases[i].alias) == 0)
			name = aliases[i].name;
	return sw_strmap_get(&ld->errno_ix, name, &e) ? (int)e : -1;
}

static char *xstrdup(struct loader *ld, const char *s)
{
	char *d = strdup(s);

	if (!d)
		ld->oom = true;
	return d;
}

static bool push_str(struct loader *ld, char ***v, size_t *n, const char *s)
{
	char **nv = reserve(ld, *v, *n, sizeof(**v));
	char *d;

	if (!nv)
		return false;
	*v = nv;
	d = xstrdup(ld, s);
	if (!d)
		return false;
	nv[(*n)++] = d;
	return true;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void target_free(struct policy_target *t)
{
	free(t->pids);
	free_strv(t->comms, t->n_comms);
	free_strv(t->exes, t->n_exes);
	free_strv(t->cgroups, t->n_cgroups);
	*t = (struct policy_target){};
}

/* ---- names ------------------------------------------------------------ */

/* The target or list named name, or NULL. */
static struct named *find_named(struct named *v, const struct sw_strmap *ix, const char *name)
{
	size_t i;

	return sw_strmap_get(ix, name, &i) ? &v[i] : NULL;
}

/* The slot of name: the existing one (a later definition replaces it) or a new one. */
static struct named *named_slot(struct loader *ld, struct named **v, size_t *n,
				struct sw_strmap *ix, const char *name)
{
	struct named *slot = find_named(*v, ix, name), *nv;

	if (slot)
		return slot;
	nv = reserve(ld, *v, *n, sizeof(*nv));
	if (!nv)
		return NULL;
	*v = nv;
	if (sw_strmap_add(ix, name, *n) < 0) {
		ld->oom = true;
		return NULL;
	}
	slot = &nv[(*n)++];
	*slot = (struct named){};
	return slot;
}

/* ---- phase 1: targets ------------------------------------------------- */

/* Visit a string-or-array-of-strings value; cb gets each string and its pointer. */
typedef void (*string_cb)(struct loader *ld, size_t src, const char *ptr, const char *s,
			  void *opaque);

static void each_string(struct loader *ld, size_t src, const char *ptr, json_t *v, const char *what,
			string_cb cb, void *opaque)
{
	char eptr[PTR_MAX];
	size_t i;
	json_t *e;

	if (json_is_string(v)) {
		cb(ld, src, ptr, json_string_value(v), opaque);
		return;
	}
	if (!expect_type(ld, src, ptr, v, json_is_array(v), what,
			 "a string or an array of strings"))
		return;
	json_array_foreach(v, i, e)
	{
		child_index(eptr, ptr, i);
		if (expect_type(ld, src, eptr, e, json_is_string(e), what, "a string"))
			cb(ld, src, eptr, json_string_value(e), opaque);
	}
}

static void add_comm(struct loader *ld, size_t src, const char *ptr, const char *s, void *opaque)
{
	struct policy_target *t = opaque;
	const char *problem;
	char hint[512];

	if (!*s) {
		ERR(ld, src, ptr, "bad-value", "comm must not be empty");
		return;
	}
	if (sw_comm_is_glob(s)) {
		if ((problem = glob_problem(s))) {
			ERR(ld, src, ptr, "bad-glob", "comm pattern `%s`: %s", s, problem);
			return;
		}
	} else if (sw_comm_never_matches(s, hint, sizeof(hint))) {
		ERR(ld, src, ptr, "bad-value", "comm %s", hint);
		return;
	}
	push_str(ld, &t->comms, &t->n_comms, s);
}

static void add_exe(struct loader *ld, size_t src, const char *ptr, const char *s, void *opaque)
{
	struct policy_target *t = opaque;
	const char *problem = glob_problem(s);

	if (problem)
		ERR(ld, src, ptr, "bad-glob", "exe pattern `%s`: %s", s, problem);
	else
		push_str(ld, &t->exes, &t->n_exes, s);
}

static void add_cgroup(struct loader *ld, size_t src, const char *ptr, const char *s, void *opaque)
{
	struct policy_target *t = opaque;

	if (s[0] != '/')
		ERR(ld, src, ptr, "bad-value",
		    "cgroup `%s` must be an absolute path in the hierarchy, like "
		    "`/system.slice/kubelet.service`",
		    s);
	else
		push_str(ld, &t->cgroups, &t->n_cgroups, s);
}

static void add_pid(struct loader *ld, size_t src, const char *ptr, json_t *v,
		    struct policy_target *t)
{
	json_int_t pid;
	pid_t *np;

	if (!expect_type(ld, src, ptr, v, json_is_integer(v), "pid", "an integer"))
		return;
	pid = json_integer_value(v);
	if (pid <= 0 || pid > PID_MAX_LIMIT) {
		ERR(ld, src, ptr, "bad-value", "pid %lld is out of range (1..%d)", (long long)pid,
		    PID_MAX_LIMIT);
		return;
	}
	np = reserve(ld, t->pids, t->n_pids, sizeof(*np));
	if (!np)
		return;
	t->pids = np;
	t->pids[t->n_pids++] = (pid_t)pid;
}

static void load_target(struct loader *ld, size_t src, const char *ptr, const char *name,
			json_t *obj)
{
	struct policy_target t = {};
	char kptr[PTR_MAX], eptr[PTR_MAX];
	struct named *slot = NULL;
	const char *key;
	json_t *v;

	if (!valid_name(name)) {
		diag(ld, src, ptr, true, true, "bad-name",
		     "target name `%s`: use 1-63 characters of A-Z a-z 0-9 _ . : -", name);
		return;
	}
	if (!expect_type(ld, src, ptr, obj, json_is_object(obj), "a target", "an object"))
		return;
	snprintf(t.name, sizeof(t.name), "%s", name);
	json_object_foreach(obj, key, v)
	{
		child_key(kptr, ptr, key);
		if (strcmp(key, "pid") == 0) {
			if (json_is_array(v)) {
				size_t i;
				json_t *e;

				json_array_foreach(v, i, e)
				{
					child_index(eptr, kptr, i);
					add_pid(ld, src, eptr, e, &t);
				}
			} else if (json_is_integer(v))
				add_pid(ld, src, kptr, v, &t);
			else
				expect_type(ld, src, kptr, v, false, "pid",
					    "an integer or an array of integers");
		} else if (strcmp(key, "comm") == 0)
			each_string(ld, src, kptr, v, "comm", add_comm, &t);
		else if (strcmp(key, "exe") == 0)
			each_string(ld, src, kptr, v, "exe", add_exe, &t);
		else if (strcmp(key, "cgroup") == 0)
			each_string(ld, src, kptr, v, "cgroup", add_cgroup, &t);
		else if (strcmp(key, "children") == 0) {
			if (expect_type(ld, src, kptr, v, json_is_boolean(v), "children",
					"a boolean"))
				t.children = json_is_true(v);
		} else {
			char in[POLICY_NAME_MAX + 16];

			snprintf(in, sizeof(in), "target `%s`", name);
			unknown_key(ld, src, kptr, true, key, in, target_keys,
				    ARRAY_SIZE(target_keys));
		}
	}

	slot = named_slot(ld, &ld->targets, &ld->n_targets, &ld->target_ix, name);
	if (!slot) {
		target_free(&t);
		return;
	}
	target_free(&slot->target); /* a later file replaces it */
	snprintf(slot->name, sizeof(slot->name), "%s", name);
	slot->def = (struct frag){ .src = src, .value = obj };
	snprintf(slot->def.ptr, PTR_MAX, "%s", ptr);
	slot->target = t;
}

/* ---- phase 1: lists --------------------------------------------------- */

static void load_list(struct loader *ld, size_t src, const char *ptr, const char *name, json_t *arr)
{
	char eptr[PTR_MAX];
	struct named *slot = NULL;
	size_t i;
	json_t *e;

	if (!valid_name(name)) {
		diag(ld, src, ptr, true, true, "bad-name",
		     "list name `%s`: use 1-63 characters of A-Z a-z 0-9 _ . : -", name);
		return;
	}
	if (!expect_type(ld, src, ptr, arr, json_is_array(arr), "a list", "an array of strings"))
		return;
	json_array_foreach(arr, i, e)
	{
		child_index(eptr, ptr, i);
		/* a bad element is reported here and skipped where the list is used */
		if (!expect_type(ld, src, eptr, e, json_is_string(e), "a list element", "a string"))
			continue;
		if (json_string_value(e)[0] == '@')
			ERR(ld, src, eptr, "bad-value",
			    "a list cannot refer to another list (`%s`)", json_string_value(e));
	}
	slot = named_slot(ld, &ld->lists, &ld->n_lists, &ld->list_ix, name);
	if (!slot)
		return;
	snprintf(slot->name, sizeof(slot->name), "%s", name);
	slot->def = (struct frag){ .src = src, .value = arr };
	snprintf(slot->def.ptr, PTR_MAX, "%s", ptr);
}

/* ---- phase 1: scan thresholds ----------------------------------------- */

enum scan_kind { SCAN_COUNT, SCAN_NUMBER, SCAN_PERCENT, SCAN_RATIO, SCAN_DURATION };

static const struct scan_key {
	const char *key;
	enum scan_kind kind;
	size_t offset;
} scan_keys[] = {
#define K(name, kind)                                                                              \
	{                                                                                          \
#name, kind, offsetof(struct policy_scan, name)                                    \
	}
#define KD(name, field)                                                                            \
	{                                                                                          \
#name, SCAN_DURATION, offsetof(struct policy_scan, field)                          \
	}
	K(memcg_offline_warning, SCAN_COUNT),
	K(memcg_offline_warning_ratio, SCAN_NUMBER),
	K(memcg_offline_critical, SCAN_COUNT),
	K(memcg_offline_growth_per_min, SCAN_COUNT),
	KD(memcg_stat_read_warning, memcg_stat_read_warning_ns),
	KD(memcg_stat_read_critical, memcg_stat_read_critical_ns),
	K(dentry_negative_warning, SCAN_COUNT),
	K(dentry_negative_critical, SCAN_COUNT),
	K(dentry_negative_growth_per_s, SCAN_COUNT),
	K(slab_unreclaimable_warning_pct, SCAN_PERCENT),
	K(slab_unreclaimable_critical_pct, SCAN_PERCENT),
	K(slab_leak_min_bytes_per_hour, SCAN_COUNT),
	K(slab_leak_min_r2, SCAN_RATIO),
	KD(slab_leak_min_span, slab_leak_min_span_ns),
	KD(growth_window, growth_window_ns),
	KD(interval, interval_ns),
#undef K
#undef KD
};

static void load_scan(struct loader *ld, size_t src, const char *ptr, json_t *obj)
{
	char kptr[PTR_MAX];
	const char *key;
	json_t *v;

	if (!expect_type(ld, src, ptr, obj, json_is_object(obj), "scan", "an object"))
		return;
	json_object_foreach(obj, key, v)
	{
		const struct scan_key *k = NULL;
		char *field;

		child_key(kptr, ptr, key);
		for (size_t i = 0; i < ARRAY_SIZE(scan_keys); i++)
			if (strcmp(scan_keys[i].key, key) == 0)
				k = &scan_keys[i];
		if (!k) {
			const char *known[ARRAY_SIZE(scan_keys)];

			for (size_t i = 0; i < ARRAY_SIZE(scan_keys); i++)
				known[i] = scan_keys[i].key;
			unknown_key(ld, src, kptr, false, key, "scan", known, ARRAY_SIZE(known));
			continue;
		}
		field = (char *)&ld->scan + k->offset;
		switch (k->kind) {
		case SCAN_COUNT:
			if (!expect_type(ld, src, kptr, v, json_is_integer(v), key, "an integer"))
				break;
			if (json_integer_value(v) < 0)
				ERR(ld, src, kptr, "bad-value", "%s must not be negative", key);
			else
				memcpy(field, &(uint64_t){ (uint64_t)json_integer_value(v) },
				       sizeof(uint64_t));
			break;
		case SCAN_NUMBER:
		case SCAN_PERCENT:
		case SCAN_RATIO:
			if (!expect_type(ld, src, kptr, v, json_is_number(v), key, "a number"))
				break;
			if (json_number_value(v) < 0 ||
			    (k->kind == SCAN_RATIO && json_number_value(v) > 1) ||
			    (k->kind == SCAN_PERCENT && json_number_value(v) > 100))
				ERR(ld, src, kptr, "bad-value", "%s must be in %s", key,
				    k->kind == SCAN_RATIO   ? "0..1" :
				    k->kind == SCAN_PERCENT ? "0..100" :
							      "0 or more");
			else
				memcpy(field, &(double){ json_number_value(v) }, sizeof(double));
			break;
		case SCAN_DURATION: {
			struct sw_error err = {};

			if (!expect_type(ld, src, kptr, v, json_is_string(v), key,
					 "a duration string like \"10ms\""))
				break;
			if (duration_parse(json_string_value(v), (uint64_t *)field, &err) < 0)
				ERR(ld, src, kptr, "bad-duration", "%s: %s", key, err.msg);
			/* a scan costs 1-2 ms (doc/scan.md): more often than 100 ms is a mistake */
			else if (field == (char *)&ld->scan.interval_ns &&
				 ld->scan.interval_ns < POLICY_SCAN_INTERVAL_MIN_NS)
				ERR(ld, src, kptr, "bad-value", "interval must be at least 100ms");
			break;
		}
		}
	}
}

/* ---- phase 1: enoent_storms ------------------------------------------- */

/* clang-format off */
static const char *const enoent_keys[] = {
	"enabled", "distinct_per_s", "distinct_per_day", "window", "directories",
	"max_directories", "severity",
};
/* clang-format on */

/* The sliding window: long enough for a rate, short enough to keep per-bucket state small. */
#define ENOENT_WINDOW_MIN_NS (100 * NSEC_PER_MSEC)
#define ENOENT_WINDOW_MAX_NS (24 * 3600 * NSEC_PER_SEC)
#define ENOENT_MAX_DIRECTORIES_MAX 1000000

static void enoent_directories(struct loader *ld, size_t src, const char *ptr, json_t *v)
{
	char eptr[PTR_MAX];
	char **globs = NULL;
	size_t n = 0, i;
	json_t *item;
	bool ok = true;

	if (!expect_type(ld, src, ptr, v, json_is_array(v), "directories",
			 "an array of directory globs"))
		return;
	json_array_foreach(v, i, item)
	{
		const char *g, *problem;

		child_index(eptr, ptr, i);
		if (!expect_type(ld, src, eptr, item, json_is_string(item), "a directory glob",
				 "a string")) {
			ok = false;
			continue;
		}
		g = json_string_value(item);
		if ((problem = glob_problem(g))) {
			ERR(ld, src, eptr, "bad-glob", "directory pattern `%s`: %s", g, problem);
			ok = false;
			continue;
		}
		if (g[0] != '/' && g[0] != '*' && g[0] != '?' && g[0] != '[') {
			ERR(ld, src, eptr, "bad-value",
			    "directory pattern `%s` must be absolute: directories are reported as "
			    "absolute paths",
			    g);
			ok = false;
			continue;
		}
		if (!push_str(ld, &globs, &n, g))
			ok = false;
	}
	if (ok && n == 0) {
		ERR(ld, src, ptr, "bad-value",
		    "directories must not be empty (leave the key out to watch every directory)");
		ok = false;
	}
	if (!ok) {
		free_strv(globs, n);
		return;
	}
	/* a later file's list replaces the earlier one, as a later scan value does */
	free_strv(ld->enoent.directories, ld->enoent.n_directories);
	ld->enoent.directories = globs;
	ld->enoent.n_directories = n;
}

static void load_enoent(struct loader *ld, size_t src, const char *ptr, json_t *obj)
{
	char kptr[PTR_MAX];
	const char *key;
	json_t *v;

	if (!expect_type(ld, src, ptr, obj, json_is_object(obj), "enoent_storms", "an object"))
		return;
	json_object_foreach(obj, key, v)
	{
		child_key(kptr, ptr, key);
		if (strcmp(key, "enabled") == 0) {
			if (expect_type(ld, src, kptr, v, json_is_boolean(v), "enabled",
					"a boolean"))
				ld->enoent.enabled = json_is_true(v);
		} else if (strcmp(key, "distinct_per_s") == 0) {
			if (!expect_type(ld, src, kptr, v, json_is_number(v), "distinct_per_s",
					 "a number"))
				continue;
			if (!(json_number_value(v) > 0) || json_number_value(v) > 1e9)
				ERR(ld, src, kptr, "bad-value",
				    "distinct_per_s must be above 0 and at most 1e9");
			else
				ld->enoent.distinct_per_s = json_number_value(v);
		} else if (strcmp(key, "distinct_per_day") == 0) {
			if (!expect_type(ld, src, kptr, v, json_is_integer(v), "distinct_per_day",
					 "an integer"))
				continue;
			if (json_integer_value(v) < 0 || json_integer_value(v) > 1000000000)
				ERR(ld, src, kptr, "bad-value",
				    "distinct_per_day must be between 0 (off) and 1e9");
			else
				ld->enoent.distinct_per_day = (uint64_t)json_integer_value(v);
		} else if (strcmp(key, "window") == 0) {
			struct sw_error err = {};
			uint64_t ns;

			if (!expect_type(ld, src, kptr, v, json_is_string(v), "window",
					 "a duration string like \"60s\""))
				continue;
			if (duration_parse(json_string_value(v), &ns, &err) < 0)
				ERR(ld, src, kptr, "bad-duration", "window: %s", err.msg);
			else if (ns < ENOENT_WINDOW_MIN_NS || ns > ENOENT_WINDOW_MAX_NS)
				ERR(ld, src, kptr, "bad-value",
				    "window `%s` must be between 100ms and 86400s",
				    json_string_value(v));
			else
				ld->enoent.window_ns = ns;
		} else if (strcmp(key, "directories") == 0) {
			enoent_directories(ld, src, kptr, v);
		} else if (strcmp(key, "max_directories") == 0) {
			if (!expect_type(ld, src, kptr, v, json_is_integer(v), "max_directories",
					 "an integer"))
				continue;
			if (json_integer_value(v) < 1 ||
			    json_integer_value(v) > ENOENT_MAX_DIRECTORIES_MAX)
				ERR(ld, src, kptr, "bad-value", "max_directories must be in 1..%d",
				    ENOENT_MAX_DIRECTORIES_MAX);
			else
				ld->enoent.max_directories = (uint32_t)json_integer_value(v);
		} else if (strcmp(key, "severity") == 0) {
			int sev;

			if (!expect_type(ld, src, kptr, v, json_is_string(v), "severity",
					 "a string"))
				continue;
			sev = policy_severity_from_name(json_string_value(v));
			if (sev < 0)
				ERR(ld, src, kptr, "bad-severity",
				    "severity `%s`: use one of emergency alert critical error "
				    "warning notice informational debug",
				    json_string_value(v));
			else {
				ld->enoent.severity = (enum policy_severity)sev;
				ld->enoent.level = policy_severity_name(ld->enoent.severity);
			}
		} else
			unknown_key(ld, src, kptr, false, key, "enoent_storms", enoent_keys,
				    ARRAY_SIZE(enoent_keys));
	}
}

/* ---- phase 1: rules --------------------------------------------------- */

static void load_rule(struct loader *ld, size_t src, const char *ptr, json_t *obj)
{
	char kptr[PTR_MAX];
	json_t *name_v, *override_v;
	const char *name;
	bool append = false;
	struct rule_frag *nf;
	size_t rule = SIZE_MAX;

	if (!expect_type(ld, src, ptr, obj, json_is_object(obj), "a rule", "an object"))
		return;
	name_v = json_object_get(obj, "name");
	child_key(kptr, ptr, "name");
	if (!name_v) {
		ERR(ld, src, ptr, "missing-key", "rule without `name`");
		return;
	}
	if (!expect_type(ld, src, kptr, name_v, json_is_string(name_v), "name", "a string"))
		return;
	name = json_string_value(name_v);
	if (!valid_name(name)) {
		ERR(ld, src, kptr, "bad-name",
		    "rule name `%s`: use 1-63 characters of A-Z a-z 0-9 _ . : -", name);
		return;
	}
	if (strcmp(name, POLICY_COMMAND_LINE_RULE) == 0) {
		ERR(ld, src, kptr, "bad-name",
		    "rule name `%s` is reserved for the rule built from -e/-m", name);
		return;
	}
	override_v = json_object_get(obj, "override");
	if (override_v) {
		child_key(kptr, ptr, "override");
		if (!expect_type(ld, src, kptr, override_v, json_is_string(override_v), "override",
				 "a string"))
			return;
		if (strcmp(json_string_value(override_v), "append") == 0)
			append = true;
		else if (strcmp(json_string_value(override_v), "replace") != 0) {
			ERR(ld, src, kptr, "bad-value",
			    "override `%s`: use \"replace\" or \"append\"",
			    json_string_value(override_v));
			return;
		}
	}

	sw_strmap_get(&ld->rule_ix, name, &rule);
	if (append && rule == SIZE_MAX) {
		child_key(kptr, ptr, "override");
		ERR(ld, src, kptr, "append-without-base",
		    "rule `%s` appends to a rule that no earlier file or rule defines", name);
		return;
	}
	if (!append && rule != SIZE_MAX) {
		const struct rule_frag *base = &ld->frags[ld->rules[rule].first_frag];

		if (base->f.src == src) {
			unsigned line, col;

			locate(&ld->srcs[src], base->f.ptr, false, &line, &col);
			child_key(kptr, ptr, "name");
			ERR(ld, src, kptr, "duplicate-name",
			    "rule `%s` is already defined in this file (line %u); use "
			    "\"override\": \"append\" to extend it",
			    name, line);
			return;
		}
	}

	nf = reserve(ld, ld->frags, ld->n_frags, sizeof(*nf));
	if (!nf)
		return;
	ld->frags = nf;
	nf = &ld->frags[ld->n_frags];
	*nf = (struct rule_frag){
		.f = { .src = src, .value = obj }, .append = append, .live = true, .prev = SIZE_MAX
	};
	snprintf(nf->f.ptr, PTR_MAX, "%s", ptr);

	if (rule == SIZE_MAX) {
		struct rule_def *nr = reserve(ld, ld->rules, ld->n_rules, sizeof(*nr));

		if (!nr)
			return;
		ld->rules = nr;
		if (sw_strmap_add(&ld->rule_ix, name, ld->n_rules) < 0) {
			ld->oom = true;
			return;
		}
		rule = ld->n_rules++;
		snprintf(ld->rules[rule].name, POLICY_NAME_MAX, "%s", name);
		ld->rules[rule].first_frag = ld->n_frags;
	} else {
		nf->prev = ld->rules[rule].last_frag;
		if (!append) {
			/* replaced wholesale: earlier fragments are still checked, not used */
			for (size_t i = nf->prev; i != SIZE_MAX; i = ld->frags[i].prev)
				ld->frags[i].live = false;
			ld->rules[rule].first_frag = ld->n_frags;
		}
	}
	ld->rules[rule].last_frag = ld->n_frags;
	nf->rule = rule;
	ld->n_frags++;
}

/* ---- phase 1: one source ---------------------------------------------- */

static void load_source(struct loader *ld, size_t src)
{
	struct src *s = &ld->srcs[src];
	char kptr[PTR_MAX], eptr[PTR_MAX];
	json_error_t jerr;
	const char *key;
	json_t *v;
	int r;

	s->root = json_loadb(s->text, s->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!s->root) {
		diag_at(ld, src, jerr.line > 0 ? (unsigned)jerr.line : 1,
			jerr.column > 0 ? (unsigned)jerr.column : 1, true, "syntax", jerr.text);
		return;
	}
	r = jsonpos_build(&s->pos, s->text, s->len);
	if (r == -ENOMEM) {
		ld->oom = true;
		return;
	}
	/* -E2BIG (deeper than jsonpos indexes): positions fall back to 1:1 */
	if (!json_is_object(s->root)) {
		ERR(ld, src, "", "wrong-type", "a policy must be a JSON object, not %s",
		    type_name(s->root));
		return;
	}
	json_object_foreach(s->root, key, v)
	{
		child_key(kptr, "", key);
		if (strcmp(key, "version") == 0) {
			if (expect_type(ld, src, kptr, v, json_is_integer(v), "version",
					"an integer") &&
			    json_integer_value(v) != 1)
				ERR(ld, src, kptr, "bad-value",
				    "policy version %lld is not supported (this stallwatch reads 1)",
				    (long long)json_integer_value(v));
		} else if (strcmp(key, "targets") == 0) {
			const char *name;
			json_t *t;

			if (!expect_type(ld, src, kptr, v, json_is_object(v), "targets",
					 "an object of named targets"))
				continue;
			json_object_foreach(v, name, t)
			{
				child_key(eptr, kptr, name);
				load_target(ld, src, eptr, name, t);
			}
		} else if (strcmp(key, "lists") == 0) {
			const char *name;
			json_t *l;

			if (!expect_type(ld, src, kptr, v, json_is_object(v), "lists",
					 "an object of named lists"))
				continue;
			json_object_foreach(v, name, l)
			{
				child_key(eptr, kptr, name);
				load_list(ld, src, eptr, name, l);
			}
		} else if (strcmp(key, "rules") == 0) {
			size_t i;
			json_t *rule;

			if (!expect_type(ld, src, kptr, v, json_is_array(v), "rules", "an array"))
				continue;
			json_array_foreach(v, i, rule)
			{
				child_index(eptr, kptr, i);
				load_rule(ld, src, eptr, rule);
			}
		} else if (strcmp(key, "scan") == 0)
			load_scan(ld, src, kptr, v);
		else if (strcmp(key, "enoent_storms") == 0)
			load_enoent(ld, src, kptr, v);
		else
			unknown_key(ld, src, kptr, false, key, NULL, top_keys,
				    ARRAY_SIZE(top_keys));
	}
}

/* ---- phase 2: rules --------------------------------------------------- */

/* state while compiling one rule from its fragments */
struct rule_build {
	struct policy_rule *rule;
	bool has_syscalls; /* a fragment set `syscalls` */
	bool only_optional; /* every syscall item so far was `?name` */
	bool named; /* an item other than all and !%wait: specificity "named syscalls" */
	bool has_min_duration;
};

static void syscall_item(struct loader *ld, size_t src, const char *ptr, const char *item,
			 struct rule_build *b)
{
	struct syscall_set set;
	struct sw_error err = {};

	if (item[0] != '?')
		b->only_optional = false;
	if (strcmp(item, "all") == 0) {
		b->rule->all_syscalls = true;
		return;
	}
	/*
	 * strace's -e extras (/REGEX, none, trace=, !, lists with ,) are not
	 * policy syntax, but for `!%wait`: every call but the waits, a
	 * catch-all that reports stalls, not idle waits.
	 */
	if (strcmp(item, "!%wait") != 0 && (!item[0] || strpbrk(item, ",=") || item[0] == '!' ||
					    item[0] == '/' || strcmp(item, "none") == 0)) {
		ERR(ld, src, ptr, "bad-value",
		    "`%s`: one syscall name, %%class, %%wait, !%%wait, ?name, @list or all per "
		    "element",
		    item);
		return;
	}
	if (strcmp(item, "!%wait") != 0)
		b->named = true;
	if (syscall_set_parse(item, &set, &err) < 0) {
		bool unknown = strstr(err.msg, "unknown") != NULL;

		ERR(ld, src, ptr, unknown ? "unknown-syscall" : "bad-value", "%s", err.msg);
		return;
	}
	syscall_set_union(&b->rule->syscalls, &set);
}

/*
 * Can the glob match a path that starts with `/`? Not when its first
 * character is an ordinary one: fnmatch(3) with flags 0 compares it as is.
 * Paths of fds and paths made absolute all start with `/`; only the path
 * argument as passed can be relative. An fd's pseudo-path (`pipe:[123]`,
 * `socket:[…]`, `anon_inode:[eventfd]`) has no `/` and is fine to match.
 */
static bool glob_only_relative(const char *g)
{
	size_t kind = strspn(g, "abcdefghijklmnopqrstuvwxyz_");

	if (strchr("/*?[", g[0]))
		return false;
	if (g[0] == '\\' && g[1] == '/')
		return false;
	return !(kind > 0 && g[kind] == ':');
}

static void path_item(struct loader *ld, size_t src, const char *ptr, const char *item,
		      struct rule_build *b)
{
	const char *problem = glob_problem(item);

	if (problem) {
		ERR(ld, src, ptr, "bad-glob", "path pattern `%s`: %s", item, problem);
		return;
	}
	if (glob_only_relative(item)) {
		const char *rest = item;

		/* `sys/fs/x` meant `/sys/fs/x`; `memory.stat` and `./memory.stat` any directory */
		while (rest[0] == '.' && rest[1] == '/')
			rest += 2;
		diag(ld, src, ptr, false, false, "relative-path",
		     "path pattern `%s` can match only a relative path argument: paths of fds and "
		     "absolute paths start with `/`; did you mean `%s%s`?",
		     item, rest == item && strchr(rest, '/') ? "/" : "*/", rest);
	}
	push_str(ld, &b->rule->paths, &b->rule->n_paths, item);
}

typedef void (*item_cb)(struct loader *ld, size_t src, const char *ptr, const char *item,
			struct rule_build *b);

/* An array of items where `@list` expands to the list's elements (checked in place). */
static bool each_item(struct loader *ld, size_t src, const char *ptr, json_t *v, const char *what,
		      item_cb cb, struct rule_build *b)
{
	char eptr[PTR_MAX], lptr[PTR_MAX];
	size_t i, k;
	json_t *e, *le;

	if (!expect_type(ld, src, ptr, v, json_is_array(v), what, "an array of strings"))
		return false;
	if (json_array_size(v) == 0) {
		ERR(ld, src, ptr, "bad-value", "%s must not be empty (leave the key out)", what);
		return false;
	}
	json_array_foreach(v, i, e)
	{
		const char *s;
		struct named *list;

		child_index(eptr, ptr, i);
		if (!expect_type(ld, src, eptr, e, json_is_string(e), what, "strings")) {
			b->only_optional = false; /* an error already; no-syscalls would be noise */
			continue;
		}
		s = json_string_value(e);
		if (s[0] != '@') {
			cb(ld, src, eptr, s, b);
			continue;
		}
		list = find_named(ld->lists, &ld->list_ix, s + 1);
		if (!list) {
			ERR(ld, src, eptr, "unknown-list", "no list named `%s`", s + 1);
			b->only_optional = false; /* an error already; no-syscalls would be noise */
			continue;
		}
		if (ld->mark_used)
			list->used = true;
		json_array_foreach(list->def.value, k, le)
		{
			if (!json_is_string(le) || json_string_value(le)[0] == '@')
				continue; /* reported where the list is defined */
			child_index(lptr, list->def.ptr, k);
			cb(ld, list->def.src, lptr, json_string_value(le), b);
		}
	}
	return true;
}

static void rule_targets(struct loader *ld, size_t src, const char *ptr, json_t *v,
			 struct policy_rule *rule)
{
	char eptr[PTR_MAX];
	size_t i;
	json_t *e;

	if (!expect_type(ld, src, ptr, v, json_is_array(v), "targets", "an array of target names"))
		return;
	json_array_foreach(v, i, e)
	{
		struct named *t;
		size_t *nt;

		child_index(eptr, ptr, i);
		if (!expect_type(ld, src, eptr, e, json_is_string(e), "a target reference",
				 "a string"))
			continue;
		t = find_named(ld->targets, &ld->target_ix, json_string_value(e));
		if (!t) {
			ERR(ld, src, eptr, "unknown-target", "no target named `%s`",
			    json_string_value(e));
			continue;
		}
		if (ld->mark_used)
			t->used = true;
		nt = reserve(ld, rule->targets, rule->n_targets, sizeof(*nt));
		if (!nt)
			return;
		rule->targets = nt;
		rule->targets[rule->n_targets++] = (size_t)(t - ld->targets);
	}
}

static void result_item(struct loader *ld, size_t src, const char *ptr, const char *s, void *opaque)
{
	struct policy_rule *rule = opaque;
	int e;
	int *ne;

	rule->has_result = true;
	if (strcmp(s, "success") == 0) {
		rule->result_success = true;
		return;
	}
	if (strcmp(s, "failure") == 0) {
		rule->result_failure = true;
		return;
	}
	e = errno_from_name(ld, s);
	if (e == -ENOMEM)
		return;
	if (e < 0) {
		ERR(ld, src, ptr, "bad-result",
		    "result `%s`: use \"success\", \"failure\" or an errno name like \"ENOENT\"",
		    s);
		return;
	}
	ne = reserve(ld, rule->result_errnos, rule->n_result_errnos, sizeof(*ne));
	if (!ne)
		return;
	rule->result_errnos = ne;
	rule->result_errnos[rule->n_result_errnos++] = e;
}

static void tag_item(struct loader *ld, size_t src, const char *ptr, const char *s, void *opaque)
{
	struct policy_rule *rule = opaque;

	if (!*s)
		ERR(ld, src, ptr, "bad-value", "tags must not be empty strings");
	else
		push_str(ld, &rule->tags, &rule->n_tags, s);
}

/* Would appending key to the rule built so far narrow a condition that is "every"? */
static bool append_is_noop(const struct policy_rule *rule, const struct rule_build *b,
			   const char *key)
{
	if (strcmp(key, "syscalls") == 0)
		return !b->has_syscalls || rule->all_syscalls;
	if (strcmp(key, "targets") == 0)
		return rule->n_targets == 0;
	if (strcmp(key, "paths") == 0)
		return rule->n_paths == 0;
	if (strcmp(key, "result") == 0)
		return !rule->has_result;
	return false;
}

static void rule_init(struct policy_rule *rule, const char *name)
{
	*rule = (struct policy_rule){ .severity = POLICY_SEV_WARNING, .enabled = true };
	snprintf(rule->name, sizeof(rule->name), "%s", name);
}

static void rule_clear(struct policy_rule *r)
{
	free(r->description);
	free_strv(r->paths, r->n_paths);
	free(r->result_errnos);
	free_strv(r->tags, r->n_tags);
	free(r->targets);
	free(r->file);
	*r = (struct policy_rule){};
}

static void compile_key(struct loader *ld, size_t src, const char *kptr, const char *key, json_t *v,
			struct rule_build *b);

static void compile_frag(struct loader *ld, const struct rule_frag *rf, struct rule_build *b)
{
	struct policy_rule *rule = b->rule;
	size_t src = rf->f.src;
	char kptr[PTR_MAX];
	const char *key;
	json_t *v;

	json_object_foreach(rf->f.value, key, v)
	{
		child_key(kptr, rf->f.ptr, key);
		if (strcmp(key, "name") == 0 || strcmp(key, "override") == 0)
			continue; /* checked in phase 1 */
		if (rf->append && rf->live && append_is_noop(rule, b, key)) {
			struct policy_rule scratch;
			struct rule_build scratch_b = { .rule = &scratch };

			/* absent means "every": appending must not narrow it */
			diag(ld, src, kptr, true, false, "append-ignored",
			     "rule `%s` has no `%s` condition (it matches every one): appending to "
			     "it would narrow it, so this key is ignored",
			     rule->name, key);
			/* ...but its mistakes are still mistakes */
			rule_init(&scratch, rule->name);
			compile_key(ld, src, kptr, key, v, &scratch_b);
			rule_clear(&scratch);
			continue;
		}
		compile_key(ld, src, kptr, key, v, b);
	}
}

static void compile_key(struct loader *ld, size_t src, const char *kptr, const char *key, json_t *v,
			struct rule_build *b)
{
	struct policy_rule *rule = b->rule;

	if (strcmp(key, "description") == 0) {
		if (expect_type(ld, src, kptr, v, json_is_string(v), "description", "a string")) {
			free(rule->description);
			rule->description = xstrdup(ld, json_string_value(v));
		}
	} else if (strcmp(key, "enabled") == 0) {
		if (expect_type(ld, src, kptr, v, json_is_boolean(v), "enabled", "a boolean"))
			rule->enabled = json_is_true(v);
	} else if (strcmp(key, "targets") == 0)
		rule_targets(ld, src, kptr, v, rule);
	else if (strcmp(key, "syscalls") == 0) {
		if (!b->has_syscalls)
			b->only_optional = true;
		if (each_item(ld, src, kptr, v, "syscalls", syscall_item, b))
			b->has_syscalls = true;
	} else if (strcmp(key, "paths") == 0)
		each_item(ld, src, kptr, v, "paths", path_item, b);
	else if (strcmp(key, "result") == 0)
		each_string(ld, src, kptr, v, "result", result_item, rule);
	else if (strcmp(key, "min_duration") == 0) {
		struct sw_error err = {};

		if (!expect_type(ld, src, kptr, v, json_is_string(v), "min_duration",
				 "a duration string like \"10ms\""))
			return;
		if (duration_parse(json_string_value(v), &rule->min_duration_ns, &err) < 0)
			ERR(ld, src, kptr, "bad-duration", "min_duration: %s", err.msg);
		else if (rule->min_duration_ns > INT64_MAX)
			/* 292 years; records carry durations as signed 64-bit JSON integers */
			ERR(ld, src, kptr, "bad-duration",
			    "min_duration: `%s` is too long (at most 9223372036854775807ns)",
			    json_string_value(v));
		else
			b->has_min_duration = true;
	} else if (strcmp(key, "severity") == 0) {
		int sev;

		if (!expect_type(ld, src, kptr, v, json_is_string(v), "severity", "a string"))
			return;
		sev = policy_severity_from_name(json_string_value(v));
		if (sev < 0)
			ERR(ld, src, kptr, "bad-severity",
			    "severity `%s`: use one of emergency alert critical error "
			    "warning notice informational debug",
			    json_string_value(v));
		else
			rule->severity = (enum policy_severity)sev;
	} else if (strcmp(key, "tags") == 0) {
		if (expect_type(ld, src, kptr, v, json_is_array(v), "tags", "an array of strings"))
			each_string(ld, src, kptr, v, "tags", tag_item, rule);
	} else if (strcmp(key, "rate_limit") == 0) {
		if (!expect_type(ld, src, kptr, v, json_is_integer(v), "rate_limit",
				 "an integer (records per minute per process)"))
			return;
		if (json_integer_value(v) < 0 || json_integer_value(v) > MAX_RATE_LIMIT)
			ERR(ld, src, kptr, "bad-value",
			    "rate_limit %lld is out of range (0 = unlimited .. %d per minute)",
			    (long long)json_integer_value(v), MAX_RATE_LIMIT);
		else
			rule->rate_limit_per_min = (uint32_t)json_integer_value(v);
	} else {
		char in[POLICY_NAME_MAX + 16];

		snprintf(in, sizeof(in), "rule `%s`", rule->name);
		unknown_key(ld, src, kptr, true, key, in, rule_keys, ARRAY_SIZE(rule_keys));
	}
}

/* Derived fields once every fragment is in. */
static void rule_finish(struct loader *ld, struct policy_rule *rule, const struct rule_build *b)
{
	const struct syscall_set *watch = ld->o->watch;

	if (!b->has_syscalls)
		rule->all_syscalls = true;
	if (rule->all_syscalls) {
		if (!ld->all_filled)
			syscall_set_fill_all(&ld->all);
		ld->all_filled = true;
		rule->syscalls = ld->all;
	}
	if (watch)
		syscall_set_intersect(&rule->syscalls, watch);
	rule->level = policy_severity_name(rule->severity);
	if (rule->n_paths)
		rule->specificity = POLICY_SPEC_PATH;
	else if (rule->has_result)
		rule->specificity = POLICY_SPEC_RESULT;
	else if (!rule->all_syscalls && b->named)
		rule->specificity = POLICY_SPEC_NAMED_SYSCALLS;
	else
		rule->specificity = POLICY_SPEC_ALL_SYSCALLS;
}

/* Compile every fragment; the live ones of each rule make p->rules. */
static uint32_t default_rate_limit(const struct loader *ld)
{
	return ld->o->default_rate_limit_per_min ? *ld->o->default_rate_limit_per_min :
						   POLICY_DEFAULT_RATE_LIMIT;
}

static void compile_rules(struct loader *ld, struct policy *p)
{
	struct rule_build *builds = calloc(ld->n_rules ?: 1, sizeof(*builds));

	p->rules = calloc(ld->n_rules + 1, sizeof(*p->rules)); /* +1: command-line */
	if (!builds || !p->rules) {
		free(builds);
		ld->oom = true;
		return;
	}
	for (size_t i = 0; i < ld->n_rules; i++) {
		rule_init(&p->rules[i], ld->rules[i].name);
		p->rules[i].rate_limit_per_min = default_rate_limit(ld);
		builds[i].rule = &p->rules[i];
	}
	for (size_t i = 0; i < ld->n_frags; i++) {
		const struct rule_frag *rf = &ld->frags[i];
		struct rule_build *b = &builds[rf->rule];
		struct policy_rule scratch;
		struct rule_build scratch_b;
		unsigned line, col;

		if (!rf->live) {
			/* replaced later: check it, keep nothing */
			rule_init(&scratch, ld->rules[rf->rule].name);
			scratch_b = (struct rule_build){ .rule = &scratch };
			ld->mark_used = false;
			compile_frag(ld, rf, &scratch_b);
			ld->mark_used = true;
			if (!rf->append && !scratch_b.has_min_duration &&
			    !json_object_get(rf->f.value, "min_duration"))
				ERR(ld, rf->f.src, rf->f.ptr, "missing-key",
				    "rule `%s` has no `min_duration`", scratch.name);
			rule_clear(&scratch);
			continue;
		}
		if (!rf->append) {
			locate(&ld->srcs[rf->f.src], rf->f.ptr, false, &line, &col);
			b->rule->file = xstrdup(ld, ld->srcs[rf->f.src].name);
			b->rule->line = line;
		}
		compile_frag(ld, rf, b);
		if (!rf->append && !json_object_get(rf->f.value, "min_duration"))
			ERR(ld, rf->f.src, rf->f.ptr, "missing-key",
			    "rule `%s` has no `min_duration`", b->rule->name);
	}
	for (size_t i = 0; i < ld->n_rules; i++) {
		const struct rule_frag *base = &ld->frags[ld->rules[i].first_frag];

		rule_finish(ld, &p->rules[i], &builds[i]);
		if (builds[i].has_syscalls && builds[i].only_optional &&
		    !p->rules[i].all_syscalls && syscall_set_count(&p->rules[i].syscalls) == 0) {
			char kptr[PTR_MAX];

			child_key(kptr, base->f.ptr, "syscalls");
			diag(ld, base->f.src, kptr, false, false, "no-syscalls",
			     "rule `%s` watches no syscall on this kernel (every `?name` is unknown)",
			     p->rules[i].name);
		}
	}
	p->n_rules = ld->n_rules;
	free(builds);
}

/* ---- entry point ------------------------------------------------------ */

static void loader_free(struct loader *ld)
{
	for (size_t i = 0; i < ld->n_srcs; i++) {
		free(ld->srcs[i].name);
		free(ld->srcs[i].text);
		json_decref(ld->srcs[i].root);
		jsonpos_free(&ld->srcs[i].pos);
	}
	free(ld->srcs);
	for (size_t i = 0; i < ld->n_targets; i++)
		target_free(&ld->targets[i].target);
	free(ld->targets);
	free(ld->lists);
	free(ld->frags);
	free(ld->rules);
	sw_strmap_free(&ld->target_ix);
	sw_strmap_free(&ld->list_ix);
	sw_strmap_free(&ld->rule_ix);
	sw_strmap_free(&ld->diag_ix);
	sw_strmap_free(&ld->errno_ix);
	free_strv(ld->enoent.directories, ld->enoent.n_directories);
}

static int add_sources(struct loader *ld)
{
	const struct policy_load_options *o = ld->o;
	size_t n = o->n_sources ?: 1;

	ld->srcs = calloc(n, sizeof(*ld->srcs));
	if (!ld->srcs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct src *s = &ld->srcs[ld->n_srcs++];
		const struct policy_source *in = o->n_sources ? &o->sources[i] : NULL;
		const char *text = in ? in->text : policy_default_json;
		size_t len = in ? in->len : policy_default_json_len;
		const char *name = in ? (in->name ?: in->path) : POLICY_DEFAULT_NAME;

		s->name = strdup(name ?: "(policy)");
		if (!s->name)
			return -ENOMEM;
		if (in && !text) {
			int r = sw_read_file(in->path, MAX_POLICY_BYTES, &s->text, &s->len);

			if (r == -ENOMEM)
				return r;
			if (r < 0) {
				char message[256];

				snprintf(message, sizeof(message), "cannot read: %s",
					 r == -EFBIG ? "larger than 16 MiB" : strerror(-r));
				/* about the whole file: no position (policy_diag_format) */
				diag_at(ld, ld->n_srcs - 1, 0, 0, true, "io", message);
				continue;
			}
		} else {
			s->text = malloc(len + 1);
			if (!s->text)
				return -ENOMEM;
			memcpy(s->text, text, len);
			s->text[len] = 0;
			s->len = len;
		}
		load_source(ld, ld->n_srcs - 1);
	}
	return 0;
}

/* The built-in default's catch-all makes way for the command-line rule. */
static void drop_default_catch_all(struct policy *p)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		if (strcmp(p->rules[i].name, POLICY_DEFAULT_CATCH_ALL) != 0)
			continue;
		rule_clear(&p->rules[i]);
		memmove(&p->rules[i], &p->rules[i + 1], (p->n_rules - i - 1) * sizeof(*p->rules));
		p->n_rules--;
		return;
	}
}

static void add_command_line_rule(struct loader *ld, struct policy *p)
{
	struct policy_rule *rule = &p->rules[p->n_rules++];

	rule_init(rule, POLICY_COMMAND_LINE_RULE);
	rule->rate_limit_per_min = default_rate_limit(ld);
	rule->min_duration_ns = ld->o->min_duration_ns;
	rule->all_syscalls = true;
	rule_finish(ld, rule, &(struct rule_build){ .has_syscalls = false });
	/* "-e read" is a named set: for specificity it counts like `syscalls` */
	if (ld->o->watch && syscall_set_count(ld->o->watch) != syscall_set_count(&rule->syscalls))
		rule->specificity = POLICY_SPEC_NAMED_SYSCALLS;
	p->has_command_line = true;
}

/* Report order: by source, then line and column; equal positions keep their order. */
static int diag_cmp(const void *a, const void *b)
{
	const struct policy_diag *x = a, *y = b;

	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->column != y->column)
		return x->column < y->column ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int policy_load(const struct policy_load_options *o, struct policy **ret,
		struct policy_diags *diags)
{
	struct loader ld = { .o = o, .diags = diags, .mark_used = true };
	size_t errors_before = diags->n_errors, first_diag = diags->n;
	struct policy *p = NULL;
	int r;

	*ret = NULL;
	policy_scan_defaults(&ld.scan);
	policy_enoent_defaults(&ld.enoent);
	r = add_sources(&ld);
	if (r < 0)
		goto out;

	p = calloc(1, sizeof(*p));
	if (!p) {
		r = -ENOMEM;
		goto out;
	}
	compile_rules(&ld, p);
	if (ld.oom) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < ld.n_targets; i++)
		if (!ld.targets[i].used)
			WARN_KEY(&ld, ld.targets[i].def.src, ld.targets[i].def.ptr, "unused-target",
				 "target `%s` is not used by any rule", ld.targets[i].name);
	for (size_t i = 0; i < ld.n_lists; i++)
		if (!ld.lists[i].used)
			WARN_KEY(&ld, ld.lists[i].def.src, ld.lists[i].def.ptr, "unused-list",
				 "list `%s` is not used by any rule", ld.lists[i].name);
	if (ld.oom) {
		r = -ENOMEM;
		goto out;
	}
	if (diags->n_errors > errors_before) {
		r = -EINVAL;
		goto out;
	}

	/* targets move into the policy (rules refer to them by index) */
	if (ld.n_targets) {
		p->targets = calloc(ld.n_targets, sizeof(*p->targets));
		if (!p->targets) {
			r = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < ld.n_targets; i++) {
			p->targets[i] = ld.targets[i].target;
			ld.targets[i].target = (struct policy_target){};
		}
		p->n_targets = ld.n_targets;
	}
	for (size_t i = 0; i < ld.n_lists; i++)
		if (!push_str(&ld, &p->lists, &p->n_lists, ld.lists[i].name)) {
			r = -ENOMEM;
			goto out;
		}
	if (o->command_line && o->n_sources == 0)
		drop_default_catch_all(p); /* a policy given with --policy is never rewritten */
	if (o->command_line)
		add_command_line_rule(&ld, p);
	p->scan = ld.scan;
	p->enoent = ld.enoent;
	p->enoent.by_default = o->n_sources == 0;
	ld.enoent.directories = NULL;
	ld.enoent.n_directories = 0;
	policy_finalize(p);
	*ret = TAKE_PTR(p);
	r = 0;
out:
	if (diags->n > first_diag)
		qsort(diags->v + first_diag, diags->n - first_diag, sizeof(*diags->v), diag_cmp);
	policy_free(p);
	loader_free(&ld);
	return r;
}
