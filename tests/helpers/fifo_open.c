/* SPDX-License-Identifier: MIT */
/*
 * fifo_open - a blocking openat(2) of a FIFO for reading.
 *
 *   fifo_open FIFO [OUT]
 *
 * Reports "pid PID" and "opening" just before open(FIFO, O_RDONLY), which
 * blocks until a writer opens the FIFO; then "open NS fd FD" (the call's own
 * measured length), reads to end of file and reports "read N bytes".
 */
#include "helper.h"

int main(int argc, char **argv)
{
	uint64_t t0, t1;
	size_t total = 0;
	char buf[256];
	ssize_t n;
	int fd;

	h_ptracer_any();
	if (argc < 2) {
		fprintf(stderr, "usage: fifo_open FIFO [OUT]\n");
		return 2;
	}
	h_out_open(argc > 2 ? argv[2] : NULL);
	h_say("pid %d\n", getpid());
	h_say("opening\n");
	t0 = h_now_ns();
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	t1 = h_now_ns();
	if (fd < 0)
		h_die(argv[1]);
	h_say("open %llu fd %d\n", (unsigned long long)(t1 - t0), fd);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += (size_t)n;
	h_say("read %zu bytes\n", total);
	return n < 0 ? 1 : 0;
}
