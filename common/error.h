/* SPDX-License-Identifier: MIT */
/*
 * error.h - error context carried up to the one place in cli/ that prints.
 *
 * Library functions return 0 (or a positive count) on success and -errno on
 * failure. When a caller wants a message it passes a struct sw_error; the
 * callee fills it with sw_error_set() and returns the same negative code, so
 * `return sw_error_set(err, -EINVAL, "bad `%s`", s);` reads like crun's
 * crun_make_error(). Callers add context with sw_error_prefix(). Nothing here
 * allocates: the message lives in a fixed buffer. err may be NULL.
 */
#ifndef SW_COMMON_ERROR_H
#define SW_COMMON_ERROR_H

#include "macro.h"

#define SW_ERROR_MSG_MAX 512

struct sw_error {
	int code; /* negative errno, 0 when unset */
	char msg[SW_ERROR_MSG_MAX]; /* "what: why" without the errno text */
	int line, column; /* 1-based position for file errors, 0 if none */
};

/* Record an error; returns code (which must be negative). */
int sw_error_set(struct sw_error *err, int code, const char *fmt, ...) _printf_(3, 4);

/* Prepend "context: " to the message already recorded. Returns err->code. */
int sw_error_prefix(struct sw_error *err, const char *fmt, ...) _printf_(2, 3);

/* Reset to "no error". */
void sw_error_clear(struct sw_error *err);

#endif
