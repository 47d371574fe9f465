/* SPDX-License-Identifier: MIT */
/*
 * escape.h - a string from a traced program or a file, made safe to print
 * on a terminal: a comm set with prctl(PR_SET_NAME, "\e[31m..."), a policy
 * key "\u001b]0;pwned\u0007" or a rule name with a newline must not recolour
 * or retitle the terminal, nor forge a second line.
 *
 * C escapes, as the text records have always written them: a newline, tab
 * and carriage return as \n, \t and \r; any other control character (C0,
 * DEL, and C1 U+0080..U+009F, which terminals also act on) as \xHH per
 * byte; a byte that is not part of well-formed UTF-8 as \xHH. Everything
 * else, other languages included, is shown as is. A backslash is not
 * doubled: the result is for reading, and free text reads better so.
 */
#ifndef SW_COMMON_ESCAPE_H
#define SW_COMMON_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for a string of n bytes escaped, with the NUL (every byte as \xHH at worst). */
#define SW_ESCAPE_SIZE(n) (4 * (n) + 1)

/* Does a terminal act on this code point (C0, DEL, C1) instead of showing it? */
bool sw_escape_is_control(uint32_t cp);

/*
 * The escape of one character of n bytes (a control character's UTF-8
 * sequence, or one byte that is not UTF-8) into out, which has room for
 * SW_ESCAPE_SIZE(n) bytes. Returns its length.
 */
size_t sw_escape_char(const char *s, size_t n, uint32_t cp, char *out);

/*
 * s (NUL-terminated) escaped into out (size bytes; SW_ESCAPE_SIZE(strlen(s))
 * always suffices): cut before a character that would not fit whole, and
 * always NUL-terminated. Returns out, to be used as a printf argument.
 */
const char *sw_escape(const char *s, char *out, size_t size);

#endif
