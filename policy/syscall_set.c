/* SPDX-License-Identifier: MIT */
/*
 * syscall_set.c - bitmaps of native syscall numbers and the strace-style
 * `-e trace=` expressions that fill them (grammar in syscall_set.h).
 */
#include "syscall_set.h"

#include "wait.h"

#include "../common/bounded.h"
#include "../common/macro.h"

#include <regex.h>
#include <seccomp.h>
#include <string.h>

/*
 * syscall_name() must hand out static strings, but libseccomp only returns
 * malloc'd names, so x86_64 carries its own number -> name table. x32 also
 * defines __x86_64__ but numbers its syscalls from 0x40000000, hence the
 * __ILP32__ test.
 */
#if defined(__x86_64__) && !defined(__ILP32__)
#define HAVE_NATIVE_NAME_TABLE 1

/*
 * Generated, not written: a throwaway program looped nr over 0..1023, called
 * seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr) and printed one
 * designated initializer per name it got back, with libseccomp 2.5.4 (Debian
 * 2.5.4-1+deb12u1, which knows the x86_64 syscalls up to 456 futex_requeue).
 * Regenerate it the same way when libseccomp learns newer syscalls; until
 * then those stay unknown to stallwatch (see syscall_nr()).
 */
static const char *const x86_64_syscall_names[] = {
	[0] = "read",
	[1] = "write",
	[2] = "open",
	[3] = "close",
	[4] = "stat",
	[5] = "fstat",
	[6] = "lstat",
	[7] = "poll",
	[8] = "lseek",
	[9] = "mmap",
	[10] = "mprotect",
	[11] = "munmap",
	[12] = "brk",
	[13] = "rt_sigaction",
	[14] = "rt_sigprocmask",
	[15] = "rt_sigreturn",
	[16] = "ioctl",
	[17] = "pread64",
	[18] = "pwrite64",
	[19] = "readv",
	[20] = "writev",
	[21] = "access",
	[22] = "pipe",
	[23] = "select",
	[24] = "sched_yield",
	[25] = "mremap",
	[26] = "msync",
	[27] = "mincore",
	[28] = "madvise",
	[29] = "shmget",
	[30] = "shmat",
	[31] = "shmctl",
	[32] = "dup",
	[33] = "dup2",
	[34] = "pause",
	[35] = "nanosleep",
	[36] = "getitimer",
	[37] = "alarm",
	[38] = "setitimer",
	[39] = "getpid",
	[40] = "sendfile",
	[41] = "socket",
	[42] = "connect",
	[43] = "accept",
	[44] = "sendto",
	[45] = "recvfrom",
	[46] = "sendmsg",
	[47] = "recvmsg",
	[48] = "shutdown",
	[49] = "bind",
	[50] = "listen",
	[51] = "getsockname",
	[52] = "getpeername",
	[53] = "socketpair",
	[54] = "setsockopt",
	[55] = "getsockopt",
	[56] = "clone",
	[57] = "fork",
	[58] = "vfork",
	[59] = "execve",
	[60] = "exit",
	[61] = "wait4",
	[62] = "kill",
	[63] = "uname",
	[64] = "semget",
	[65] = "semop",
	[66] = "semctl",
	[67] = "shmdt",
	[68] = "msgget",
	[69] = "msgsnd",
	[70] = "msgrcv",
	[71] = "msgctl",
	[72] = "fcntl",
	[73] = "flock",
	[74] = "fsync",
	[75] = "fdatasync",
	[76] = "truncate",
	[77] = "ftruncate",
	[78] = "getdents",
	[79] = "getcwd",
	[80] = "chdir",
	[81] = "fchdir",
	[82] = "rename",
	[83] = "mkdir",
	[84] = "rmdir",
	[85] = "creat",
	[86] = "link",
	[87] = "unlink",
	[88] = "symlink",
	[89] = "readlink",
	[90] = "chmod",
	[91] = "fchmod",
	[92] = "chown",
	[93] = "fchown",
	[94] = "lchown",
	[95] = "umask",
	[96] = "gettimeofday",
	[97] = "getrlimit",
	[98] = "getrusage",
	[99] = "sysinfo",
	[100] = "times",
	[101] = "ptrace",
	[102] = "getuid",
	[103] = "syslog",
	[104] = "getgid",
	[105] = "setuid",
	[106] = "setgid",
	[107] = "geteuid",
	[108] = "getegid",
	[109] = "setpgid",
	[110] = "getppid",
	[111] = "getpgrp",
	[112] = "setsid",
	[113] = "setreuid",
	[114] = "setregid",
	[115] = "getgroups",
	[116] = "setgroups",
	[117] = "setresuid",
	[118] = "getresuid",
	[119] = "setresgid",
	[120] = "getresgid",
	[121] = "getpgid",
	[122] = "setfsuid",
	[123] = "setfsgid",
	[124] = "getsid",
	[125] = "capget",
	[126] = "capset",
	[127] = "rt_sigpending",
	[128] = "rt_sigtimedwait",
	[129] = "rt_sigqueueinfo",
	[130] = "rt_sigsuspend",
	[131] = "sigaltstack",
	[132] = "utime",
	[133] = "mknod",
	[134] = "uselib",
	[135] = "personality",
	[136] = "ustat",
	[137] = "statfs",
	[138] = "fstatfs",
	[139] = "sysfs",
	[140] = "getpriority",
	[141] = "setpriority",
	[142] = "sched_setparam",
	[143] = "sched_getparam",
	[144] = "sched_setscheduler",
	[145] = "sched_getscheduler",
	[146] = "sched_get_priority_max",
	[147] = "sched_get_priority_min",
	[148] = "sched_rr_get_interval",
	[149] = "mlock",
	[150] = "munlock",
	[151] = "mlockall",
	[152] = "munlockall",
	[153] = "vhangup",
	[154] = "modify_ldt",
	[155] = "pivot_root",
	[156] = "_sysctl",
	[157] = "prctl",
	[158] = "arch_prctl",
	[159] = "adjtimex",
	[160] = "setrlimit",
	[161] = "chroot",
	[162] = "sync",
	[163] = "acct",
	[164] = "settimeofday",
	[165] = "mount",
	[166] = "umount2",
	[167] = "swapon",
	[168] = "swapoff",
	[169] = "reboot",
	[170] = "sethostname",
	[171] = "setdomainname",
	[172] = "iopl",
	[173] = "ioperm",
	[174] = "create_module",
	[175] = "init_module",
	[176] = "delete_module",
	[177] = "get_kernel_syms",
	[178] = "query_module",
	[179] = "quotactl",
	[180] = "nfsservctl",
	[181] = "getpmsg",
	[182] = "putpmsg",
	[183] = "afs_syscall",
	[184] = "tuxcall",
	[185] = "security",
	[186] = "gettid",
	[187] = "readahead",
	[188] = "setxattr",
	[189] = "lsetxattr",
	[190] = "fsetxattr",
	[191] = "getxattr",
	[192] = "lgetxattr",
	[193] = "fgetxattr",
	[194] = "listxattr",
	[195] = "llistxattr",
	[196] = "flistxattr",
	[197] = "removexattr",
	[198] = "lremovexattr",
	[199] = "fremovexattr",
	[200] = "tkill",
	[201] = "time",
	[202] = "futex",
	[203] = "sched_setaffinity",
	[204] = "sched_getaffinity",
	[205] = "set_thread_area",
	[206] = "io_setup",
	[207] = "io_destroy",
	[208] = "io_getevents",
	[209] = "io_submit",
	[210] = "io_cancel",
	[211] = "get_thread_area",
	[212] = "lookup_dcookie",
	[213] = "epoll_create",
	[214] = "epoll_ctl_old",
	[215] = "epoll_wait_old",
	[216] = "remap_file_pages",
	[217] = "getdents64",
	[218] = "set_tid_address",
	[219] = "restart_syscall",
	[220] = "semtimedop",
	[221] = "fadvise64",
	[222] = "timer_create",
	[223] = "timer_settime",
	[224] = "timer_gettime",
	[225] = "timer_getoverrun",
	[226] = "timer_delete",
	[227] = "clock_settime",
	[228] = "clock_gettime",
	[229] = "clock_getres",
	[230] = "clock_nanosleep",
	[231] = "exit_group",
	[232] = "epoll_wait",
	[233] = "epoll_ctl",
	[234] = "tgkill",
	[235] = "utimes",
	[236] = "vserver",
	[237] = "mbind",
	[238] = "set_mempolicy",
	[239] = "get_mempolicy",
	[240] = "mq_open",
	[241] = "mq_unlink",
	[242] = "mq_timedsend",
	[243] = "mq_timedreceive",
	[244] = "mq_notify",
	[245] = "mq_getsetattr",
	[246] = "kexec_load",
	[247] = "waitid",
	[248] = "add_key",
	[249] = "request_key",
	[250] = "keyctl",
	[251] = "ioprio_set",
	[252] = "ioprio_get",
	[253] = "inotify_init",
	[254] = "inotify_add_watch",
	[255] = "inotify_rm_watch",
	[256] = "migrate_pages",
	[257] = "openat",
	[258] = "mkdirat",
	[259] = "mknodat",
	[260] = "fchownat",
	[261] = "futimesat",
	[262] = "newfstatat",
	[263] = "unlinkat",
	[264] = "renameat",
	[265] = "linkat",
	[266] = "symlinkat",
	[267] = "readlinkat",
	[268] = "fchmodat",
	[269] = "faccessat",
	[270] = "pselect6",
	[271] = "ppoll",
	[272] = "unshare",
	[273] = "set_robust_list",
	[274] = "get_robust_list",
	[275] = "splice",
	[276] = "tee",
	[277] = "sync_file_range",
	[278] = "vmsplice",
	[279] = "move_pages",
	[280] = "utimensat",
	[281] = "epoll_pwait",
	[282] = "signalfd",
	[283] = "timerfd_create",
	[284] = "eventfd",
	[285] = "fallocate",
	[286] = "timerfd_settime",
	[287] = "timerfd_gettime",
	[288] = "accept4",
	[289] = "signalfd4",
	[290] = "eventfd2",
	[291] = "epoll_create1",
	[292] = "dup3",
	[293] = "pipe2",
	[294] = "inotify_init1",
	[295] = "preadv",
	[296] = "pwritev",
	[297] = "rt_tgsigqueueinfo",
	[298] = "perf_event_open",
	[299] = "recvmmsg",
	[300] = "fanotify_init",
	[301] = "fanotify_mark",
	[302] = "prlimit64",
	[303] = "name_to_handle_at",
	[304] = "open_by_handle_at",
	[305] = "clock_adjtime",
	[306] = "syncfs",
	[307] = "sendmmsg",
	[308] = "setns",
	[309] = "getcpu",
	[310] = "process_vm_readv",
	[311] = "process_vm_writev",
	[312] = "kcmp",
	[313] = "finit_module",
	[314] = "sched_setattr",
	[315] = "sched_getattr",
	[316] = "renameat2",
	[317] = "seccomp",
	[318] = "getrandom",
	[319] = "memfd_create",
	[320] = "kexec_file_load",
	[321] = "bpf",
	[322] = "execveat",
	[323] = "userfaultfd",
	[324] = "membarrier",
	[325] = "mlock2",
	[326] = "copy_file_range",
	[327] = "preadv2",
	[328] = "pwritev2",
	[329] = "pkey_mprotect",
	[330] = "pkey_alloc",
	[331] = "pkey_free",
	[332] = "statx",
	[333] = "io_pgetevents",
	[334] = "rseq",
	[424] = "pidfd_send_signal",
	[425] = "io_uring_setup",
	[426] = "io_uring_enter",
	[427] = "io_uring_register",
	[428] = "open_tree",
	[429] = "move_mount",
	[430] = "fsopen",
	[431] = "fsconfig",
	[432] = "fsmount",
	[433] = "fspick",
	[434] = "pidfd_open",
	[435] = "clone3",
	[436] = "close_range",
	[437] = "openat2",
	[438] = "pidfd_getfd",
	[439] = "faccessat2",
	[440] = "process_madvise",
	[441] = "epoll_pwait2",
	[442] = "mount_setattr",
	[443] = "quotactl_fd",
	[444] = "landlock_create_ruleset",
	[445] = "landlock_add_rule",
	[446] = "landlock_restrict_self",
	[447] = "memfd_secret",
	[448] = "process_mrelease",
	[449] = "futex_waitv",
	[450] = "set_mempolicy_home_node",
	[451] = "cachestat",
	[452] = "fchmodat2",
	[453] = "map_shadow_stack",
	[454] = "futex_wake",
	[455] = "futex_wait",
	[456] = "futex_requeue",
};

