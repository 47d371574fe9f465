/* SPDX-License-Identifier: MIT */
/*
 * fileio.h - the two file readers. sw_read_small_file: a small /proc, /sys
 * or cgroupfs file into a caller's buffer: open O_CLOEXEC, read until EOF or
 * the buffer is full (EINTR retried), NUL-terminate. Such files are
 * generated per read, so one open+read+close is the unit of cost.
 * sw_read_file: a whole input file (a policy, the scan state) into a
 * malloc'd buffer, bounded.
 */
#ifndef SW_COMMON_FILEIO_H
#define SW_COMMON_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* At most size-1 bytes (the rest is cut). Returns the length or -errno. */
ssize_t sw_read_small_file(const char *path, char *buf, size_t size);

/*
 * The whole of path, NUL-terminated, into *ret_text (malloc'd; the caller
 * frees it) and its length into *ret_len. Returns 0 or -errno: the errno of
 * open(2) or read(2), -EISDIR for a directory, -EFBIG when it holds more
 * than max bytes, -ENOMEM.
 */
int sw_read_file(const char *path, size_t max, char **ret_text, size_t *ret_len);

#endif
