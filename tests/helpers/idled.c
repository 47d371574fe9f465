/* SPDX-License-Identifier: MIT */
/*
 * idled OUT FILE DELAY_MS IDLE_MS - a daemon that idles as daemons do, and
 * stalls once.
 *
 * Threads idle, each for the whole run, in: epoll_wait on a pipe nobody
 * writes, a FUTEX_WAIT nobody wakes, a read() of a socket and of a pipe
 * nobody writes, accept() on a listening socket nobody connects to. None of
 * them is a stall.
 *
 * After DELAY_MS the main thread makes one read() of FILE (a regular or
 * cgroup file) that stalls in the kernel for about 300 ms: the buffer is a
 * userfaultfd-registered page, so the kernel's copy to it faults, and a
 * handler thread (idling in read() of the userfaultfd, then in nanosleep)
 * fills the page only 300 ms later. That is a real stall inside read() of a
 * file, on demand, on any kernel with userfaultfd.
 *
 * OUT gets "ready", "slow_read MS BYTES" and "done"; after IDLE_MS more the
 * program exits 0. Exits 77 when userfaultfd is not available.
 */
#include <linux/futex.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "helper.h"

#define STALL_MS 300

static int uffd = -1;
static long page_size;
static uint32_t never_woken;

static void *epoll_idler(void *arg __attribute__((unused)))
{
	int fds[2], ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN }, out;

	if (ep < 0 || pipe(fds) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev) < 0)
		h_die("epoll");
	for (;;)
		epoll_wait(ep, &out, 1, -1);
	return NULL;
}

static void *futex_idler(void *arg __attribute__((unused)))
{
	for (;;)
		syscall(SYS_futex, &never_woken, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	return NULL;
}

static void *socket_idler(void *arg __attribute__((unused)))
{
	int sv[2];
	char c;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		h_die("socketpair");
	for (;;)
		if (read(sv[0], &c, 1) == 0)
			break;
	return NULL;
}

static void *pipe_idler(void *arg __attribute__((unused)))
{
	int fds[2];
	char c;

	if (pipe(fds) < 0)
		h_die("pipe");
	for (;;)
		if (read(fds[0], &c, 1) == 0)
			break;
	return NULL;
}

static void *accept_idler(void *arg __attribute__((unused)))
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(s, 1) < 0)
		h_die("listen");
	for (;;)
		close(accept(s, NULL, NULL));
	return NULL;
}

/* Resolves each fault of the buffer, STALL_MS late. */
static void *fault_handler(void *arg __attribute__((unused)))
{
	char *page = mmap(NULL, (size_t)page_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (page == MAP_FAILED)
		h_die("mmap");
	memset(page, 'u', (size_t)page_size);
	for (;;) {
		struct uffd_msg msg;
		struct uffdio_copy copy;

		if (read(uffd, &msg, sizeof(msg)) != sizeof(msg)) {
			if (errno == EINTR)
				continue;
			h_die("read userfaultfd");
		}
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		h_nanosleep_ms(STALL_MS);
		copy = (struct uffdio_copy){
			.dst = msg.arg.pagefault.address & ~((uint64_t)page_size - 1),
			.src = (uint64_t)(uintptr_t)page,
			.len = (uint64_t)page_size,
		};
		if (ioctl(uffd, UFFDIO_COPY, &copy) < 0 && errno != EEXIST)
			h_die("UFFDIO_COPY");
	}
	return NULL;
}

static char *stall_buffer(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	char *buf;

	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) < 0)
		return NULL;
	buf = mmap(NULL, (size_t)page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	if (buf == MAP_FAILED)
		return NULL;
	reg = (struct uffdio_register){ .range = { .start = (uint64_t)(uintptr_t)buf,
						   .len = (uint64_t)page_size },
					.mode = UFFDIO_REGISTER_MODE_MISSING };
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
		return NULL;
	return buf;
}

int main(int argc, char **argv)
{
	void *(*idlers[])(void *) = { epoll_idler,  socket_idler, pipe_idler,
				      accept_idler, futex_idler,  fault_handler };
	long delay_ms, idle_ms;
	uint64_t t0;
	ssize_t n;
	char *buf;
	int fd;

	if (argc != 5) {
		fprintf(stderr, "usage: idled OUT FILE DELAY_MS IDLE_MS\n");
		return 2;
	}
	h_out_open(argv[1]);
	h_ptracer_any();
	delay_ms = atol(argv[3]);
	idle_ms = atol(argv[4]);
	page_size = sysconf(_SC_PAGESIZE);
	buf = stall_buffer();
	if (!buf) {
		fprintf(stderr, "idled: userfaultfd: %s\n", strerror(errno));
		return 77;
	}
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		h_die(argv[2]);
	for (size_t i = 0; i < sizeof(idlers) / sizeof(idlers[0]); i++) {
		pthread_t th;

		if (pthread_create(&th, NULL, idlers[i], NULL) != 0)
			h_die("pthread_create");
	}
	h_say("ready\n");
	h_nanosleep_ms(delay_ms);
	t0 = h_now_ns();
	n = read(fd, buf, (size_t)page_size);
	if (n < 0)
		h_die("read");
	h_say("slow_read %.1f %zd\n", (double)(h_now_ns() - t0) / 1e6, n);
	h_nanosleep_ms(idle_ms);
	h_say("done\n");
	return 0;
}
