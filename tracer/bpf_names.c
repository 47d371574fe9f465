/* SPDX-License-Identifier: MIT */
/*
 * bpf_names.c - the host-wide name prefilter's tables and the sweep's test
 * (bpf_names.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <seccomp.h>

#include "../common/macro.h"
#include "bpf_names.h"
#include "procinfo.h"
#include "watch.skel.h"

_Static_assert(WATCH_NAME_LEN == POLICY_BASENAME_MAX && WATCH_NAMES_MAX == POLICY_BASENAMES_MAX,
	       "watch.h's name keys differ from policy.h's names");

struct name_verdict {
	uint32_t tid;
	uint64_t start_ns;
};

static __u8 arg_of(int8_t arg)
{
	return arg >= 0 && arg < 6 ? (__u8)arg : WATCH_NO_ARG;
}

/*
 * An i386 call is matched through its native namesake's argument table, as
 * report.c does (its path, though, is read from the event only for native
 * calls: bpf.c, fill_path_args()), so only its fd calls are filtered.
 */
static void filters_of(struct bpf_names *bn, const struct syscall_args argmap[SW_MAX_NR],
		       const bool named[SW_MAX_NR])
{
	memset(bn->filter, 0, sizeof(bn->filter));
	for (int nr = 0; nr < SW_MAX_NR && nr < WATCH_MAX_NR; nr++) {
		struct watch_name_filter f = { .on = 1,
					       .fd_arg = arg_of(argmap[nr].fd_arg),
					       .path_arg = arg_of(argmap[nr].path_arg) };
		const char *name = syscall_name(nr);
		int nr32 = name ? seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, name) : -1;

		if (!named[nr])
			continue;
		bn->filter[nr] = f;
		if (nr32 >= 0 && nr32 < WATCH_MAX_NR && f.path_arg == WATCH_NO_ARG)
			bn->filter[WATCH_MAX_NR + nr32] = f;
	}
}

int bpf_names_fill(struct bpf_names *bn, struct watch_bpf *skel,
		   const struct syscall_args argmap[SW_MAX_NR], const struct policy *policy)
{
	struct watch_name_filter *kernel = skel->bss->name_filter;
	bool named[SW_MAX_NR];
	size_t n;

	/* off first: the kernel never filters by a mix of the old and the new */
	for (size_t i = 0; i < ARRAY_SIZE(bn->filter); i++)
		__atomic_store_n(&kernel[i].on, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&skel->bss->name_lens, 0, __ATOMIC_RELEASE);
	memset(bn->filter, 0, sizeof(bn->filter));
	for (size_t i = 0; i < bn->n_names; i++) {
		struct watch_name key = { 0 };

		memcpy(key.name, bn->names[i], sizeof(key.name));
		bpf_map__delete_elem(skel->maps.names, &key, sizeof(key), 0);
	}
	bn->n_names = 0;
	n = policy_host_wide_basenames(policy, named, bn->names);
	for (size_t i = 0; i < n; i++) {
		struct watch_name key = { 0 };
		__u8 one = 1;
		int r;

		memcpy(key.name, bn->names[i], sizeof(key.name));
		r = bpf_map__update_elem(skel->maps.names, &key, sizeof(key), &one, sizeof(one),
					 BPF_ANY);
		if (r < 0)
			return r;
		bn->n_names = i + 1;
		/* policy.h: every name is shorter than POLICY_BASENAME_MAX (64) */
		__atomic_or_fetch(&skel->bss->name_lens, 1ULL << (strlen(bn->names[i]) & 63),
				  __ATOMIC_RELEASE);
	}
	filters_of(bn, argmap, named);
	for (size_t i = 0; i < ARRAY_SIZE(bn->filter); i++) {
		if (!bn->filter[i].on)
			continue;
		kernel[i].fd_arg = bn->filter[i].fd_arg;
		kernel[i].path_arg = bn->filter[i].path_arg;
		__atomic_store_n(&kernel[i].on, 1, __ATOMIC_RELEASE);
	}
	return 0;
}

/* Is the last component of path (a /proc/PID/fd link, or a path argument) one of the names? */
static bool name_listed(const struct bpf_names *bn, const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;

	for (size_t i = 0; i < bn->n_names; i++)
		if (strcmp(bn->names[i], name) == 0)
			return true;
	return false;
}

static bool kept_before(const struct bpf_names *bn, uint32_t tid, uint64_t start_ns)
{
	size_t lo = 0, hi = bn->n_kept;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (bn->kept[mid].tid < tid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < bn->n_kept && bn->kept[lo].tid == tid && bn->kept[lo].start_ns == start_ns;
}

/* Remember a call kept back for the next sweep (forgotten if memory is short: looked at again). */
static void keep(struct bpf_names *bn, uint32_t tid, uint64_t start_ns)
{
	if (bn->n_next == bn->cap_next) {
		size_t cap = bn->cap_next ? 2 * bn->cap_next : 256;
		struct name_verdict *v = realloc(bn->next, cap * sizeof(*v));

		if (!v)
			return;
		bn->next = v;
		bn->cap_next = cap;
	}
	bn->next[bn->n_next++] = (struct name_verdict){ .tid = tid, .start_ns = start_ns };
}

bool bpf_names_sweep_takes(struct bpf_names *bn, uint32_t tid, const struct watch_call *c)
{
	const struct watch_name_filter *f;
	char path[PROCINFO_PATH_MAX];
	int len;

	if (!c->host_only || c->abi >= WATCH_ABI_MAX || c->nr >= WATCH_MAX_NR)
		return true;
	f = &bn->filter[c->abi * WATCH_MAX_NR + c->nr];
	if (!f->on)
		return true;
	if (kept_before(bn, tid, c->start_ns)) {
		keep(bn, tid, c->start_ns);
		return false;
	}
	/* the fd's link, as report.c reads it for the record (a closed fd: none) */
	if (f->fd_arg < 6 &&
	    procinfo_fd_path((pid_t)tid, (long)(int)c->args[f->fd_arg], path, sizeof(path)) == 0 &&
	    name_listed(bn, path))
		return true;
	if (f->path_arg < 6) {
		len = procinfo_read_string((pid_t)tid, c->args[f->path_arg], path, sizeof(path));
		/* unreadable or cut: the lifecycle decides, as the kernel leaves it to */
		if (len < 0 || (size_t)len >= sizeof(path) - 1 || name_listed(bn, path))
			return true;
	}
	keep(bn, tid, c->start_ns);
	return false;
}

static int by_tid(const void *a, const void *b)
{
	const struct name_verdict *x = a, *y = b;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

void bpf_names_sweep_done(struct bpf_names *bn)
{
	struct name_verdict *v = bn->kept;
	size_t cap = bn->cap_kept;

	if (bn->n_next)
		qsort(bn->next, bn->n_next, sizeof(*bn->next), by_tid);
	bn->kept = bn->next;
	bn->n_kept = bn->n_next;
	bn->cap_kept = bn->cap_next;
	/* the old array takes the next sweep's */
	bn->next = v;
	bn->cap_next = cap;
	bn->n_next = 0;
}

void bpf_names_free(struct bpf_names *bn)
{
	free(bn->kept);
	free(bn->next);
	bn->kept = bn->next = NULL;
	bn->n_kept = bn->cap_kept = bn->n_next = bn->cap_next = 0;
}
