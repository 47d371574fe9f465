/* SPDX-License-Identifier: MIT */
/*
 * cpucall - one syscall that burns CPU in the kernel: getrandom(2) of MIB
 * MiB in a single call (the kernel fills the whole buffer with ChaCha20 in
 * one go, get_random_bytes_user(), drivers/char/random.c, 5.18+; only a
 * pending signal cuts it short).
 *
 *   cpucall MIB [OUT]
 *
 * The buffer is touched first, so the call's time is the generator's, not
 * page faults. Reports "getrandom NS ret R".
 */
#include "helper.h"

#include <sys/random.h>

int main(int argc, char **argv)
{
	uint64_t t0, t1;
	size_t len;
	ssize_t r;
	char *buf;

	h_ptracer_any();
	if (argc < 2) {
		fprintf(stderr, "usage: cpucall MIB [OUT]\n");
		return 2;
	}
	len = (size_t)h_atol(argv[1], "MIB") << 20;
	h_out_open(argc > 2 ? argv[2] : NULL);
	buf = malloc(len);
	if (!buf)
		h_die("malloc");
	memset(buf, 1, len);
	t0 = h_now_ns();
	r = getrandom(buf, len, 0);
	t1 = h_now_ns();
	h_say("getrandom %llu ret %zd\n", (unsigned long long)(t1 - t0), r);
	free(buf);
	return r == (ssize_t)len ? 0 : 1;
}