#else
#define HAVE_NATIVE_NAME_TABLE 0
#endif

void syscall_set_clear(struct syscall_set *set)
{
	memset(set, 0, sizeof(*set));
}

#if HAVE_NATIVE_NAME_TABLE
const char *syscall_name(int nr)
{
	if (nr < 0 || (size_t)nr >= ARRAY_SIZE(x86_64_syscall_names))
		return NULL;
	return x86_64_syscall_names[nr];
}

/* Name of nr for walking the universe; the table needs no allocation. */
static const char *native_name(int nr, char **ret_owned)
{
	*ret_owned = NULL;
	return syscall_name(nr);
}
#else
/*
 * No generated table for this arch, and libseccomp's names are malloc'd, so
 * syscall_name() cannot answer without allocating and returns NULL, which
 * callers already handle for unnamed numbers. Sets, classes and regexes
 * still work: they walk the names through native_name().
 */
const char *syscall_name(int nr _unused_)
{
	return NULL;
}

/*
 * Name of nr for walking the universe: libseccomp's malloc'd copy, handed to
 * the caller through *ret_owned to free. An allocation failure looks like a
 * missing name, as libseccomp reports both as NULL.
 */
static const char *native_name(int nr, char **ret_owned)
{
	*ret_owned = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	return *ret_owned;
}
#endif

