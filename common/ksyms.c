/* SPDX-License-Identifier: MIT */
/*
 * ksyms.c - kernel addresses to names (ksyms.h).
 */
#include "ksyms.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"

/* /proc/kallsyms is ~5 MB with ~120,000 symbols on a distribution kernel */
#define KSYMS_FILE_MAX (256u << 20)

struct ksym {
	uint64_t addr;
	uint32_t name; /* offset into names */
};

struct ksyms {
	struct ksym *syms; /* sorted by addr */
	size_t n;
	char *names; /* NUL-separated */
};

static int by_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

void ksyms_free(struct ksyms *ks)
{
	if (!ks)
		return;
	free(ks->syms);
	free(ks->names);
	free(ks);
}

/* "ADDR TYPE NAME[\t[MODULE]]": a text symbol's address and name (cut at the tab), or false. */
static bool parse_line(char *line, uint64_t *ret_addr, char **ret_name, bool *ret_nonzero)
{
	char *end, *name;
	uint64_t addr = strtoull(line, &end, 16);

	if (end == line || *end != ' ')
		return false;
	*ret_nonzero |= addr != 0;
	if (!strchr("tTwW", end[1]) || end[2] != ' ')
		return false;
	name = end + 3;
	name[strcspn(name, "\t ")] = 0;
	if (!*name)
		return false;
	*ret_addr = addr;
	*ret_name = name;
	return true;
}

int ksyms_load(const char *path, struct ksyms **ret)
{
	_cleanup_free_ char *text = NULL;
	struct ksyms *ks = NULL;
	size_t len, cap = 0, names_len = 0;
	bool nonzero = false;
	char *line, *next;
	int r;

	*ret = NULL;
	r = sw_read_file(path ? path : "/proc/kallsyms", KSYMS_FILE_MAX, &text, &len);
	if (r < 0)
		return r;
	ks = calloc(1, sizeof(*ks));
	/* names are at most the file's size; one pass copies them in */
	if (!ks || !(ks->names = malloc(len + 1))) {
		ksyms_free(ks);
		return -ENOMEM;
	}
	for (line = text; line && *line; line = next) {
		uint64_t addr;
		char *name;
		size_t nlen;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!parse_line(line, &addr, &name, &nonzero) || addr == 0)
			continue;
		if (ks->n == cap) {
			struct ksym *ns;

			cap = cap ? cap * 2 : 65536;
			ns = realloc(ks->syms, cap * sizeof(*ns));
			if (!ns) {
				ksyms_free(ks);
				return -ENOMEM;
			}
			ks->syms = ns;
		}
		nlen = strlen(name) + 1;
		memcpy(ks->names + names_len, name, nlen);
		ks->syms[ks->n++] = (struct ksym){ .addr = addr, .name = (uint32_t)names_len };
		names_len += nlen;
	}
	if (!nonzero || ks->n == 0) {
		ksyms_free(ks);
		return nonzero ? -ENOENT : -EPERM;
	}
	qsort(ks->syms, ks->n, sizeof(*ks->syms), by_addr);
	/* about half the file was addresses, types and data symbols: give it back */
	next = realloc(ks->names, names_len);
	if (next)
		ks->names = next;
	*ret = ks;
	return 0;
}

const char *ksyms_find(const struct ksyms *ks, uint64_t addr, uint64_t *ret_offset)
{
	size_t lo = 0, hi;

	if (!ks || ks->n == 0 || addr < ks->syms[0].addr)
		return NULL;
	/* the last symbol at or below addr */
	hi = ks->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if (ret_offset)
		*ret_offset = addr - ks->syms[lo].addr;
	return ks->names + ks->syms[lo].name;
}

uint64_t ksyms_address(const struct ksyms *ks, const char *name)
{
	for (size_t i = 0; ks && i < ks->n; i++)
		if (strcmp(ks->names + ks->syms[i].name, name) == 0)
			return ks->syms[i].addr;
	return 0;
}

int ksyms_format(const struct ksyms *ks, uint64_t addr, char *buf, size_t size)
{
	uint64_t off = 0;
	const char *name = ksyms_find(ks, addr, &off);
	int n;

	if (name)
		n = snprintf(buf, size, "%s+0x%" PRIx64, name, off);
	else
		n = snprintf(buf, size, "0x%" PRIx64, addr);
	if (n < 0)
		return 0;
	return (size_t)n >= size ? (int)size - 1 : n;
}

bool ksyms_is_tracing_frame(const char *name)
{
	static const char *const prefixes[] = {
		"bpf_prog_", /* the program itself: bpf_prog_<tag>_<name> */
		"bpf_trace_run", /* kernel/trace/bpf_trace.c, runs tp_btf/raw_tp programs */
		"__bpf_trace_", /* the tracepoint's BPF stub (include/trace/bpf_probe.h) */
		"__traceiter_", /* the tracepoint's iterator over its probes */
		"perf_trace_", /* the perf stub of a tracepoint */
		"___bpf_prog_run", /* the interpreter */
		"__bpf_prog_run",
		"bpf_get_stack", /* the helper that took the stack (bpf_get_stackid_raw_tp...) */
		"bpf_overflow_handler", /* a perf_event program's caller */
	};

	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}
