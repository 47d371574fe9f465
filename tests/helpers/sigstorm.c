/* SPDX-License-Identifier: MIT */
/*
 * sigstorm - signals arriving around fast calls: does the program see EINTR?
 *
 *   sigstorm storm restart|norestart|two SECONDS OUT
 *   sigstorm go SECONDS OUT
 *
 * storm: a SIGUSR1 handler, with or without SA_RESTART; a forked signaller
 * sends SIGUSR1 to the parent every ~100 us for SECONDS (a 100 us period
 * plus the time kill() and the wake-up take: ~8000 a second here), with only
 * kill(), clock_nanosleep() and the vDSO clock, while the parent loops on raw
 * getppid syscalls until the signaller says it is done (shared memory, no
 * syscall) or SECONDS + 30 s passed. two: SIGUSR1 and SIGUSR2 alternately,
 * each with its own handler without SA_RESTART, so one arrives while the
 * other's handler returns (rt_sigreturn must never fail: a watchdog that
 * made it fail would crash the program).
 *
 * go: what the Go runtime does to a thread it preempts: a worker thread
 * loops on raw getppid syscalls while the main thread tgkill()s it with
 * SIGURG every 10 ms for SECONDS; the handler is installed as Go installs
 * its own (SA_SIGINFO | SA_ONSTACK | SA_RESTART, on an alternate stack).
 *
 * getppid() cannot fail: any failure is stallwatch's doing. Both modes
 * report "calls N eintr N other N signals N": the calls made, those that
 * failed with EINTR, the other failures or wrong results (not the parent's
 * pid), and the handler runs; then "sent N", the signals sent (a standard
 * signal still pending when the next one is sent merges with it, so
 * signals <= sent). Exit 0 once the counts are reported, whatever they say;
 * 2 on bad usage, 1 if the signaller did not finish in time.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "helper.h"

#define STORM_PERIOD_NS 100000ULL /* SIGUSR1 every 100 us */
#define GO_PERIOD_NS 10000000ULL /* SIGURG every 10 ms, as Go's sysmon preempts */
#define GRACE_NS 30000000000ULL /* the loop's own limit past SECONDS */

struct shared {
	atomic_int done;
	atomic_long sent;
};

struct counts {
	long calls, eintr, other;
};

static atomic_long handled;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add_explicit(&handled, 1, memory_order_relaxed);
}

static void on_urg(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	atomic_fetch_add_explicit(&handled, 1, memory_order_relaxed);
}

/* Raw getppid until *done or the deadline; errno is this thread's alone. */
static void getppid_loop(struct counts *c, pid_t ppid, atomic_int *done, uint64_t deadline)
{
	while (!atomic_load_explicit(done, memory_order_relaxed) && h_now_ns() < deadline) {
		long r = syscall(SYS_getppid);

		c->calls++;
		if (r == -1 && errno == EINTR)
			c->eintr++;
		else if (r != ppid)
			c->other++;
	}
}

/* Sleep to the absolute CLOCK_MONOTONIC time NS (the syscall: not a watched one here). */
static void sleep_until(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };

	while (syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) < 0 &&
	       errno == EINTR)
		;
}

/* Every PERIOD_NS until END_NS: SEND(arg), counted in sh->sent; late ticks are dropped. */
static void tick(struct shared *sh, uint64_t period_ns, uint64_t end_ns, void (*send)(void *),
		 void *arg)
{
	uint64_t next = h_now_ns();

	/* 1 ns of timer slack instead of 50 us, or the period would be 150 us */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	while (next < end_ns) {
		send(arg);
		atomic_fetch_add_explicit(&sh->sent, 1, memory_order_relaxed);
		next += period_ns;
		if (next < h_now_ns())
			next = h_now_ns();
		sleep_until(next);
	}
	atomic_store(&sh->done, 1);
}

static void send_usr1(void *arg)
{
	kill(*(pid_t *)arg, SIGUSR1);
}

