/* SPDX-License-Identifier: MIT */
/*
 * replay.c - run the fuzz target (fuzz_policy.c) on a corpus without clang
 * or libFuzzer, as a unit test: build/tests/test_fuzz_replay (and the
 * ASan+UBSan build in build/asan/tests/), which tests/run.sh runs.
 *
 *   test_fuzz_replay [FILE|DIR...]
 *
 * A DIR means every regular file in it (not recursive), in name order.
 * Without arguments: tests/fuzz/corpus, found from the working directory
 * (tests/run.sh runs from the repository root) or above the binary.
 * Each input goes to LLVMFuzzerTestOneInput() in a buffer of exactly its
 * size, so ASan sees any read past its end. A crash or a broken invariant
 * aborts; otherwise the last line is "PASS: fuzz/replay (N inputs)".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CORPUS "tests/fuzz/corpus"
#define MAX_INPUT_BYTES (16 * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t n_inputs;

static int fail(const char *what, const char *path, int err)
{
	printf("FAIL: fuzz/replay (%s %s: %s)\n", what, path, strerror(err));
	return -1;
}

static int replay_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	size_t len = 0;
	int fd;

	errno = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("cannot open", path, errno);
	if (fstat(fd, &st) < 0 || st.st_size > MAX_INPUT_BYTES) {
		int err = errno;

		close(fd);
		return fail("cannot read", path, err ? err : EFBIG);
	}
	/* exactly the file's size: a read past the input is an ASan error */
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return fail("cannot read", path, ENOMEM);
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n <= 0) {
			int err = n < 0 ? errno : EIO;

			free(buf);
			close(fd);
			return fail("cannot read", path, err);
		}
		len += (size_t)n;
	}
	close(fd);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	n_inputs++;
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int replay_dir(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, by_name), r = 0;

	if (n < 0)
		return fail("cannot list", dir, errno);
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (r == 0 && names[i]->d_name[0] != '.' && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode))
			r = replay_file(path);
		free(names[i]);
	}
	free(names);
	return r;
}

static int replay(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return fail("cannot open", path, errno);
	return S_ISDIR(st.st_mode) ? replay_dir(path) : replay_file(path);
}

/* tests/fuzz/corpus below the working directory or a directory above the binary. */
static const char *default_corpus(char *buf, size_t size)
{
	struct stat st;
	ssize_t n;

	if (stat(CORPUS, &st) == 0 && S_ISDIR(st.st_mode))
		return CORPUS;
	n = readlink("/proc/self/exe", buf, size - 1);
	if (n <= 0)
		return CORPUS;
	buf[n] = 0;
	for (char *slash; (slash = strrchr(buf, '/')) && slash > buf;) {
		*slash = 0;
		if ((size_t)(slash - buf) + sizeof("/" CORPUS) > size)
			continue;
		strcpy(slash, "/" CORPUS);
		if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
			return buf;
		*slash = 0;
	}
	return CORPUS;
}

int main(int argc, char **argv)
{
	char exe[PATH_MAX];

	if (argc < 2) {
		if (replay(default_corpus(exe, sizeof(exe))) < 0)
			return 1;
	} else {
		for (int i = 1; i < argc; i++)
			if (replay(argv[i]) < 0)
				return 1;
	}
	if (n_inputs == 0) {
		printf("FAIL: fuzz/replay (no inputs)\n");
		return 1;
	}
	printf("PASS: fuzz/replay (%zu inputs)\n", n_inputs);
	return 0;
}
