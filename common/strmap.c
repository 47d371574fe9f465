/* SPDX-License-Identifier: MIT */
#include "strmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct sw_strmap_slot {
	char *key; /* NULL: free */
	uint64_t hash;
	size_t value;
};

/* FNV-1a, 64 bits (http://www.isthe.com/chongo/tech/comp/fnv/), with a final mix */
static uint64_t hash_of(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 32;
	return h;
}

/* The slot holding key, or the free slot where it would go (cap > n always). */
static struct sw_strmap_slot *probe(const struct sw_strmap *m, const char *key, uint64_t hash)
{
	size_t mask = m->cap - 1;

	for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
		struct sw_strmap_slot *s = &m->slots[i];

		if (!s->key || (s->hash == hash && strcmp(s->key, key) == 0))
			return s;
	}
}

bool sw_strmap_get(const struct sw_strmap *m, const char *key, size_t *ret_value)
{
	const struct sw_strmap_slot *s;

	if (!m->n)
		return false;
	s = probe(m, key, hash_of(key));
	if (!s->key)
		return false;
	if (ret_value)
		*ret_value = s->value;
	return true;
}

static int grow(struct sw_strmap *m)
{
	struct sw_strmap old = *m;
	size_t cap = m->cap ? m->cap * 2 : 16;

	if (cap > SIZE_MAX / 2 / sizeof(*m->slots))
		return -ENOMEM;
	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots) {
		*m = old;
		return -ENOMEM;
	}
	m->cap = cap;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].key)
			*probe(m, old.slots[i].key, old.slots[i].hash) = old.slots[i];
	free(old.slots);
	return 0;
}

int sw_strmap_add(struct sw_strmap *m, const char *key, size_t value)
{
	uint64_t hash = hash_of(key);
	struct sw_strmap_slot *s;
	char *copy;

	if (m->n && probe(m, key, hash)->key)
		return -EEXIST;
	if ((m->n + 1) * 2 > m->cap && grow(m) < 0)
		return -ENOMEM;
	copy = strdup(key);
	if (!copy)
		return -ENOMEM;
	s = probe(m, key, hash);
	*s = (struct sw_strmap_slot){ .key = copy, .hash = hash, .value = value };
	m->n++;
	return 0;
}

void sw_strmap_free(struct sw_strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	*m = (struct sw_strmap){};
}
