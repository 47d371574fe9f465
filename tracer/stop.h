/* SPDX-License-Identifier: MIT */
/*
 * stop.h - classify a wait4() status of a PTRACE_SEIZEd tracee.
 *
 * With PTRACE_SEIZE every stop is unambiguous (ptrace(2) "Stopped states"):
 *   SIGTRAP|0x80                      syscall-enter/exit stop (TRACESYSGOOD)
 *   status>>16 == PTRACE_EVENT_SECCOMP seccomp stop (a watched call's entry)
 *   status>>16 == PTRACE_EVENT_STOP    group-stop if WSTOPSIG is a stop signal,
 *                                      else an interrupt / new-child / SIGCONT trap
 *   status>>16 == other event          clone/fork/vfork/exec/exit events
 *   anything else                      signal-delivery-stop: re-inject WSTOPSIG
 * Pure function, no ptrace calls: unit-tested with synthetic statuses.
 */
#ifndef SW_TRACER_STOP_H
#define SW_TRACER_STOP_H

enum stop_kind {
	STOP_EXITED, /* WIFEXITED */
	STOP_KILLED, /* WIFSIGNALED */
	STOP_SYSCALL, /* syscall-enter or -exit stop: ask PTRACE_GET_SYSCALL_INFO */
	STOP_SECCOMP, /* PTRACE_EVENT_SECCOMP */
	STOP_NEW_TASK, /* PTRACE_EVENT_CLONE / FORK / VFORK: GETEVENTMSG = new tid */
	STOP_EXEC, /* PTRACE_EVENT_EXEC: GETEVENTMSG = former tid */
	STOP_EVENT_OTHER, /* EXIT, VFORK_DONE, ...: restart with 0 */
	STOP_GROUP, /* group-stop: PTRACE_LISTEN */
	STOP_TRAP, /* PTRACE_EVENT_STOP with SIGTRAP etc.: restart with 0 */
	STOP_SIGNAL, /* signal-delivery-stop: re-inject the signal */
	STOP_UNKNOWN, /* WIFCONTINUED or garbage */
};

/* *ret_sig: the signal (exit code for STOP_EXITED); *ret_event: status >> 16. */
enum stop_kind stop_classify(int status, int *ret_sig, int *ret_event);

const char *stop_kind_name(enum stop_kind kind);

#endif
