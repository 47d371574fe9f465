/* SPDX-License-Identifier: MIT */
/*
 * failcalls - N openat() calls of a path that does not exist (each fails
 * with ENOENT), then M getppid() calls.
 *
 *   failcalls N M [OUT]
 *
 * Reports "openat N enoent E" and "getppid M".
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper.h"

int main(int argc, char **argv)
{
	long n, m, enoent = 0;

	h_ptracer_any();
	if (argc < 3) {
		fprintf(stderr, "usage: failcalls N M [OUT]\n");
		return 2;
	}
	n = h_atol(argv[1], "N");
	m = h_atol(argv[2], "M");
	h_out_open(argc > 3 ? argv[3] : NULL);
	for (long i = 0; i < n; i++)
		if (syscall(SYS_openat, AT_FDCWD, "/nonexistent-stallwatch-failcalls", O_RDONLY) <
			    0 &&
		    errno == ENOENT)
			enoent++;
	for (long i = 0; i < m; i++)
		syscall(SYS_getppid);
	h_say("openat %ld enoent %ld\n", n, enoent);
	h_say("getppid %ld\n", m);
	return 0;
}
