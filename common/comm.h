/* SPDX-License-Identifier: MIT */
/*
 * comm.h - what a process's command name (/proc/PID/comm) can be: the
 * kernel keeps TASK_COMM_LEN - 1 = 15 bytes of it (include/linux/sched.h),
 * so a longer plain name never matches. One wording for the policy loader
 * (`validate`) and `attach --name`.
 */
#ifndef SW_COMMON_COMM_H
#define SW_COMMON_COMM_H

#include <stdbool.h>
#include <stddef.h>

#define SW_TASK_COMM_LEN 16

/* Does s contain an fnmatch(3) glob character (`*`, `?`, `[`)? */
bool sw_comm_is_glob(const char *s);

/*
 * A plain name (not a glob) of 16 or more bytes can never equal a comm.
 * Then writes "`NAME` can never match: the kernel keeps 15 characters
 * (TASK_COMM_LEN); use `FIRST15` or a glob" to buf and returns true;
 * otherwise returns false and leaves buf alone. Callers prefix what NAME is.
 */
bool sw_comm_never_matches(const char *name, char *buf, size_t size);

#endif
