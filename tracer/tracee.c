/* SPDX-License-Identifier: MIT */
#include "tracee.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define TRACEE_INITIAL_CAPACITY 64

static size_t slot_of(pid_t tid, size_t capacity)
{
	/* Fibonacci hashing: tids are sequential, this spreads them */
	return (size_t)(((uint32_t)tid * 2654435761u) & (capacity - 1));
}

int tracee_table_init(struct tracee_table *tab)
{
	tab->slots = calloc(TRACEE_INITIAL_CAPACITY, sizeof(*tab->slots));
	if (!tab->slots)
		return -ENOMEM;
	tab->capacity = TRACEE_INITIAL_CAPACITY;
	tab->count = tab->used = 0;
	return 0;
}

static void tracee_free(struct tracee *t)
{
	if (t->probe.syscall_fd >= 0)
		close(t->probe.syscall_fd);
	free(t->entry_fd_path);
	free(t->info);
	free(t->proc_evidence);
	free(t);
}

void tracee_table_done(struct tracee_table *tab)
{
	for (size_t i = 0; i < tab->capacity; i++) {
		struct tracee *t = tracee_at(tab, i);

		if (t)
			tracee_free(t);
	}
	free(tab->slots);
	tab->slots = NULL;
	tab->capacity = tab->count = tab->used = 0;
}

struct tracee *tracee_find(const struct tracee_table *tab, pid_t tid)
{
	size_t mask = tab->capacity - 1;

	for (size_t i = slot_of(tid, tab->capacity), n = 0; n < tab->capacity;
	     i = (i + 1) & mask, n++) {
		struct tracee *t = tab->slots[i];

		if (!t)
			return NULL;
		if (t != TRACEE_TOMBSTONE && t->tid == tid)
			return t;
	}
	return NULL;
}

static void insert_slot(struct tracee **slots, size_t capacity, struct tracee *t)
{
	size_t i = slot_of(t->tid, capacity);

	while (slots[i] && slots[i] != TRACEE_TOMBSTONE)
		i = (i + 1) & (capacity - 1);
	slots[i] = t;
}

static int grow(struct tracee_table *tab)
{
	size_t capacity = tab->capacity;
	struct tracee **slots;

	/* rehash to drop tombstones; double only when live entries need it */
	if (tab->count * 2 >= capacity)
		capacity *= 2;
	slots = calloc(capacity, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < tab->capacity; i++) {
		struct tracee *t = tracee_at(tab, i);

		if (t)
			insert_slot(slots, capacity, t);
	}
	free(tab->slots);
	tab->slots = slots;
	tab->capacity = capacity;
	tab->used = tab->count;
	return 0;
}

struct tracee *tracee_add(struct tracee_table *tab, pid_t tid)
{
	struct tracee *t;

	if ((tab->used + 1) * 4 >= tab->capacity * 3 && grow(tab) < 0)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->tid = tid;
	t->probe.syscall_fd = -1;
	insert_slot(tab->slots, tab->capacity, t);
	tab->count++;
	tab->used++;
	return t;
}

void tracee_remove(struct tracee_table *tab, struct tracee *t)
{
	size_t mask = tab->capacity - 1;

	for (size_t i = slot_of(t->tid, tab->capacity), n = 0; n < tab->capacity;
	     i = (i + 1) & mask, n++) {
		if (tab->slots[i] == t) {
			tab->slots[i] = TRACEE_TOMBSTONE;
			tab->count--;
			tracee_free(t);
			return;
		}
		if (!tab->slots[i])
			return;
	}
}