int syscall_nr(const char *name)
{
	const char *known;
	int nr;

	if (!name || !*name)
		return -1;
	/*
	 * Negative results are __NR_SCMP_ERROR (no such name) or a pseudo
	 * number (a syscall of another arch, e.g. socketcall on x86_64).
	 */
	nr = seccomp_syscall_resolve_name(name);
	if (nr < 0 || nr >= SW_MAX_NR)
		return -1;
	if (!HAVE_NATIVE_NAME_TABLE)
		return nr;
	/*
	 * Accept only what the table names too, so that "all", negation and
	 * regexes range over exactly the names accepted here even when a
	 * newer libseccomp is loaded at run time.
	 */
	known = syscall_name(nr);
	if (!known || strcmp(known, name) != 0)
		return -1;
	return nr;
}

void syscall_set_fill_all(struct syscall_set *set)
{
	syscall_set_clear(set);
	for (int nr = 0; nr < SW_MAX_NR; nr++) {
		_cleanup_free_ char *owned = NULL;

		if (native_name(nr, &owned))
			syscall_set_add(set, nr);
	}
}

/*
 * Set algebra over calls. In "pair" form a set is two bitmaps: the
 * syscalls whose waits are in it (w) and those whose other calls are (o).
 * canonical() turns a pair back into bits/waits_out/others_out, dropping
 * what cannot happen (a wait of a syscall that never waits), so that equal
 * sets compare equal.
 */
