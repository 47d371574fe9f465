/* SPDX-License-Identifier: MIT */
/*
 * ksyms.h - kernel addresses to "function+0xoff", from /proc/kallsyms.
 *
 * Loaded once, when the first record needs it (reading /proc/kallsyms
 * costs tens of milliseconds: the kernel formats ~120,000 lines), then a
 * binary search per address. Only text symbols (t, T, W) are kept. Modules
 * loaded after the load are not known: their addresses find no symbol.
 *
 * Without the right to see kernel addresses (kptr_restrict, or no
 * CAP_SYSLOG) every address in the file reads 0: ksyms_load() says so with
 * -EPERM instead of naming garbage.
 */
#ifndef SW_COMMON_KSYMS_H
#define SW_COMMON_KSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ksyms;

/* Load path (NULL: /proc/kallsyms). 0, -EPERM (addresses hidden), -ENOENT, -ENOMEM... */
int ksyms_load(const char *path, struct ksyms **ret);
void ksyms_free(struct ksyms *ks);

/* The symbol addr is in and the offset into it; NULL when below the first or unknown. */
const char *ksyms_find(const struct ksyms *ks, uint64_t addr, uint64_t *ret_offset);
/* The address of a symbol by name (a linear search: for setup), 0 if absent. */
uint64_t ksyms_address(const struct ksyms *ks, const char *name);

/*
 * addr as "function+0xoff" into buf (or "0x..." when no symbol holds it).
 * Returns the length written (truncated to size-1).
 */
int ksyms_format(const struct ksyms *ks, uint64_t addr, char *buf, size_t size);

/*
 * Is name a frame of the tracing machinery rather than of the traced code:
 * the BPF program and what ran it (bpf_prog_*, bpf_trace_run*,
 * __bpf_trace_*, __traceiter_*, perf_trace_*, ___bpf_prog_run, ...)?
 */
bool ksyms_is_tracing_frame(const char *name);

#endif
