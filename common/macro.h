/* SPDX-License-Identifier: MIT */
/*
 * macro.h - the few macros every module uses: cleanup attributes (systemd /
 * crun style), ownership transfer, array sizes.
 *
 * Cleanup helpers accept "empty" values (NULL, -1) so a variable can be
 * declared with its empty value and handed off with TAKE_PTR()/TAKE_FD().
 */
#ifndef SW_COMMON_MACRO_H
#define SW_COMMON_MACRO_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Hand ownership of a pointer or fd to someone else; the local becomes empty. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p = (p);                                                            \
		(p) = NULL;                                                                        \
		_p;                                                                                \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_fd;                                                                               \
	})

/* libc -1/errno convention to our 0/-errno convention. */
#define RET_NERRNO(expr)                                                                           \
	({                                                                                         \
		long _r = (long)(expr);                                                            \
		_r < 0 ? -errno : 0;                                                               \
	})

#endif