#define WORDS (SW_MAX_NR / 64)

static void to_pair(const struct syscall_set *s, uint64_t w[WORDS], uint64_t o[WORDS])
{
	for (size_t i = 0; i < WORDS; i++) {
		w[i] = s->bits[i] & ~s->waits_out[i];
		o[i] = s->bits[i] & ~s->others_out[i];
	}
}

static void canonical(struct syscall_set *s, const uint64_t w[WORDS], const uint64_t o[WORDS])
{
	const struct syscall_set *capable = syscall_wait_capable(), *always = syscall_wait_always();

	for (size_t i = 0; i < WORDS; i++) {
		uint64_t cw = w[i] & capable->bits[i], co = o[i] & ~always->bits[i];

		s->bits[i] = cw | co;
		s->waits_out[i] = s->bits[i] & capable->bits[i] & ~cw;
		s->others_out[i] = s->bits[i] & ~always->bits[i] & ~co;
	}
}

void syscall_set_union(struct syscall_set *dst, const struct syscall_set *src)
{
	uint64_t w[WORDS], o[WORDS], sw[WORDS], so[WORDS];

	to_pair(dst, w, o);
	to_pair(src, sw, so);
	for (size_t i = 0; i < WORDS; i++) {
		w[i] |= sw[i];
		o[i] |= so[i];
	}
	canonical(dst, w, o);
}

