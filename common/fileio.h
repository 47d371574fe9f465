/* SPDX-License-Identifier: MIT */
/*
 * fileio.h - read a small /proc, /sys or cgroupfs file into a caller's
 * buffer: open O_CLOEXEC, read until EOF or the buffer is full (EINTR
 * retried), NUL-terminate. Such files are generated per read, so one
 * open+read+close is the unit of cost.
 */
#ifndef SW_COMMON_FILEIO_H
#define SW_COMMON_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* At most size-1 bytes (the rest is cut). Returns the length or -errno. */
ssize_t sw_read_small_file(const char *path, char *buf, size_t size);

#endif
