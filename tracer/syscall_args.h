/* SPDX-License-Identifier: MIT */
/*
 * syscall_args.h - which argument of a syscall is an fd and which a path,
 * so a record can say "read() of /sys/fs/cgroup/memory/memory.stat".
 * Built once per tracer into a flat array indexed by native number.
 */
#ifndef SW_TRACER_SYSCALL_ARGS_H
#define SW_TRACER_SYSCALL_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "../policy/syscall_set.h"

enum {
	ARG_NONE = -1,
};

enum syscall_arg_flags {
	/* The fd is gone (or replaced) once the call ran: take its path at entry. */
	SYSCALL_FD_AT_ENTRY = 1 << 0,
	/* The fd argument is a dirfd: AT_FDCWD means "no fd". */
	SYSCALL_DIRFD = 1 << 1,
	/* vfork-like: the call lasts as long as the child runs before exec. */
	SYSCALL_VFORK = 1 << 2,
};

struct syscall_args {
	int8_t fd_arg; /* index of the fd argument, ARG_NONE if none */
	int8_t path_arg; /* index of the path argument, ARG_NONE if none */
	uint8_t flags;
};

/* Fill map[nr] for every native nr (ARG_NONE where nothing is known). */
void syscall_args_build(struct syscall_args map[SW_MAX_NR]);

#endif
