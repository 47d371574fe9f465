/* SPDX-License-Identifier: MIT */
#include "cgadapter.h"

#include <errno.h>
#include <libcgroup.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "../common/macro.h"

/* libcgroup's log lines during one call: the last one explains a failure. */
struct cg_log {
	char last[256];
};

static void cg_logger(void *userdata, int level, const char *fmt, va_list ap)
{
	struct cg_log *log = userdata;
	size_t n;

	if (!log)
		return;
	vsnprintf(log->last, sizeof(log->last), fmt, ap);
	n = strlen(log->last);
	while (n && (log->last[n - 1] == '\n' || log->last[n - 1] == ' '))
		log->last[--n] = 0;
}

int cgadapter_errno(int ecg)
{
	switch (ecg) {
	case 0:
		return 0;
	case ECGOTHER:
		return cgroup_get_last_errno() ? -cgroup_get_last_errno() : -EIO;
	case ECGROUPNOTMOUNTED:
	case ECGROUPSUBSYSNOTMOUNTED:
	case ECGEOF:
		return -ENOENT;
	case ECGINVAL:
		return -EINVAL;
	default:
		return -EIO;
	}
}

const char *cgadapter_kind_name(enum memcg_hierarchy_kind kind)
{
	return kind == MEMCG_V1 ? "v1" : kind == MEMCG_V2 ? "v2" : "none";
}

void cgadapter_hierarchy_free(struct memcg_hierarchy_info *h)
{
	free(h->mounts);
	*h = (struct memcg_hierarchy_info){};
}

/* Field 4 of the /proc/self/mountinfo line of mount point path: the subtree mounted. */
static void mount_root(const char *path, char *root, size_t size)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192];

	snprintf(root, size, "/");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char mroot[4096], mpoint[4096];

		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT ..." (octal escapes only for odd names) */
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", mroot, mpoint) == 2 &&
		    strcmp(mpoint, path) == 0)
			snprintf(root, size, "%s", mroot);
	}
}

static int add_mount(struct memcg_hierarchy_info *h, const char *path)
{
	struct memcg_mount *m;
	struct stat st;

	if (stat(path, &st) < 0)
		return 0; /* unmounted meanwhile */
	for (size_t i = 0; i < h->n_mounts; i++)
		if (h->mounts[i].dev == st.st_dev && h->mounts[i].ino == st.st_ino)
			return 0; /* the same hierarchy root, mounted again */
	m = realloc(h->mounts, (h->n_mounts + 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	h->mounts = m;
	m = &h->mounts[h->n_mounts++];
	snprintf(m->path, sizeof(m->path), "%s", path);
	mount_root(path, m->root, sizeof(m->root));
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	return 0;
}

static int by_root_first(const void *a, const void *b)
{
	const struct memcg_mount *x = a, *y = b;

	return (strcmp(y->root, "/") == 0) - (strcmp(x->root, "/") == 0);
}

int cgadapter_discover_memory(struct memcg_hierarchy_info *ret, struct sw_error *err)
{
	struct cg_log log = {};
	char path[FILENAME_MAX];
	void *handle = NULL;
	struct statfs sfs;
	int r;

	*ret = (struct memcg_hierarchy_info){};
	cgroup_set_logger(cg_logger, CGROUP_LOG_WARNING, &log);
	r = cgroup_init();
	if (r == ECGROUPNOTMOUNTED) {
		r = 0; /* no cgroup at all: kind NONE */
		goto out;
	}
	if (r) {
		r = sw_error_set(err, cgadapter_errno(r), "libcgroup: cgroup_init: %s",
				 log.last[0] ? log.last : cgroup_strerror(r));
		goto out;
	}
	r = cgroup_get_subsys_mount_point_begin("memory", &handle, path);
	while (r == 0) {
		int ar = add_mount(ret, path);

		if (ar < 0) {
			r = sw_error_set(err, ar, "out of memory");
			goto out;
		}
		r = cgroup_get_subsys_mount_point_next(&handle, path);
	}
	cgroup_get_subsys_mount_point_end(&handle);
	if (r != ECGEOF && r != ECGROUPNOTMOUNTED && r != ECGROUPSUBSYSNOTMOUNTED && r != 0) {
		r = sw_error_set(err, cgadapter_errno(r), "libcgroup: memory mount points: %s",
				 log.last[0] ? log.last : cgroup_strerror(r));
		goto out;
	}
	r = 0;
	if (ret->n_mounts == 0)
		goto out;
	qsort(ret->mounts, ret->n_mounts, sizeof(*ret->mounts), by_root_first);
	/* libcgroup lists v2 too when memory is enabled there; the filesystem says which */
	if (statfs(ret->mounts[0].path, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
		ret->kind = MEMCG_V2;
	else
		ret->kind = MEMCG_V1;
out:
	/* libcgroup keeps the pointer: never leave it pointing at our stack */
	cgroup_set_logger(cg_logger, CGROUP_LOG_ERROR, NULL);
	if (r < 0)
		cgadapter_hierarchy_free(ret);
	return r;
}
