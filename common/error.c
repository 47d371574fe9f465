/* SPDX-License-Identifier: MIT */
#include "error.h"

#include <stdarg.h>
#include <string.h>

int sw_error_set(struct sw_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	err->line = err->column = 0;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int sw_error_prefix(struct sw_error *err, const char *fmt, ...)
{
	char prefix[SW_ERROR_MSG_MAX], old[SW_ERROR_MSG_MAX];
	va_list ap;

	if (!err)
		return 0;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* truncation is fine: the message is for humans and keeps its head */
	if (snprintf(err->msg, sizeof(err->msg), "%s%s%s", prefix, old[0] ? ": " : "", old) < 0)
		err->msg[0] = 0;
	return err->code;
}

void sw_error_clear(struct sw_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}
