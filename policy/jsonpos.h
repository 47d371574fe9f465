/* SPDX-License-Identifier: MIT */
/*
 * jsonpos.h - line/column index of a JSON document, by JSON Pointer.
 *
 * Why: jansson reports a line and column only for syntax errors; once a
 * document has parsed, its json_t values carry no position. The policy
 * loader wants "policy.json:12:7: rules/0/min_duration: bad duration", so it
 * re-reads the same text with this small scanner and asks where a value (or
 * a member's key) starts, naming it by its RFC 6901 JSON Pointer: "" is the
 * root, "/rules/0/min_duration" a member of an array element, and a key's
 * "~" and "/" are written "~0" and "~1".
 *
 * Positions are 1-based. Lines split on '\n' only; a column counts
 * characters (UTF-8 code points, i.e. bytes that are not 10xxxxxx
 * continuation bytes) from the start of the line, so a tab or a CR is one
 * column, as in jansson's error column. A key's position is its opening
 * quote.
 *
 * Keys are matched decoded: "\u00e9" in the text is the two UTF-8 bytes
 * C3 A9 in a pointer, and a surrogate pair is one 4-byte character. A
 * "\u0000" in a key (which jansson refuses anyway) is kept as its six raw
 * characters, so {"a\u0000b": 1} is "/a\u0000b" with a real backslash.
 * When a key repeats inside one object the first member wins.
 */
#ifndef SW_POLICY_JSONPOS_H
#define SW_POLICY_JSONPOS_H

#include <stdbool.h>
#include <stddef.h>

/* Nesting deeper than this many arrays/objects is refused with -E2BIG. */
#define JSONPOS_MAX_DEPTH 512

struct jsonpos_entry; /* one value, defined in jsonpos.c */

struct jsonpos {
	/* private */
	struct jsonpos_entry *entries; /* every value in document order; [0] is the root */
	size_t n_entries;
	char *keys; /* decoded member keys, back to back, not NUL-terminated */
	size_t keys_len;
	size_t *order; /* entries[1..] sorted by (parent, key or index), duplicates dropped */
	size_t n_order;
};

/*
 * Build the index of text[0..len) (text need not be NUL-terminated). idx need
 * not be initialised and is overwritten, not freed. Returns 0, -EINVAL (not
 * JSON: also lone surrogates and trailing garbage), -ENOMEM, or -E2BIG
 * (nesting deeper than JSONPOS_MAX_DEPTH). On failure idx is left empty, so
 * jsonpos_free() on it is harmless and lookups return false.
 */
int jsonpos_build(struct jsonpos *idx, const char *text, size_t len);

/* Release the index; safe on a zeroed struct and when called twice. */
void jsonpos_free(struct jsonpos *idx);

/*
 * Position of the value at pointer (e.g. "/rules/0/min_duration"). Array
 * indices are "0" or digits without a leading zero; "-" never matches.
 * Returns false if the pointer is malformed or names no value. ret_line and
 * ret_col may be NULL.
 */
bool jsonpos_value(const struct jsonpos *idx, const char *pointer, unsigned *ret_line,
		   unsigned *ret_col);

/*
 * Position of the key (its opening quote) of the object member at pointer,
 * e.g. "/rules/0/nmae". Returns false for the root, for array elements and
 * for pointers that name no value.
 */
bool jsonpos_key(const struct jsonpos *idx, const char *pointer, unsigned *ret_line,
		 unsigned *ret_col);

/*
 * Append "/" and the escaped reference token for key to the NUL-terminated
 * pointer in buf (size bytes): "/a" + "b/c" -> "/a/b~1c". Returns 0, or
 * -ENAMETOOLONG (buf unchanged) when the result and its NUL do not fit.
 */
int jsonpos_append_key(char *buf, size_t size, const char *key);

/* Append "/N" likewise. Returns 0 or -ENAMETOOLONG (buf unchanged). */
int jsonpos_append_index(char *buf, size_t size, size_t index);

#endif