/* two: SIGUSR1 and SIGUSR2 in turn */
static void send_alternating(void *arg)
{
	static unsigned int n;

	kill(*(pid_t *)arg, n++ & 1 ? SIGUSR2 : SIGUSR1);
}

static void report(const struct counts *c, const struct shared *sh)
{
	h_say("calls %ld eintr %ld other %ld signals %ld\n", c->calls, c->eintr, c->other,
	      atomic_load(&handled));
	h_say("sent %ld\n", atomic_load(&sh->sent));
}

static int storm(bool restart, bool two, uint64_t ns)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = restart ? SA_RESTART : 0 };
	struct counts c = { 0 };
	struct shared *sh;
	pid_t me = getpid(), ppid = (pid_t)syscall(SYS_getppid), child;
	uint64_t start;
	int status;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		h_die("mmap");
	atomic_init(&sh->done, 0);
	atomic_init(&sh->sent, 0);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0 || (two && sigaction(SIGUSR2, &sa, NULL) < 0))
		h_die("sigaction");
	start = h_now_ns();
	child = fork();
	if (child < 0)
		h_die("fork");
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		tick(sh, STORM_PERIOD_NS, start + ns, two ? send_alternating : send_usr1, &me);
		_exit(0);
	}
	getppid_loop(&c, ppid, &sh->done, start + ns + GRACE_NS);
	if (!atomic_load(&sh->done))
		kill(child, SIGKILL);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	report(&c, sh);
	return atomic_load(&sh->done) ? 0 : 1;
}

struct worker {
	struct counts c;
	pid_t ppid, tid;
	atomic_int ready, *done;
	uint64_t deadline;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	stack_t ss = { .ss_size = 64 * 1024 };

	ss.ss_sp = malloc(ss.ss_size);
	if (!ss.ss_sp || sigaltstack(&ss, NULL) < 0)
		h_die("sigaltstack");
	w->tid = gettid();
	atomic_store(&w->ready, 1);
	getppid_loop(&w->c, w->ppid, w->done, w->deadline);
	return NULL;
}

static void send_urg(void *arg)
{
	struct worker *w = arg;

	syscall(SYS_tgkill, getpid(), w->tid, SIGURG);
}

static int go(uint64_t ns)
{
	struct sigaction sa = { .sa_sigaction = on_urg,
				.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART };
	struct shared sh;
	struct worker w = { .ppid = (pid_t)syscall(SYS_getppid), .done = &sh.done };
	pthread_t th;
	uint64_t start;
	int err;

	atomic_init(&sh.done, 0);
	atomic_init(&sh.sent, 0);
	atomic_init(&w.ready, 0);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGURG, &sa, NULL) < 0)
		h_die("sigaction");
	start = h_now_ns();
	w.deadline = start + ns + GRACE_NS;
	err = pthread_create(&th, NULL, worker_main, &w);
	if (err) {
		errno = err;
		h_die("pthread_create");
	}
	while (!atomic_load(&w.ready))
		h_nanosleep_ms(1);
	tick(&sh, GO_PERIOD_NS, start + ns, send_urg, &w);
	pthread_join(th, NULL);
	report(&w.c, &sh);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t ns;

	if (argc == 5 && !strcmp(argv[1], "storm") &&
	    (!strcmp(argv[2], "restart") || !strcmp(argv[2], "norestart") ||
	     !strcmp(argv[2], "two"))) {
		ns = (uint64_t)h_atol(argv[3], "SECONDS") * 1000000000ULL;
		h_out_open(argv[4]);
		return storm(!strcmp(argv[2], "restart"), !strcmp(argv[2], "two"), ns);
	}
	if (argc == 4 && !strcmp(argv[1], "go")) {
		ns = (uint64_t)h_atol(argv[2], "SECONDS") * 1000000000ULL;
		h_out_open(argv[3]);
		return go(ns);
	}
	fprintf(stderr, "usage: sigstorm storm restart|norestart|two SECONDS OUT\n"
			"       sigstorm go SECONDS OUT\n");
	return 2;
}
