/* SPDX-License-Identifier: MIT */
/*
 * tracee.h - per-thread tracer state (strace's struct tcb, without globals)
 * and the table that finds it by tid in O(1).
 *
 * One struct tracee per traced thread. A watched call moves it
 * NONE -> IN_FLIGHT (seccomp stop) -> NONE (syscall-exit stop), or
 * IN_FLIGHT -> RESTART_PENDING (exit stop with -ERESTART*) -> IN_FLIGHT (the
 * kernel re-enters the call or runs restart_syscall): one user-visible call,
 * timed whole from its first entry.
 */
#ifndef SW_TRACER_TRACEE_H
#define SW_TRACER_TRACEE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../policy/policy.h"
#include "procinfo.h"

struct proc_evidence; /* procevidence.c */

enum call_state {
	CALL_NONE,
	CALL_IN_FLIGHT,
	CALL_RESTART_PENDING,
};

/* How the end of a call was seen (record field stallwatch.end_seen). */
enum call_end_seen {
	END_SEEN_EXACT, /* an exit stop (ptrace): no field */
	END_SEEN_NEXT_CALL, /* the thread's next watched call */
	END_SEEN_PROC_SAMPLE, /* /proc/TID/syscall no longer showed it */
	END_SEEN_CPU_TIME, /* user CPU time grew: back in user space */
	END_SEEN_THREAD_EXIT, /* the thread was gone */
};

/* What proved a call still in flight (record field stallwatch.inflight_evidence). */
enum call_evidence {
	EVIDENCE_NONE, /* the backend sees every end (ptrace): no field */
	EVIDENCE_PROC_SYSCALL, /* /proc/TID/syscall: same nr, args and pc, state S or D */
	EVIDENCE_CPU_TIME, /* "running", and only system CPU time grew */
	EVIDENCE_STATE, /* /proc/TID/syscall unreadable: asleep in the kernel */
};

struct traced_call {
	uint32_t arch; /* AUDIT_ARCH_* */
	uint64_t nr; /* as the kernel reports it for arch */
	uint64_t args[6];
	uint64_t pc; /* user instruction pointer at entry (after the syscall instruction) */
	/* policy_abi_of(arch, nr), once at entry; abi_ok false: an arch we do not know */
	bool abi_ok;
	enum policy_abi abi;
	int index;
	int native; /* native number (compat calls mapped by name), -1 unknown */
	uint64_t start_ns; /* CLOCK_MONOTONIC at the first seccomp stop */
	uint64_t threshold_ns; /* POLICY_UNWATCHED: tracked but never reported */
	uint64_t deadline_ns; /* start + threshold; UINT64_MAX if never */
	uint64_t last_exit_ns; /* exit stop of the last piece (RESTART_PENDING) */
	int64_t restart_code; /* -512..-516 while RESTART_PENDING */
	unsigned int pieces; /* 1 + number of restarts stitched in */
	bool partial; /* began before the attach: duration is a lower bound */
	int name_nr; /* >= 0: report under this native number (a resumed sleep) */
	int8_t wait; /* %wait (policy/wait.h): -1 not decided yet, else 0 or 1 */
	/* the path argument as the backend read it (bpf), valid while the call is reported */
	const char *given_path;
	/*
	 * Backends that see no exit (notify): the last moment the call was
	 * proven in flight (start_ns until a probe says more), and how.
	 */
	uint64_t proven_in_ns;
	enum call_evidence evidence;
	bool approximate; /* the stuck decision rested on CPU accounting */
	/* /proc evidence (procevidence.h) was sampled at a crossing of this call */
	bool sampled;
	/* lifecycle.c: the sample of our own run delay its sched_delay_ns is measured from (0: none yet) */
	uint64_t delay_base_mono_ns, delay_base_run_ns;
};

struct tracee {
	pid_t tid;
	/*
	 * Its thread group: from the backend when it knows it without /proc
	 * (bpf: the kernel's event says; the record's process.pid, and where
	 * identity is read once the thread is gone), else read from /proc once
	 * needed. 0: not known yet.
	 */
	pid_t tgid;
	enum call_state call_state;
	bool reportable; /* watched, and started after the command's exec */
	bool stuck_reported; /* the stuck-syscall record of this call is out */
	bool stuck_cut; /* ... or was cut by its rule's rate limit (the slow one follows) */
	bool pre_exec; /* stallwatch's child before it exec'd the command */
	bool warned_ptrace;
	/*
	 * attach: the thread's first call after the seize may have started
	 * before it. attach_syscall_nr is what /proc/TID/syscall said just
	 * before the seize (-1: not in a syscall).
	 */
	bool first_after_attach;
	int attach_syscall_nr;
	/*
	 * watch (ptrace.c): since when an add or a release of its process
	 * holds it stopped (0: not held), for stop_ns_max; releasing: its
	 * process is let go, so it is detached at its next stop.
	 */
	uint64_t held_since_ns;
	bool releasing;
	struct traced_call call;
	/*
	 * An interrupted call (RESTART_PENDING) set aside while a signal
	 * handler runs: rt_sigreturn's result says whether the kernel
	 * restarts it (SA_RESTART) or the program got EINTR.
	 */
	struct traced_call suspended;
	bool has_suspended;
	bool suspended_reportable;
	bool suspended_stuck_reported;
	bool suspended_stuck_cut;
	char *entry_fd_path; /* PROCINFO_PATH_MAX buffer, allocated on first use */
	bool entry_fd_valid; /* entry_fd_path holds this call's fd path */
	/*
	 * What a backend that sees no exit (notify) keeps to answer "still in
	 * flight?": a kept /proc/TID/syscall fd (-1 none yet), and a CPU-time
	 * sample of the call in flight.
	 */
	struct {
		int syscall_fd;
		bool syscall_refused; /* no ptrace-level access: state and wchan instead */
		uint64_t sample_ns; /* 0: no sample of this call yet */
		uint64_t utime, stime; /* clock ticks at sample_ns */
	} probe;
	struct procinfo *info; /* identity cache, allocated at the first record */
	/* /proc samples of the call in flight (procevidence.c), allocated at its first crossing */
	struct proc_evidence *proc_evidence;
	uint64_t info_ns; /* when info was read (refreshed after a second) */
};

struct tracee_table {
	struct tracee **slots; /* open addressing; NULL empty, TRACEE_TOMBSTONE deleted */
	size_t capacity; /* power of two */
	size_t count;
	size_t used; /* count + tombstones */
};

#define TRACEE_TOMBSTONE ((struct tracee *)1)

int tracee_table_init(struct tracee_table *tab);
void tracee_table_done(struct tracee_table *tab);
struct tracee *tracee_find(const struct tracee_table *tab, pid_t tid);
/* Add a fresh tracee for tid (must not exist). NULL on ENOMEM. */
struct tracee *tracee_add(struct tracee_table *tab, pid_t tid);
void tracee_remove(struct tracee_table *tab, struct tracee *t);

/* Iterate: for (size_t i = 0; i < tab->capacity; i++) if ((t = tracee_at(tab, i))) ... */
static inline struct tracee *tracee_at(const struct tracee_table *tab, size_t i)
{
	struct tracee *t = tab->slots[i];

	return t == TRACEE_TOMBSTONE ? NULL : t;
}

#endif
