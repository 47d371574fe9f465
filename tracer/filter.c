/* SPDX-License-Identifier: MIT */
#include "filter.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common/caps.h"
#include "../common/macro.h"

bool filter_have_cap_sys_admin(void)
{
	return sw_have_cap(CAP_SYS_ADMIN);
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, struct sw_error *err)
{
	int r = seccomp_rule_add(ctx, action, nr, 0);

	if (r < 0)
		return sw_error_set(err, r, "seccomp rule for `%s`", syscall_name(nr) ?: "?");
	return 0;
}

/*
 * A syscall only some of whose calls are caught, told apart by one argument
 * comparison: `caught` selects them, `passed` (its complement) the others.
 * nr -1: none.
 */
struct partial_rule {
	int nr;
	struct scmp_arg_cmp caught, passed;
};

/*
 * The one builder behind both filters: the calls in caught get action, the
 * rest ALLOW, the partial syscall (not in caught) by its comparison.
 */
static int build(const struct syscall_set *caught, uint32_t action,
		 const struct partial_rule *partial, bool no_new_privs, scmp_filter_ctx *ret_ctx,
		 struct sw_error *err)
{
	_cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
	struct syscall_set all;
	bool default_caught;
	int r;

	syscall_set_fill_all(&all);
	/*
	 * Fewer rules make a faster filter: when most syscalls are caught,
	 * catch by default and list the exceptions. Unlisted syscalls keep a
	 * constant verdict either way, so the kernel's seccomp action cache
	 * (5.11+) skips the BPF program for them.
	 */
	default_caught = syscall_set_count(caught) * 2 > syscall_set_count(&all);

	ctx = seccomp_init(default_caught ? action : SCMP_ACT_ALLOW);
	if (!ctx)
		return sw_error_set(err, -ENOMEM, "seccomp_init failed");

	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, no_new_privs ? 1 : 0);
	if (r < 0)
		return sw_error_set(err, r, "seccomp: no_new_privs attribute");
	/* A 32-bit or x32 binary inside the command must not die of SIGSYS. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
	if (r < 0)
		return sw_error_set(err, r, "seccomp: bad-arch attribute");
#if defined(__x86_64__)
	r = seccomp_arch_add(ctx, SCMP_ARCH_X86);
	if (r < 0 && r != -EEXIST)
		return sw_error_set(err, r, "seccomp: add arch x86");
	r = seccomp_arch_add(ctx, SCMP_ARCH_X32);
	if (r < 0 && r != -EEXIST)
		return sw_error_set(err, r, "seccomp: add arch x32");
#endif

	for (int nr = 0; nr < SW_MAX_NR; nr++) {
		if (!syscall_set_has(&all, nr) || nr == partial->nr)
			continue;
		if (default_caught && !syscall_set_has(caught, nr))
			r = add_rule(ctx, SCMP_ACT_ALLOW, nr, err);
		else if (!default_caught && syscall_set_has(caught, nr))
			r = add_rule(ctx, action, nr, err);
		else
			continue;
		if (r < 0)
			return r;
	}

	if (partial->nr >= 0) {
		/* libseccomp refuses a rule with the default action (-EACCES) */
		if (default_caught)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, partial->nr, 1, partial->passed);
		else
			r = seccomp_rule_add(ctx, action, partial->nr, 1, partial->caught);
		if (r < 0)
			return sw_error_set(err, r, "seccomp rule for `%s`",
					    syscall_name(partial->nr) ?: "?");
	}

	*ret_ctx = TAKE_PTR(ctx);
	return 0;
}

int filter_build(const struct syscall_set *watch, bool no_new_privs, scmp_filter_ctx *ret_ctx,
		 struct sw_error *err)
{
	struct syscall_set traced = *watch;
	struct partial_rule partial = { .nr = -1 };
	int clone_nr = syscall_nr("clone");

	if (syscall_set_count(watch) > 0) {
		syscall_set_add(&traced, syscall_nr("restart_syscall"));
		syscall_set_add(&traced, syscall_nr("rt_sigreturn"));
	}
	syscall_set_add(&traced, syscall_nr("ptrace"));
	/* an unwatched clone stops only with CLONE_UNTRACED */
	if (clone_nr >= 0 && !syscall_set_has(&traced, clone_nr))
		partial = (struct partial_rule){
			.nr = clone_nr,
			.caught = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_UNTRACED, CLONE_UNTRACED),
			.passed = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_UNTRACED, 0),
		};
	return build(&traced, SCMP_ACT_TRACE(0), &partial, no_new_privs, ret_ctx, err);
}

