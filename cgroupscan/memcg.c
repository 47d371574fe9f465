/* SPDX-License-Identifier: MIT */
#include "memcg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/fileio.h"
#include "../common/macro.h"
#include "../common/timeutil.h"
#include "procstats.h"

/* include/linux/proc_ns.h: PROC_CGROUP_INIT_INO, the initial cgroup namespace */
#define CGROUP_NS_INIT_INO 0xEFFFFFFBU
#define MAX_DEPTH 256
/* cadvisor/kubelet read memory.stat with a buffer this size */
#define STAT_BUF 65536
/* top-level memory.stat files timed per scan: bounded cost on huge trees */
#define MAX_STAT_READS 64

bool memcg_in_cgroup_namespace(const char *proc_root)
{
	char path[256], link[64];
	unsigned long ino;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/self/ns/cgroup", proc_root);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false; /* before 4.6 there are no cgroup namespaces */
	link[n] = 0;
	return sscanf(link, "cgroup:[%lu]", &ino) == 1 && ino != CGROUP_NS_INIT_INO;
}

static int walk(int dfd, unsigned depth, uint64_t *dirs, uint64_t *vanished)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	(*dirs)++;
	if (depth >= MAX_DEPTH)
		return 0;
	while ((de = readdir(d))) {
		int cfd;

		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cfd < 0) {
			/* removed between readdir and open: churn, not an error */
			if (errno == ENOENT || errno == ENOTDIR) {
				(*vanished)++;
				continue;
			}
			return -errno;
		}
		walk(cfd, depth + 1, dirs, vanished);
	}
	return 0;
}

int memcg_walk_v1(const char *root, uint64_t *ret_dirs, uint64_t *ret_vanished)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	*ret_dirs = *ret_vanished = 0;
	if (fd < 0)
		return -errno;
	return walk(fd, 0, ret_dirs, ret_vanished);
}

/* "key value" lines: the value of key, or false. */
static bool kv(const char *text, const char *key, uint64_t *ret)
{
	size_t klen = strlen(key);

	for (const char *line = text; line && *line;) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			char *end;
			unsigned long long v;

			errno = 0;
			v = strtoull(line + klen + 1, &end, 10);
			if (errno || end == line + klen + 1)
				return false;
			*ret = v;
			return true;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return false;
}

int memcg_count_v2(const char *root, struct memcg_scan *ret, struct sw_error *err)
{
	char path[4200], text[4096];
	uint64_t v, live;
	int r;

	snprintf(path, sizeof(path), "%s/cgroup.stat", root);
	r = (int)sw_read_small_file(path, text, sizeof(text));
	if (r < 0)
		return sw_error_set(err, r, "%s", path);
	/* 6.11+ (ab0312526867): per-controller counts; the root has every controller */
	if (kv(text, "nr_dying_subsys_memory", &v)) {
		ret->offline = v;
		ret->online = kv(text, "nr_subsys_memory", &live) ? live : 1;
	} else if (kv(text, "nr_dying_descendants", &v)) {
		/* 4.14+: every dying cgroup, memory or not: an upper bound */
		ret->offline = v;
		ret->online = kv(text, "nr_descendants", &live) ? live + 1 : 1;
	} else
		return sw_error_set(err, -EINVAL, "%s: no nr_dying_* key", path);
	ret->offline_min = ret->offline_max = ret->offline;
	ret->counted = true;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Time one open+read+close of path; 0 or -errno. */
static int time_stat_read(const char *path, char *buf, uint64_t *ret_ns)
{
	uint64_t t0 = sw_mono_ns();
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, STAT_BUF);
	while (n > 0);
	close(fd);
	*ret_ns = sw_mono_ns() - t0;
	return n < 0 ? -EIO : 0;
}

/*
 * The read that stalled the GitHub hosts: root and top-level memory.stat,
 * timed as an agent would see it (open, read to EOF, close).
 */
