/* SPDX-License-Identifier: MIT */
/*
 * suggest.h - "did you mean ...?": the known word closest to a misspelt
 * one, by optimal string alignment distance (insert, delete, substitute one
 * character, or swap two adjacent ones: `syscals`, `tragets`, `severty`).
 */
#ifndef SW_COMMON_SUGGEST_H
#define SW_COMMON_SUGGEST_H

#include <stddef.h>

/*
 * The candidate closest to word when it is near enough to be a typo: at
 * most 1 edit for a candidate of up to 4 characters, else at most 2, and
 * fewer edits than word has characters. The first of equally close ones;
 * NULL when none is near, or word is longer than 63 bytes.
 */
const char *sw_suggest(const char *word, const char *const *candidates, size_t n);

#endif
