/* SPDX-License-Identifier: MIT */
/*
 * procstats.h - small, cheap host /proc readers for `stallwatch scan`: the
 * level signals of doc/scan.md that are not cgroup walks.
 *
 *   /proc/sys/fs/dentry-state   negative dentries (field 5 since 5.0)
 *   /proc/meminfo               Slab / SReclaimable / SUnreclaim / Percpu
 *   /proc/net/softnet_stat      time_squeeze, a softirq-backlog symptom
 *   /proc/pressure/<resource>   PSI (4.20+, CONFIG_PSI, not booted with psi=0)
 *   /proc/cgroups               the memory row, for the v1 dying-memcg count
 *
 * Each reader is open + read + close of one file (O_CLOEXEC, EINTR-safe,
 * bounded buffer, NUL-terminated), then the matching *_parse(). Parsers are
 * pure, strict and locale-independent: a malformed file is -EINVAL, never a
 * wrong number; *ret is written only on success (procstats_pressure() also
 * on -ENOENT, see there). A file that fills the read buffer is -EFBIG.
 * proc_root is "/proc" (NULL means "/proc"); tests pass a fake tree.
 * Return 0 or -errno; nothing here prints.
 */
#ifndef SW_CGROUPSCAN_PROCSTATS_H
#define SW_CGROUPSCAN_PROCSTATS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * /proc/sys/fs/dentry-state: "nr_dentry nr_unused age_limit want_pages
 * nr_negative dummy" (Documentation/admin-guide/sysctl/fs.rst).
 * nr_negative counts unused (LRU) negative dentries only, summed over CPUs.
 */
struct dentry_state {
	uint64_t nr_dentry, nr_unused, age_limit, want_pages, nr_negative;
	/*
	 * Field 5 is nr_negative since 5.0 (af0c9af1b3f6); older kernels print
	 * 0 there. The parser sets this when field 5 is present; the reader
	 * clears it when uname says the kernel is < 5.0 (or cannot tell).
	 */
	bool has_negative;
};

/* Four to six decimal fields, tab or space separated, one line. */
int procstats_dentry_parse(const char *text, struct dentry_state *ret);

/*
 * Read with a buffer of at most 4 KiB: proc_sys allocates a kernel buffer of
 * `count` bytes per read, so a 1 MiB read costs 68 us against 6 us
 * (doc/scan.md, Background). ret_read_ns (may be NULL): CLOCK_MONOTONIC time of
 * open + read + close, the cost this scan imposed.
 */
int procstats_dentry(const char *proc_root, struct dentry_state *ret, uint64_t *ret_read_ns);

/*
 * Is a kernel of this uname release ("6.18.44-fc-v669") 5.0 or newer, so that
 * dentry-state field 5 is nr_negative? False for an unparseable release:
 * better no number than a fake 0. Distribution backports to < 5.0 are missed.
 */
bool procstats_release_has_nr_negative(const char *release);

/* /proc/meminfo, in bytes (the file says kB). */
struct meminfo {
	uint64_t mem_total, mem_available, slab, sreclaimable, sunreclaim, percpu;
	bool has_percpu; /* Percpu: exists since 4.16 */
};

/*
 * MemTotal, MemAvailable (3.14+), Slab, SReclaimable and SUnreclaim are
 * required (missing or repeated: -EINVAL); Percpu is optional. Other lines
 * are skipped.
 */
int procstats_meminfo_parse(const char *text, struct meminfo *ret);
int procstats_meminfo(const char *proc_root, struct meminfo *ret);

/*
 * /proc/net/softnet_stat: one line per online CPU of "%08x" columns (9 on old
 * kernels, 11 since 3.11, 13 since 5.10, 15 on current 6.x). Sums over the
 * lines of columns 1-3. The kernel counters are 32-bit per CPU and wrap, so
 * compare sums only as deltas over short intervals.
 */
struct softnet {
	unsigned cpus; /* lines */
	uint64_t processed, dropped, time_squeeze;
};

/* At least one line; every line has the same number (>= 3) of hex columns. */
int procstats_softnet_parse(const char *text, struct softnet *ret);
int procstats_softnet(const char *proc_root, struct softnet *ret);

/*
 * /proc/pressure/{cpu,memory,io} (PSI):
 *   some avg10=0.77 avg60=1.06 avg300=1.33 total=807717726
 *   full avg10=0.00 avg60=0.00 avg300=0.00 total=0
 * avg* are percentages, total is microseconds. The full line is absent for
 * cpu before 5.13. avg300 is checked but not kept.
 */
struct pressure {
	bool present;
	double some_avg10, some_avg60, full_avg10, full_avg60;
	uint64_t some_total_us, full_total_us;
	bool has_full;
};

/*
 * A some line is required, a full line optional, neither repeated; each holds
 * avg10, avg60, avg300 and total exactly once. For newer kernels, unknown
 * key=value pairs and lines starting with another word are skipped.
 */
int procstats_pressure_parse(const char *text, struct pressure *ret);

/*
 * resource: "cpu", "memory" or "io" (any plain file name). Without PSI
 * (no CONFIG_PSI: no file; psi=0: no file, or EOPNOTSUPP on read on older
 * kernels) returns -ENOENT with *ret = { .present = false }.
 */
int procstats_pressure(const char *proc_root, const char *resource, struct pressure *ret);

/*
 * A row of /proc/cgroups, "subsys_name hierarchy num_cgroups enabled":
 * hierarchy 0 is cgroup v2 (or not mounted); num_cgroups counts every
 * cgroup of that hierarchy not yet freed, dying ones and the root included.
 */
struct cgroups_row {
	unsigned hierarchy;
	uint64_t num_cgroups;
	bool enabled;
};

/* -ENOENT if there is no row for controller; -EINVAL if that row is malformed. */
int procstats_cgroups_parse(const char *text, const char *controller, struct cgroups_row *ret);
int procstats_cgroups(const char *proc_root, const char *controller, struct cgroups_row *ret);

#endif