void syscall_set_intersect(struct syscall_set *dst, const struct syscall_set *src)
{
	uint64_t w[WORDS], o[WORDS], sw[WORDS], so[WORDS];

	to_pair(dst, w, o);
	to_pair(src, sw, so);
	for (size_t i = 0; i < WORDS; i++) {
		w[i] &= sw[i];
		o[i] &= so[i];
	}
	canonical(dst, w, o);
}

void syscall_set_invert(struct syscall_set *dst)
{
	struct syscall_set all;
	uint64_t w[WORDS], o[WORDS];

	syscall_set_fill_all(&all);
	to_pair(dst, w, o);
	for (size_t i = 0; i < WORDS; i++) {
		w[i] = all.bits[i] & ~w[i];
		o[i] = all.bits[i] & ~o[i];
	}
	canonical(dst, w, o);
}

bool syscall_set_has_wait_split(const struct syscall_set *set)
{
	for (size_t i = 0; i < WORDS; i++)
		if (set->waits_out[i] | set->others_out[i])
			return true;
	return false;
}

size_t syscall_set_count(const struct syscall_set *set)
{
	size_t count = 0;

	for (size_t i = 0; i < ARRAY_SIZE(set->bits); i++)
		count += __builtin_popcountll(set->bits[i]);
	return count;
}

bool syscall_set_equal(const struct syscall_set *a, const struct syscall_set *b)
{
	return memcmp(a->bits, b->bits, sizeof(a->bits)) == 0;
}

static int add_name(struct syscall_set *set, const char *name, bool ignore_unknown,
		    struct sw_error *err)
{
	int nr = syscall_nr(name);

	if (nr < 0) {
		if (ignore_unknown)
			return 0;
		return sw_error_set(err, -EINVAL, "unknown syscall `%s`", name);
	}
	syscall_set_add(set, nr);
	return 0;
}

static int add_class(struct syscall_set *set, const char *class_name, struct sw_error *err)
{
	const char *const *names = syscall_class_names(class_name);

	if (!names)
		return sw_error_set(err, -EINVAL,
				    "unknown class `%%%s` (use %%file, %%desc, %%net, %%process, "
				    "%%memory, %%signal, %%ipc, %%creds, %%clock or %%wait)",
				    class_name);
	/* The tables are cross-arch lists: names this arch lacks are expected. */
	for (; *names; names++) {
		int nr = syscall_nr(*names);

		if (nr >= 0)
			syscall_set_add(set, nr);
	}
	return 0;
}

/* What matching a regex against every syscall name gives. */
struct regex_answer {
	struct syscall_set set;
	char reason[128]; /* regerror() of a pattern regcomp() refused */
};

/* Compile pattern, match every native name: 0, -EINVAL (reason), -ENOMEM (REG_ESPACE). */
static int regex_match_names(void *arg, void *out, size_t size)
{
	const char *pattern = arg;
	struct regex_answer *a = out;
	regex_t regex;
	int r;

	memset(a, 0, size);
	r = regcomp(&regex, pattern, REG_EXTENDED | REG_NOSUB);
	if (r != 0) {
		regerror(r, &regex, a->reason, sizeof(a->reason));
		return r == REG_ESPACE ? -ENOMEM : -EINVAL;
	}
	for (int nr = 0; nr < SW_MAX_NR; nr++) {
		_cleanup_free_ char *owned = NULL;
		const char *name = native_name(nr, &owned);

		if (name && regexec(&regex, name, 0, NULL, 0) == 0)
			syscall_set_add(&a->set, nr);
	}
	regfree(&regex);
	return 0;
}

/*
 * glibc's regcomp() has no bound of its own: an interval copies what it
 * repeats, so nested ones multiply (`/x{32767}{32767}` grew to 6 GB before
 * REG_ESPACE), a chain of 16000 `.?` takes 2 GB, and nested groups of
 * stars and alternatives take exponential time (`((.*)*|(.?)*){24}`: 37 s).
 * A short pattern without an interval cannot get there, and is matched
 * here; any other is matched in a child under these bounds (common/bounded.h),
 * which a useful pattern over names of at most 24 characters is far below.
 */
