/* SPDX-License-Identifier: MIT */
/*
 * sigstate - print what a wrapper must pass through unchanged (scenarios
 * 25, 29, 30): the signal lines and PPid/TracerPid of /proc/self/status and
 * the open fds, one "fd N WHAT" line each. WHAT is the link target with
 * inode numbers dropped ("pipe:", "anon_inode:[pidfd]"), and "file" for
 * any other path outside /dev, so a traced and an untraced run compare equal.
 *
 *   sigstate [OUT]
 */
#include "helper.h"

#include <dirent.h>
#include <limits.h>

static void print_fd(int fd)
{
	char link[64], target[PATH_MAX];
	const char *what = target;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return;
	target[n] = '\0';
	if (target[0] == '/' && strncmp(target, "/dev/", 5))
		what = "file";
	else if (!strncmp(target, "pipe:", 5) || !strncmp(target, "socket:", 7))
		*strchr(target, ':') = '\0';
	h_say("fd %d %s\n", fd, what);
}

int main(int argc, char **argv)
{
	static const char *const keys[] = { "SigPnd:", "ShdPnd:",    "SigBlk:", "SigIgn:",
					    "SigCgt:", "TracerPid:", "PPid:" };
	char line[256];
	unsigned char open_fd[1024] = { 0 };
	struct dirent *de;
	FILE *f;
	DIR *d;

	h_ptracer_any();
	h_out_open(argc > 1 ? argv[1] : NULL);
	f = fopen("/proc/self/status", "re");
	if (!f)
		h_die("/proc/self/status");
	while (fgets(line, sizeof(line), f))
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strncmp(line, keys[i], strlen(keys[i])))
				h_say("%s", line);
	fclose(f);

	d = opendir("/proc/self/fd");
	if (!d)
		h_die("/proc/self/fd");
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] != '.' && fd != dirfd(d) && (fd != h_out_fd || fd == 1) &&
		    fd >= 0 && fd < 1024)
			open_fd[fd] = 1;
	}
	closedir(d);
	for (int fd = 0; fd < 1024; fd++)
		if (open_fd[fd])
			print_fd(fd);
	return 0;
}
