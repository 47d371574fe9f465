/* SPDX-License-Identifier: MIT */
/*
 * enoent_counts.h - the counts of the ENOENT-storm detector for one
 * (process, directory), in one layout for user space (tracer/enoent.c,
 * under ptrace) and the bpf backend's kernel half (watch.bpf.c, section
 * "ENOENT storms (kernel)"), so the storm decision is the same code for
 * both. Fixed-size types only (the kernel side has no libc).
 *
 * Distinct names are counted with HyperLogLog sketches (Flajolet et al.,
 * "HyperLogLog: the analysis of a near-optimal cardinality estimation
 * algorithm", 2007): ENOENT_REGISTERS one-byte registers, register
 * (hash >> 57) holds the largest rank (leading zeros + 1) of the other 57
 * bits seen. Standard error 1.04 / sqrt(128) = 9.2 %. One sketch for
 * everything since the directory was first seen, and one per time slot of
 * the sliding window: the window's distinct count is the estimate of the
 * union (register-wise max) of its slots.
 */
#ifndef SW_TRACER_BPF_ENOENT_COUNTS_H
#define SW_TRACER_BPF_ENOENT_COUNTS_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define ENOENT_REGISTER_BITS 7
#define ENOENT_REGISTERS (1 << ENOENT_REGISTER_BITS) /* 128 */
/* the window in ENOENT_BUCKETS slices; one more slot holds the current, partial one */
#define ENOENT_BUCKETS 8
#define ENOENT_SLOTS (ENOENT_BUCKETS + 1)
#define ENOENT_SAMPLES 4
#define ENOENT_SAMPLE_LEN 64 /* a sample name, NUL-terminated, longer ones cut */
#define ENOENT_DIRNAME_LEN 128 /* the dirname as the first failed path spelled it */

/*
 * The last step of the name hash, the same in user space (tracer/enoent.c,
 * enoent_hash()) and in the kernel (watch.bpf.c): FNV-1a over the bytes,
 * then MurmurHash3's fmix64, because FNV's top bits alone are too regular
 * for the register index.
 */
static inline __u64 enoent_fmix64(__u64 h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* bpf: enoent_calls[native nr], which syscalls count and where their path and dirfd are */
#define ENOENT_NO_ARG 255
struct enoent_call {
	__u8 counted;
	__u8 path_arg; /* 0..5 */
	__u8 fd_arg; /* 0..5, or ENOENT_NO_ARG (no dirfd) */
	__u8 pad;
};

/* The key of a (process, directory): what identifies the directory (doc/policy.md). */
struct enoent_key {
	__u32 tgid;
	__u32 pad;
	/*
	 * The directory the lookup started from: its dirfd's, or the cwd's
	 * for a relative path with AT_FDCWD (st_dev, st_ino); 0, 0 for an
	 * absolute path (the process's root).
	 */
	__u64 dev, ino;
	__u64 dirname_hash; /* hash of the path's dirname (all before the last '/'), 0 if none */
};

struct enoent_counts {
	__u64 first_ns, last_ns; /* CLOCK_MONOTONIC of the first and latest failed lookup */
	__u64 count; /* failed lookups since first_ns */
	__u64 epoch[ENOENT_SLOTS]; /* the slice slot i counts (time / slice length) */
	__u64 slot_count[ENOENT_SLOTS]; /* failed lookups in that slice */
	__u8 total[ENOENT_REGISTERS]; /* every name since first_ns */
	__u8 slot[ENOENT_SLOTS][ENOENT_REGISTERS]; /* the names of each slice */
	__u32 next_sample; /* samples written so far (the ring's next = this % ENOENT_SAMPLES) */
	__u32 pad;
	char sample[ENOENT_SAMPLES][ENOENT_SAMPLE_LEN]; /* the latest few names */
	char dirname[ENOENT_DIRNAME_LEN];
	char comm[16]; /* bpf: the thread's comm at the first failure (the process may be gone) */
};

#endif
