/* SPDX-License-Identifier: MIT */
/*
 * enoentstorm - failed lookups (ENOENT) for the ENOENT-storm detector.
 *
 *   enoentstorm MODE N DIR [DIR2] [-p PREFIX] [-g GATE] [-i] [-s SLEEP_MS] [-o OUT]
 *
 * MODE:
 *   unique  N stat() of DIR/m0000000, DIR/m0000001, ... (absolute paths,
 *           each a new missing name: one negative dentry each)
 *   same    N stat() of DIR/missing (one name: one negative dentry)
 *   two     N lookups of new names, alternating: stat() of DIR/aNNNNNNN
 *           (absolute) and openat(dirfd of DIR2, "bNNNNNNN") (relative to
 *           an fd)
 *   cwd     chdir(DIR), then N newfstatat(AT_FDCWD, "cNNNNNNN") (relative)
 * -p PREFIX replaces the name's letter (m, a/b, c), so two runs in one
 * directory make different negative dentries.
 * -g GATE: after the lookups, report "ready" and wait (up to 60 s) until
 * the file GATE exists (another process adds negatives meanwhile).
 * -i: then inotify_add_watch(DIR, IN_ALL_EVENTS), the child-event watch
 * that walks DIR's child dentries, and report "watch NS" (its duration).
 * Then sleeps SLEEP_MS (the storm's record can come before the exit) and
 * reports "lookups N enoent E".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper.h"

static long failed(long r)
{
	return r < 0 && errno == ENOENT;
}

int main(int argc, char **argv)
{
	const char *mode, *dir, *dir2 = NULL, *out = NULL, *prefix = NULL, *gate = NULL;
	long n, sleep_ms = 0, enoent = 0;
	bool watch = false;
	char path[4096];
	struct stat st;
	int i, dfd = -1;

	h_ptracer_any();
	if (argc < 4) {
		fprintf(stderr, "usage: enoentstorm MODE N DIR [DIR2] [-s SLEEP_MS] [-o OUT]\n");
		return 2;
	}
	mode = argv[1];
	n = h_atol(argv[2], "N");
	dir = argv[3];
	for (i = 4; i < argc; i++) {
		if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
			sleep_ms = h_atol(argv[++i], "SLEEP_MS");
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc)
			prefix = argv[++i];
		else if (strcmp(argv[i], "-g") == 0 && i + 1 < argc)
			gate = argv[++i];
		else if (strcmp(argv[i], "-i") == 0)
			watch = true;
		else
			dir2 = argv[i];
	}
	h_out_open(out);
	if (strcmp(mode, "two") == 0) {
		if (!dir2) {
			fprintf(stderr, "enoentstorm: two needs DIR2\n");
			return 2;
		}
		dfd = open(dir2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			h_die("open DIR2");
	}
	if (strcmp(mode, "cwd") == 0 && chdir(dir) < 0)
		h_die("chdir DIR");
	for (long k = 0; k < n; k++) {
		if (strcmp(mode, "unique") == 0) {
			snprintf(path, sizeof(path), "%s/%s%07ld", dir, prefix ?: "m", k);
			enoent += failed(stat(path, &st));
		} else if (strcmp(mode, "same") == 0) {
			snprintf(path, sizeof(path), "%s/missing", dir);
			enoent += failed(stat(path, &st));
		} else if (strcmp(mode, "two") == 0) {
			if (k % 2 == 0) {
				snprintf(path, sizeof(path), "%s/%sa%07ld", dir, prefix ?: "",
					 k / 2);
				enoent += failed(stat(path, &st));
			} else {
				snprintf(path, sizeof(path), "%sb%07ld", prefix ?: "", k / 2);
				enoent += failed(syscall(SYS_openat, dfd, path, O_RDONLY));
			}
		} else if (strcmp(mode, "cwd") == 0) {
			snprintf(path, sizeof(path), "%s%07ld", prefix ?: "c", k);
			enoent += failed(syscall(SYS_newfstatat, AT_FDCWD, path, &st, 0));
		} else {
			fprintf(stderr, "enoentstorm: unknown mode %s\n", mode);
			return 2;
		}
	}
	if (gate) {
		h_say("ready\n");
		if (h_wait_file(gate, 60000) < 0)
			h_die("gate");
	}
	if (watch) {
		int ifd = inotify_init1(IN_CLOEXEC);
		uint64_t t0;

		if (ifd < 0)
			h_die("inotify_init1");
		t0 = h_now_ns();
		if (inotify_add_watch(ifd, dir, IN_ALL_EVENTS) < 0)
			h_die("inotify_add_watch");
		h_say("watch %llu\n", (unsigned long long)(h_now_ns() - t0));
	}
	if (sleep_ms > 0)
		h_nanosleep_ms(sleep_ms);
	h_say("lookups %ld enoent %ld\n", n, enoent);
	return 0;
}