static void time_stat_reads(const char *mount, struct memcg_scan *ret)
{
	_cleanup_free_ char *buf = malloc(STAT_BUF);
	_cleanup_closedir_ DIR *d = opendir(mount);
	uint64_t times[MAX_STAT_READS + 1];
	char path[4400];
	struct dirent *de;
	size_t n = 0;

	if (!buf)
		return;
	snprintf(path, sizeof(path), "%s/memory.stat", mount);
	if (time_stat_read(path, buf, &times[n]) == 0) {
		ret->stat_read_max_ns = times[n];
		snprintf(ret->stat_read_max_path, sizeof(ret->stat_read_max_path), "%s", path);
		n++;
	}
	while (d && n <= MAX_STAT_READS && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/memory.stat", mount, de->d_name);
		if (time_stat_read(path, buf, &times[n]) < 0)
			continue; /* removed meanwhile, or v2 without memory there */
		if (times[n] > ret->stat_read_max_ns) {
			ret->stat_read_max_ns = times[n];
			snprintf(ret->stat_read_max_path, sizeof(ret->stat_read_max_path), "%s",
				 path);
		}
		n++;
	}
	ret->stat_reads = n;
	if (n) {
		qsort(times, n, sizeof(times[0]), cmp_u64);
		ret->stat_read_p50_ns = times[n / 2];
	}
}

int memcg_scan(const struct memcg_hierarchy_info *h, const struct memcg_options *o,
	       struct memcg_scan *ret, struct sw_error *err)
{
	const char *proc_root = o->proc_root ?: "/proc";
	struct cgroups_row before, after;
	const struct memcg_mount *m;
	unsigned cpus = o->possible_cpus;
	int r;

	*ret = (struct memcg_scan){ .hierarchy = h->kind, .n_mounts = h->n_mounts };
	if (h->kind == MEMCG_NONE || h->n_mounts == 0) {
		snprintf(ret->unavailable, sizeof(ret->unavailable),
			 "no memory cgroup hierarchy is mounted");
		return 0;
	}
	m = &h->mounts[0];
	snprintf(ret->mount, sizeof(ret->mount), "%s", m->path);
	time_stat_reads(m->path, ret);

	if (memcg_in_cgroup_namespace(proc_root)) {
		snprintf(ret->unavailable, sizeof(ret->unavailable),
			 "in a cgroup namespace only a subtree is visible while the kernel counts "
			 "the whole host: run scan in the host's cgroup namespace");
		return 0;
	}
	if (strcmp(m->root, "/") != 0) {
		snprintf(ret->unavailable, sizeof(ret->unavailable),
			 "only the subtree %.200s of the memory hierarchy is mounted", m->root);
		return 0;
	}

	if (h->kind == MEMCG_V2) {
		r = memcg_count_v2(m->path, ret, err);
		if (r < 0)
			return r;
	} else {
		uint64_t dirs = o->cached_online, t0;

		r = procstats_cgroups(proc_root, "memory", &before);
		if (r < 0)
			return sw_error_set(err, r, "%s/cgroups: memory row", proc_root);
		if (o->walk) {
			t0 = sw_mono_ns();
			r = memcg_walk_v1(m->path, &dirs, &ret->dirs_vanished);
			ret->walk_ns = sw_mono_ns() - t0;
			if (r < 0)
				return sw_error_set(err, r, "walking %s", m->path);
			ret->walked = true;
		}
		r = procstats_cgroups(proc_root, "memory", &after);
		if (r < 0)
			return sw_error_set(err, r, "%s/cgroups: memory row", proc_root);
		ret->online = dirs;
		/* a count that moved during the walk is a range; the estimate is the later one */
		ret->offline_min = (before.num_cgroups < after.num_cgroups ? before.num_cgroups :
									     after.num_cgroups);
		ret->offline_max = (before.num_cgroups > after.num_cgroups ? before.num_cgroups :
									     after.num_cgroups);
		ret->offline_min = ret->offline_min > dirs ? ret->offline_min - dirs : 0;
		ret->offline_max = ret->offline_max > dirs ? ret->offline_max - dirs : 0;
		ret->offline = after.num_cgroups > dirs ? after.num_cgroups - dirs : 0;
		ret->counted = true;
	}
	if (!cpus) {
		long n = sysconf(_SC_NPROCESSORS_CONF);

		cpus = n > 0 ? (unsigned)n : 1;
	}
	ret->est_pinned_bytes = ret->offline * (13000ULL + 2000ULL * cpus);
	return 0;
}
