/* SPDX-License-Identifier: MIT */
/*
 * syscall_set.h - sets of syscalls in strace's `-e trace=` syntax.
 *
 * A set is a bitmap over the NATIVE syscall numbers (x86_64 here), names
 * resolved with libseccomp. Compat ABIs (i386, x32) are mapped by name when a
 * seccomp filter is built (tracer/filter.c), so one set serves every ABI.
 *
 * Expression syntax (one -e argument; several -e arguments are unioned):
 *   [trace=][!]ITEM[,ITEM...]
 *   ITEM  = NAME        a syscall name; unknown on this arch -> error
 *         | ?NAME       like NAME, but silently ignored when unknown
 *         | %CLASS      file desc net network process memory signal ipc creds clock
 *         | %wait       the calls that block until an event by design (wait.h):
 *                       decided per call, so `!%wait` keeps a read of a file
 *                       and drops a read of a pipe
 *         | /REGEX      POSIX extended regex over the native syscall names
 *         | all | none
 *   A leading '!' negates the whole expression (strace semantics).
 */
#ifndef SW_POLICY_SYSCALL_SET_H
#define SW_POLICY_SYSCALL_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/error.h"

/* Native syscall numbers are below this (x86_64 tops out near 470 in 6.18). */
#define SW_MAX_NR 1024

/*
 * bits: the syscalls some of whose calls are in the set (what a seccomp
 * filter must trace). %wait makes membership a property of each call, so
 * two subsets of bits say which calls of a syscall are left out: its waits,
 * or the rest. A set without %wait has neither; a syscall that can never
 * wait never has waits_out, nor one that always waits others_out.
 */
struct syscall_set {
	uint64_t bits[SW_MAX_NR / 64];
	uint64_t waits_out[SW_MAX_NR / 64];
	uint64_t others_out[SW_MAX_NR / 64];
};

static inline void syscall_set_add(struct syscall_set *set, int nr)
{
	if (nr >= 0 && nr < SW_MAX_NR) {
		uint64_t bit = 1ULL << (nr % 64);

		set->bits[nr / 64] |= bit;
		set->waits_out[nr / 64] &= ~bit;
		set->others_out[nr / 64] &= ~bit;
	}
}

static inline void syscall_set_remove(struct syscall_set *set, int nr)
{
	if (nr >= 0 && nr < SW_MAX_NR)
		set->bits[nr / 64] &= ~(1ULL << (nr % 64));
}

/* Is any call of nr in the set? */
static inline bool syscall_set_has(const struct syscall_set *set, int nr)
{
	return nr >= 0 && nr < SW_MAX_NR && (set->bits[nr / 64] >> (nr % 64)) & 1;
}

/* Is this call of nr in the set, given whether it is a wait (wait.h)? */
static inline bool syscall_set_has_call(const struct syscall_set *set, int nr, bool wait)
{
	const uint64_t *out = wait ? set->waits_out : set->others_out;

	return syscall_set_has(set, nr) && !((out[nr / 64] >> (nr % 64)) & 1);
}

/* Does the set tell some calls of a syscall apart by %wait? */
bool syscall_set_has_wait_split(const struct syscall_set *set);

void syscall_set_clear(struct syscall_set *set);
/* Every syscall this arch has (the universe "all" ranges over). */
void syscall_set_fill_all(struct syscall_set *set);
void syscall_set_union(struct syscall_set *dst, const struct syscall_set *src);
/* dst = the calls in both (-e restricting a rule) */
void syscall_set_intersect(struct syscall_set *dst, const struct syscall_set *src);
/* dst = every call not in dst */
void syscall_set_invert(struct syscall_set *dst);
/* syscalls some of whose calls are in the set */
size_t syscall_set_count(const struct syscall_set *set);
bool syscall_set_equal(const struct syscall_set *a, const struct syscall_set *b);

/*
 * Parse one strace-style expression into *ret (which is overwritten).
 * Errors: -EINVAL with a message naming the offending item
 * ("unknown syscall `foo`", "unknown class `%bar`", "bad regex `/(`: ...",
 * "empty syscall name").
 */
int syscall_set_parse(const char *expr, struct syscall_set *ret, struct sw_error *err);

/*
 * The names of one class ("file" for %file), NULL-terminated, or NULL when
 * the class does not exist. The tables are cross-arch lists; names missing
 * on this arch are skipped by the parser.
 */
const char *const *syscall_class_names(const char *class_name);

/* Native name of nr, or NULL (static storage, no allocation). */
const char *syscall_name(int nr);
/* Native number of name, or -1 if this arch has no such syscall. */
int syscall_nr(const char *name);

#endif
