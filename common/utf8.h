/* SPDX-License-Identifier: MIT */
/*
 * utf8.h - make kernel strings (comm, paths, command lines) valid UTF-8.
 * jansson's json_string() returns NULL on invalid UTF-8 (2.14), and a record
 * must never be lost because a file name holds Latin-1 bytes.
 */
#ifndef SW_COMMON_UTF8_H
#define SW_COMMON_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Copy in[0..len) to out as valid UTF-8: every byte that does not start a
 * well-formed sequence (overlongs, surrogates, > U+10FFFF and truncated
 * sequences included) becomes U+FFFD; NUL bytes become replace_nul (e.g. ' '
 * for command lines) or end the string when replace_nul is 0. out is always
 * NUL-terminated and truncated on a character boundary. Returns the length
 * written, without the NUL.
 */
size_t sw_utf8_sanitize(const char *in, size_t len, char *out, size_t out_size, char replace_nul);

/*
 * The well-formed UTF-8 sequence at s (at most avail bytes): its code point
 * in *ret_cp (may be NULL) and its length, or 0 when s[0] does not start
 * one (the same rules as sw_utf8_sanitize()) or avail is 0.
 */
size_t sw_utf8_decode(const char *s, size_t avail, uint32_t *ret_cp);

#endif
