/* SPDX-License-Identifier: MIT */
/*
 * strmap.h - a string-keyed hash index: name -> number (an index into the
 * caller's array). The policy loader looks names up once per rule, target,
 * list and reference; a linear search there made loading quadratic
 * (100 000 rules: minutes). Open addressing with linear probing, at most
 * half full, keys copied; lookups and insertions are O(1) on average.
 */
#ifndef SW_COMMON_STRMAP_H
#define SW_COMMON_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sw_strmap_slot; /* defined in strmap.c */

struct sw_strmap {
	/* private; a zeroed struct is an empty map */
	struct sw_strmap_slot *slots;
	size_t cap, n;
};

/* Value of key in *ret_value; false when key is not in the map. */
bool sw_strmap_get(const struct sw_strmap *m, const char *key, size_t *ret_value);

/*
 * Add key (copied) with value. Returns 0, -EEXIST when key is already in
 * the map (its value unchanged), or -ENOMEM.
 */
int sw_strmap_add(struct sw_strmap *m, const char *key, size_t value);

/* Number of keys. */
static inline size_t sw_strmap_size(const struct sw_strmap *m)
{
	return m->n;
}

/* Release everything; the map is empty again. */
void sw_strmap_free(struct sw_strmap *m);

#endif
