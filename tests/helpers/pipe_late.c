/* SPDX-License-Identifier: MIT */
/*
 * pipe_late - read(2) on a pipe whose writer, a child process, writes late.
 *
 *   pipe_late MS [OUT]
 *
 * The child sleeps MS ms and writes one byte. The parent reports
 * "pid PID fd FD ino INODE" (the pipe's inode: stallwatch's fd_path must be
 * "pipe:[INODE]") and then "read NS ret R".
 */
#include "helper.h"

#include <sys/stat.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	uint64_t t0, t1;
	struct stat st;
	int p[2], status;
	long ms;
	ssize_t r;
	pid_t pid;
	char c;

	h_ptracer_any();
	if (argc < 2) {
		fprintf(stderr, "usage: pipe_late MS [OUT]\n");
		return 2;
	}
	ms = h_atol(argv[1], "MS");
	h_out_open(argc > 2 ? argv[2] : NULL);
	if (pipe(p) < 0)
		h_die("pipe");
	if (fstat(p[0], &st) < 0)
		h_die("fstat");
	pid = fork();
	if (pid < 0)
		h_die("fork");
	if (pid == 0) {
		close(p[0]);
		h_nanosleep_ms(ms);
		_exit(write(p[1], "x", 1) == 1 ? 0 : 1);
	}
	close(p[1]);
	h_say("pid %d fd %d ino %llu\n", getpid(), p[0], (unsigned long long)st.st_ino);
	t0 = h_now_ns();
	r = read(p[0], &c, 1);
	t1 = h_now_ns();
	h_say("read %llu ret %zd\n", (unsigned long long)(t1 - t0), r);
	if (waitpid(pid, &status, 0) < 0)
		h_die("waitpid");
	return r == 1 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
