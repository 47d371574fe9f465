/* SPDX-License-Identifier: MIT */
/*
 * thread.h - starting stallwatch's helper threads (sink writers, the policy
 * loader). Signals are the tracing thread's business: its handlers end the
 * blocking wait4() with EINTR, so a helper thread must never take one.
 */
#ifndef SW_COMMON_THREAD_H
#define SW_COMMON_THREAD_H

#include <pthread.h>

/*
 * pthread_create() with every signal blocked in the new thread (a
 * thread-directed SIGPIPE then only gives EPIPE there). 0 or -errno.
 */
int sw_thread_create_quiet(pthread_t *ret, void *(*fn)(void *), void *arg);

#endif