int filter_build_notify(const struct syscall_set *watch, bool no_new_privs, int handoff_fd,
			scmp_filter_ctx *ret_ctx, struct sw_error *err)
{
	static const char *const never_notified[] = { "rt_sigreturn", "sigreturn", "exit",
						      "exit_group" };
	int r;

	struct syscall_set notified = *watch;
	struct partial_rule partial = { .nr = -1 };
	int sendmsg_nr = syscall_nr("sendmsg");

	if (handoff_fd < 0)
		return sw_error_set(err, -EBADF, "seccomp: no hand-off socket for the listener");
	syscall_set_add(&notified, syscall_nr("restart_syscall"));
	/*
	 * execve/execveat: the command starts with its exec (our own steps
	 * before it are not its calls), and a new image changes comm and exe.
	 * One notification per exec.
	 */
	syscall_set_add(&notified, syscall_nr("execve"));
	syscall_set_add(&notified, syscall_nr("execveat"));
	/*
	 * Never notified, whatever the policy watches. Before stallwatch
	 * receives a notification, a signal whose handler lacks SA_RESTART
	 * makes the waiting call fail with EINTR (kernel/seccomp.c,
	 * seccomp_do_user_notification(): WAIT_KILLABLE_RECV covers only the
	 * wait after the receive). A program survives that for most calls,
	 * not for these: an rt_sigreturn that fails leaves the handler's frame
	 * on the stack and the program jumps to nowhere (seen: SIGSEGV at ip
	 * 0), glibc's _exit() falls into hlt after a failed exit_group, Go's
	 * exitThread into int3. Notify could not time them anyway: they do not
	 * return.
	 */
	for (size_t i = 0; i < ARRAY_SIZE(never_notified); i++)
		syscall_set_remove(&notified, syscall_nr(never_notified[i]));
	/*
	 * The child hands the listener over with sendmsg() after the load; if
	 * that call were notified, nobody could answer it: runc #2682 and
	 * crun #1002 deadlocked that way. Only a watched sendmsg needs the
	 * exemption; an unwatched one is allowed anyway.
	 */
	if (sendmsg_nr >= 0 && syscall_set_has(watch, sendmsg_nr))
		partial = (struct partial_rule){
			.nr = sendmsg_nr,
			.caught = SCMP_A0(SCMP_CMP_NE, (scmp_datum_t)handoff_fd),
			.passed = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)handoff_fd),
		};
	r = build(&notified, SCMP_ACT_NOTIFY, &partial, no_new_privs, ret_ctx, err);
	if (r < 0)
		return r;
	/*
	 * The same for their compat twins: i386 sigreturn has no native
	 * number, so a filter that notifies by default must allow it by name.
	 * libseccomp says -EACCES for a rule equal to the default action.
	 */
	for (size_t i = 0; i < ARRAY_SIZE(never_notified); i++) {
		r = seccomp_rule_add(*ret_ctx, SCMP_ACT_ALLOW,
				     seccomp_syscall_resolve_name(never_notified[i]), 0);
		if (r < 0 && r != -EACCES && r != -EEXIST) {
			seccomp_release(*ret_ctx);
			*ret_ctx = NULL;
			return sw_error_set(err, r, "seccomp rule for `%s`", never_notified[i]);
		}
	}
	return 0;
}

int filter_export_bpf(scmp_filter_ctx ctx, struct sock_fprog *ret, struct sw_error *err)
{
	_cleanup_close_ int fd = memfd_create("stallwatch-bpf", MFD_CLOEXEC);
	_cleanup_free_ struct sock_filter *insns = NULL;
	off_t len;
	int r;

	if (fd < 0)
		return sw_error_set(err, -errno, "seccomp: memfd for the BPF program");
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return sw_error_set(err, r, "seccomp: export of the BPF program");
	len = lseek(fd, 0, SEEK_END);
	if (len < 0)
		return sw_error_set(err, -errno, "seccomp: size of the BPF program");
	/* the kernel takes at most BPF_MAXINSNS instructions (include/uapi/linux/bpf_common.h) */
	if (len == 0 || len % (off_t)sizeof(*insns) || len / (off_t)sizeof(*insns) > BPF_MAXINSNS)
		return sw_error_set(err, -E2BIG, "seccomp: BPF program of %lld bytes",
				    (long long)len);
	insns = malloc((size_t)len);
	if (!insns)
		return sw_error_set(err, -ENOMEM, "out of memory");
	if (pread(fd, insns, (size_t)len, 0) != len)
		return sw_error_set(err, -EIO, "seccomp: reading back the BPF program");
	ret->len = (unsigned short)(len / (off_t)sizeof(*insns));
	ret->filter = TAKE_PTR(insns);
	return 0;
}
