/* SPDX-License-Identifier: MIT */
/*
 * spawner - posix_spawn(3) of a child that blocks MS ms before its exec.
 *
 *   spawner FIFO MS [OUT]
 *
 * A forked writer sleeps MS ms and then opens FIFO for writing (without
 * blocking; retried for up to 10 s while there is no reader). Meanwhile
 * posix_spawn() starts /bin/true with a file action that opens FIFO for
 * reading: the spawned child blocks there, before its execve, until the
 * writer comes, and glibc's posix_spawn (clone3 or clone with CLONE_VFORK)
 * keeps the parent waiting as long. Reports "pid PID", then
 * "spawn NS ret R child CPID" (the parent's own measurement) and
 * "reaped CPID status S". Exits 0 if the spawn worked and both children
 * exited 0.
 */
#include "helper.h"

#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	char *child_argv[] = { (char *)"true", NULL };
	int r, status, wstatus, ok = 1;
	pid_t writer, child = -1;
	uint64_t t0, t1;
	long ms;

	h_ptracer_any();
	if (argc < 3) {
		fprintf(stderr, "usage: spawner FIFO MS [OUT]\n");
		return 2;
	}
	ms = h_atol(argv[2], "MS");
	h_out_open(argc > 3 ? argv[3] : NULL);
	h_say("pid %d\n", getpid());
	writer = fork();
	if (writer < 0)
		h_die("fork");
	if (writer == 0) {
		uint64_t give_up = h_now_ns() + 10000000000ULL;
		int fd;

		h_nanosleep_ms(ms);
		/* non-blocking, retried: never hang if no reader ever comes */
		while ((fd = open(argv[1], O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0 &&
		       errno == ENXIO && h_now_ns() < give_up)
			h_nanosleep_ms(5);
		_exit(fd < 0 ? 1 : 0);
	}
	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 3, argv[1], O_RDONLY, 0) != 0)
		h_die("posix_spawn_file_actions");
	t0 = h_now_ns();
	r = posix_spawn(&child, "/bin/true", &fa, NULL, child_argv, environ);
	t1 = h_now_ns();
	h_say("spawn %llu ret %d child %d\n", (unsigned long long)(t1 - t0), r, (int)child);
	if (r != 0)
		ok = 0;
	else if (waitpid(child, &status, 0) < 0)
		h_die("waitpid child");
	else {
		h_say("reaped %d status %d\n", (int)child, status);
		ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	if (waitpid(writer, &wstatus, 0) < 0)
		h_die("waitpid writer");
	ok &= WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
	return ok ? 0 : 1;
}
