/* SPDX-License-Identifier: MIT */
#include "suggest.h"

#include <stdint.h>
#include <string.h>

#define SUGGEST_MAX 64

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

/* Optimal string alignment distance of a and b (both shorter than SUGGEST_MAX). */
static size_t osa_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t d[SUGGEST_MAX + 1][SUGGEST_MAX + 1];

	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];

			d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < d[i][j])
				d[i][j] = d[i - 2][j - 2] + 1;
		}
	return d[la][lb];
}

const char *sw_suggest(const char *word, const char *const *candidates, size_t n)
{
	size_t lw = strlen(word), best_d = SIZE_MAX;
	const char *best = NULL;

	if (lw >= SUGGEST_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t lc = strlen(candidates[i]), d, limit;

		if (lc >= SUGGEST_MAX)
			continue;
		d = osa_distance(word, lw, candidates[i], lc);
		limit = lc <= 4 ? 1 : 2;
		if (d <= limit && d < lw && d < best_d) {
			best = candidates[i];
			best_d = d;
		}
	}
	return best;
}
