/* SPDX-License-Identifier: MIT */
/* sw_read_file: the reader of policies and the scan state (common/fileio.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/macro.h"
#include "unit.h"

/* A temporary directory with file "f" holding len bytes of 'x'. */
static int make_file(char *dir, char *path, size_t size, size_t len)
{
	_cleanup_close_ int fd = -1;
	char buf[4096];

	if (!mkdtemp(dir))
		return -errno;
	snprintf(path, size, "%s/f", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	memset(buf, 'x', sizeof(buf));
	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		if (write(fd, buf, n) != (ssize_t)n)
			return -EIO;
		len -= n;
	}
	return 0;
}

static void remove_file(const char *dir, const char *path)
{
	unlink(path);
	rmdir(dir);
}

static int test_whole_file(void)
{
	char dir[] = "/tmp/sw-fileio.XXXXXX", path[64];
	_cleanup_free_ char *text = NULL;
	size_t len = 1;
	int r;

	/* more than one 8 KiB growth step */
	CHECK(make_file(dir, path, sizeof(path), 20000) == 0);
	r = sw_read_file(path, 1 << 20, &text, &len);
	remove_file(dir, path);
	CHECK(r == 0);
	CHECK(len == 20000 && strlen(text) == 20000 && text[19999] == 'x');
	return 0;
}

static int test_empty_file(void)
{
	char dir[] = "/tmp/sw-fileio.XXXXXX", path[64];
	_cleanup_free_ char *text = NULL;
	size_t len = 1;
	int r;

	CHECK(make_file(dir, path, sizeof(path), 0) == 0);
	r = sw_read_file(path, 100, &text, &len);
	remove_file(dir, path);
	CHECK(r == 0 && text && len == 0 && text[0] == 0);
	return 0;
}

/* max bytes are read; one more is -EFBIG, and nothing is handed back */
static int test_size_bound(void)
{
	char dir[] = "/tmp/sw-fileio.XXXXXX", path[64];
	_cleanup_free_ char *text = NULL;
	char *none = NULL;
	size_t len = 0;
	int r_max, r_less;

	CHECK(make_file(dir, path, sizeof(path), 9000) == 0);
	r_max = sw_read_file(path, 9000, &text, &len);
	r_less = sw_read_file(path, 8999, &none, &len);
	remove_file(dir, path);
	CHECK(r_max == 0 && len == 9000);
	CHECK(r_less == -EFBIG && !none);
	return 0;
}

static int test_errors(void)
{
	char *text = NULL;
	size_t len = 0;

	CHECK(sw_read_file("/nonexistent-sw-unit/f.json", 100, &text, &len) == -ENOENT);
	CHECK(sw_read_file("/", 100, &text, &len) == -EISDIR);
	/* a path through a regular file */
	CHECK(sw_read_file("/proc/self/status/x", 100, &text, &len) == -ENOTDIR);
	CHECK(!text);
	return 0;
}

UNIT_MAIN(TEST(test_whole_file), TEST(test_empty_file), TEST(test_size_bound), TEST(test_errors))
