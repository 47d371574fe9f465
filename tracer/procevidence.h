/* SPDX-License-Identifier: MIT */
/*
 * procevidence.h - stallwatch.evidence from /proc, for the backends without
 * a scheduler view of their calls (ptrace, seccomp-notify).
 *
 * Nothing is read at a call's entry (the fast path): a call is first looked
 * at when it crosses its threshold (SAMPLE_AT_CROSSING, lifecycle.h): its
 * state (/proc/TID/stat), wchan (/proc/TID/wchan), kernel stack
 * (/proc/TID/stack, root) and its scheduler figures (/proc/TID/schedstat).
 * Later samples take schedstat only: under ptrace at the exit stop
 * (SAMPLE_AT_EXIT: the thread waits there, its figures are those of its
 * end), under notify at each poll that shows the call still in flight
 * (SAMPLE_STILL_IN: the end notify learns of is later than the call's, after
 * user-space time of the thread's). The times of a record are the growth
 * between the first sample and the last: a window inside the call
 * (window_ns), never the whole call; no window, no times. The state, wchan
 * and stack are those of the latest crossing, on the stuck record and on the
 * slow record alike (at the exit stop they would show the stop, not the call).
 */
#ifndef SW_TRACER_PROCEVIDENCE_H
#define SW_TRACER_PROCEVIDENCE_H

#include "lifecycle.h"

/* lc->evidence of ptrace and notify; its opaque is unused (NULL). */
extern const struct evidence_source procevidence_source;

#endif
