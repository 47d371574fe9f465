/* SPDX-License-Identifier: MIT */
#include "comm.h"

#include <stdio.h>
#include <string.h>

bool sw_comm_is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

bool sw_comm_never_matches(const char *name, char *buf, size_t size)
{
	if (sw_comm_is_glob(name) || strlen(name) < SW_TASK_COMM_LEN)
		return false;
	snprintf(buf, size,
		 "`%s` can never match: the kernel keeps %d characters (TASK_COMM_LEN); "
		 "use `%.*s` or a glob",
		 name, SW_TASK_COMM_LEN - 1, SW_TASK_COMM_LEN - 1, name);
	return true;
}