#define REGEX_INLINE_MAX 64
#define REGEX_QUOTE_MAX 80
static const struct sw_bounds regex_bounds = {
	.memory_bytes = 64 << 20,
	.cpu_seconds = 1,
};

/*
 * A regex that matches nothing is not an error: a configuration shared
 * between arches may legitimately name syscalls one of them lacks.
 */
static int add_regex(struct syscall_set *set, const char *pattern, struct sw_error *err)
{
	struct regex_answer a;
	size_t len = strlen(pattern);
	/* a message quotes a long pattern's start only: the reason must fit */
	int shown = len > REGEX_QUOTE_MAX ? REGEX_QUOTE_MAX : (int)len;
	const char *more = len > REGEX_QUOTE_MAX ? "..." : "";
	int r;

	/* regcomp() accepts "" and matches everything: almost surely a typo. */
	if (!*pattern)
		return sw_error_set(err, -EINVAL, "empty regex `/`");
	if (len <= REGEX_INLINE_MAX && !strchr(pattern, '{'))
		r = regex_match_names((void *)pattern, &a, sizeof(a));
	else
		r = sw_run_bounded(regex_match_names, (void *)pattern, &a, sizeof(a),
				   &regex_bounds);
	if (r == -EINVAL)
		return sw_error_set(err, -EINVAL, "bad regex `/%.*s%s`: %s", shown, pattern, more,
				    a.reason);
	if (r == -ENOMEM || r == -E2BIG)
		return sw_error_set(err, -EINVAL,
				    "bad regex `/%.*s%s`: too big to compile (more than %d MiB or "
				    "%u s of CPU)",
				    shown, pattern, more, (int)(regex_bounds.memory_bytes >> 20),
				    regex_bounds.cpu_seconds);
	if (r < 0)
		return sw_error_set(err, r, "regex `/%.*s%s`: cannot compile it in a child process",
				    shown, pattern, more);
	syscall_set_union(set, &a.set);
	return 0;
}

static int add_item(struct syscall_set *set, const char *item, const char *expr,
		    struct sw_error *err)
{
	bool ignore_unknown = false;

	/*
	 * `?` only forgives syscall names this arch lacks. Classes, regexes
	 * and keywords mean the same on every arch, so an unknown one is a
	 * typo and stays an error.
	 */
	while (*item == '?') {
		ignore_unknown = true;
		item++;
	}
	if (!*item)
		return sw_error_set(err, -EINVAL, "empty syscall name in `%s`", expr);
	if (strcmp(item, "%wait") == 0) {
		struct syscall_set waits = {};
		uint64_t none[WORDS] = {};

		/* every call that can be a wait, and no other call */
		canonical(&waits, syscall_wait_capable()->bits, none);
		syscall_set_union(set, &waits);
		return 0;
	}
	if (item[0] == '%')
		return add_class(set, item + 1, err);
	if (item[0] == '/')
		return add_regex(set, item + 1, err);
	if (strcmp(item, "all") == 0) {
		struct syscall_set all;

		syscall_set_fill_all(&all);
		syscall_set_union(set, &all);
		return 0;
	}
	if (strcmp(item, "none") == 0)
		return 0;
	return add_name(set, item, ignore_unknown, err);
}

/* *ret is left untouched on error, so a caller's previous set survives. */
int syscall_set_parse(const char *expr, struct syscall_set *ret, struct sw_error *err)
{
	static const char trace_prefix[] = "trace=";
	_cleanup_free_ char *items = NULL;
	struct syscall_set set = {};
	const char *body = expr;
	bool negate = false;
	char *cursor, *item;

	if (strncmp(body, trace_prefix, strlen(trace_prefix)) == 0)
		body += strlen(trace_prefix);
	if (*body == '!') {
		negate = true;
		body++;
	}
	/* strsep() needs a writable copy to cut the items out of. */
	items = strdup(body);
	if (!items)
		return sw_error_set(err, -ENOMEM, "out of memory parsing `%s`", expr);
	cursor = items;
	while ((item = strsep(&cursor, ",")) != NULL) {
		int r = add_item(&set, item, expr, err);

		if (r < 0)
			return r;
	}
	if (negate)
		syscall_set_invert(&set);
	*ret = set;
	return 0;
}
