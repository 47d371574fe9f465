#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# timing.sh - slow calls are reported once, with the program's own duration,
# the right process, fd and path details; fast calls are not; thresholds and
# -e filters select what is reported.
. "$(dirname "$0")/lib.sh"
t_backends ptrace notify bpf

H=$HELPERS

# One nanosleep(300 ms): one record whose every field says what the call was.
test_nanosleep_record() {
	sw run -m 10ms -o rec.json -- "$H/sleeper" 300 out.txt 2>err.txt
	show out.txt err.txt rec.json
	expect_rc 0
	local n pid measured sel
	sel='name == "nanosleep" and slow'
	n=$(jq_count rec.json "$sel")
	expect_eq "$n" 1 "nanosleep slow records"
	# in flight past 10 ms: exactly one stuck record too, for the same call
	expect_eq "$(jq_count rec.json 'name == "nanosleep" and stuck')" 1 "nanosleep stuck records"
	pid=$(hval out.txt pid)
	measured=$(hval out.txt nanosleep)
	expect_tol "$measured" 300000000 "sleeper's own measurement"
	expect_tol "$(jq_get rec.json "$sel" .event.duration)" "$measured" "event.duration"
	expect_eq "$(jq_get rec.json "$sel" .process.pid)" "$pid" "process.pid"
	expect_eq "$(jq_get rec.json "$sel" .process.thread.id)" "$pid" "process.thread.id"
	expect_eq "$(jq_get rec.json "$sel" .process.name)" sleeper "process.name"
	expect_eq "$(jq_get rec.json "$sel" .process.executable)" "$(readlink -f "$H/sleeper")" \
		"process.executable"
	jq_get rec.json "$sel" .process.command_line | grep -q 'sleeper 300 out.txt' ||
		fail "process.command_line lacks 'sleeper 300 out.txt'"
	expect_eq "$(jq_get rec.json "$sel" .stallwatch.syscall.nr)" 35 "syscall.nr (x86_64 nanosleep)"
	expect_result rec.json "$sel" 0
	expect_eq "$(jq_get rec.json "$sel" .stallwatch.threshold_ns)" 10000000 "threshold_ns (default)"
	expect_eq "$(jq_get rec.json "$sel" '.event.start < .["@timestamp"]')" true \
		"event.start before @timestamp"
	jq_get rec.json "$sel" .message | grep -q nanosleep || fail "message does not name nanosleep"
}

# Tracing must not change what the program measures itself.
test_transparent_duration() {
	local u t
	t_bg "$H/sleeper" 300 untraced.txt
	t_wait "$BGPID"
	sw run -o rec.json -- "$H/sleeper" 300 traced.txt 2>err.txt
	show untraced.txt traced.txt err.txt
	expect_rc 0
	u=$(hval untraced.txt nanosleep)
	t=$(hval traced.txt nanosleep)
	expect_tol "$t" "$u" "traced vs untraced sleeper"
}

# glibc's sleep is clock_nanosleep: reported under that name.
test_clock_nanosleep() {
	sw run -m 10ms -o rec.json -- sleep 0.2 2>err.txt
	show rec.json err.txt
	expect_rc 0
	local sel='name == "clock_nanosleep" and slow and .process.name == "sleep"' d hi
	expect_eq "$(jq_count rec.json "$sel")" 1 "clock_nanosleep records"
	d=$(jq_get rec.json "$sel" .event.duration)
	# notify: event.duration is the proven lower bound, duration_max_ns the upper one
	hi=$(jq_get rec.json "$sel" '.stallwatch.duration_max_ns // .event.duration')
	[ "$hi" -ge 200000000 ] && [ "$d" -lt 400000000 ] && [ "$d" -le "$hi" ] ||
		fail "duration [$d, $hi] ns does not meet [200,400) ms"
}

# read() on a pipe written 200 ms late: fd_path names the pipe's inode.
test_pipe_late() {
	sw run -m 10ms -o rec.json -- "$H/pipe_late" 200 out.txt 2>err.txt
	show out.txt rec.json err.txt
	expect_rc 0
	local sel pid
	pid=$(hval out.txt pid)
	sel="name == \"read\" and slow and .process.pid == $pid"
	expect_eq "$(jq_count rec.json "$sel")" 1 "read records of the parent"
	expect_eq "$(jq_get rec.json "$sel" .stallwatch.syscall.fd_path)" \
		"pipe:[$(hval out.txt pid 6)]" "fd_path"
	expect_eq "$(jq_get rec.json "$sel" '.stallwatch.syscall.args[0]')" "$(hval out.txt pid 4)" \
		"args[0] (the fd)"
	expect_result rec.json "$sel" 1
	expect_tol "$(jq_get rec.json "$sel" .event.duration)" "$(hval out.txt read)" "read duration"
}

# Calls that take a path carry it, with ret or errno.
test_path_field() {
	sw run -m 0 -e openat -o rec.json -- cat /etc/hostname /nonexistent-stallwatch-e2e >/dev/null 2>err.txt
	show rec.json err.txt
	expect_rc 1 "cat's status"
	local ok='name == "openat" and slow and sc.path == "/etc/hostname"'
	local bad='name == "openat" and slow and sc.path == "/nonexistent-stallwatch-e2e"'
	# notify reads paths after it answers: on a busy host cat may be gone
	# before its records are built, and then no record can name a path
	if backend_is notify && [ "$(jq_count rec.json 'name == "openat" and (.process | has("name"))')" = 0 ]; then
		skip "notify: cat exited before its records were built (paths are read after the call)"
	fi
	expect_eq "$(jq_count rec.json "$ok")" 1 "openat(/etc/hostname) records"
	expect_eq "$(jq_count rec.json "$bad")" 1 "openat(/nonexistent...) records"
	expect_result rec.json "$bad" -2 ENOENT
	backend_is notify && return 0 # no results to check below
	expect_eq "$(jq_get rec.json "$ok" '.stallwatch.syscall.ret >= 0')" true "ret of the successful openat"
	expect_eq "$(jq_get rec.json "$ok" '.stallwatch.syscall | has("errno")')" false "errno on success"
}

# 1000 fast calls: nothing at the default threshold (a slow call after them
# shows the tracing was on)...
test_fastcalls_quiet() {
	sw run -m 10ms -o rec.json -- sh -c '"$0" 1000 out.txt && exec "$1" 100 /dev/null' \
		"$H/fastcalls" "$H/sleeper" 2>err.txt
	show out.txt err.txt
	expect_rc 0
	grep -q '^getppid 1000 .* bad 0' out.txt || fail "fastcalls did not run cleanly"
	expect_eq "$(jq_count rec.json 'name == "getppid"')" 0 "getppid records at 10 ms"
	expect_eq "$(jq_count rec.json 'name == "nanosleep" and slow')" 1 "the control nanosleep's records"
}

# ...and every one of them, exactly once, with -m 0.
test_fastcalls_m0() {
	sw run -m 0 --rate-limit 0 -e getppid -o rec.json -- "$H/fastcalls" 1000 out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 0
	expect_eq "$(jq_count rec.json 'name == "getppid" and slow')" 1000 "getppid records at -m 0"
	expect_eq "$(jq_count rec.json 'name != "getppid"')" 0 "records of other calls with -e getppid"
	expect_eq "$(jq_count rec.json '.stallwatch.threshold_ns != 0')" 0 "records with threshold_ns != 0"
}

# The tracer polls for the next stop before sleeping only while a CPU is
# spare (tracer/spin.h): with a busy loop pinned on every CPU, stallwatch must
# not spin (sched_yield: none of its own), though it still reads its gate
# (/proc/loadavg with pread). Counted by perf on the syscall tracepoints,
# which do not stop or slow anything.
test_spin_gate_busy() {
	local c n yields preads
	perf stat -e syscalls:sys_enter_sched_yield -o probe.txt -- true >/dev/null 2>&1 ||
		skip "perf stat cannot count the syscalls:sys_enter_sched_yield tracepoint here"
	n=$(nproc)
	for ((c = 0; c < n; c++)); do
		t_bg taskset -c "$c" sh -c 'while :; do :; done'
	done
	sleep 0.2
	perf stat -x, -o counts.txt -e syscalls:sys_enter_sched_yield,syscalls:sys_enter_pread64 -- \
		"$STALLWATCH" run --no-default-policy -e getppid -o rec.json -- "$H/fastcalls" 10000 out.txt \
		2>err.txt
	RC=$?
	show counts.txt out.txt err.txt
	expect_rc 0
	grep -q '^getppid 10000 .* bad 0' out.txt || fail "fastcalls did not run cleanly"
	yields=$(awk -F, '$3 == "syscalls:sys_enter_sched_yield" { print $1 }' counts.txt)
	preads=$(awk -F, '$3 == "syscalls:sys_enter_pread64" { print $1 }' counts.txt)
	# Spinning makes about 19 per call on an idle 2-CPU VM; with the gate
	# forced open under this load the back-off still leaves about 300 for
	# 10000 calls (measured). The sanitizer runtime's own spin locks make a
	# few under ASan (4 here).
	[ "${yields:-x}" -lt 50 ] 2>/dev/null ||
		fail "stallwatch polled with every CPU busy: ${yields:-no} sched_yield calls for 10000 watched calls"
	[ "${preads:-0}" -ge 1 ] || fail "the gate was never read (pread64 calls: ${preads:-none})"
}

# -m units: every spelling of 250 ms means the same threshold.
test_threshold_units() {
	local spec n
	for spec in 250 250ms 250000us 250000000ns; do
		sw run -m "$spec" -e nanosleep -o "rec-$spec.json" -- "$H/sleeper" 300 2>err.txt >/dev/null
		expect_rc 0 "-m $spec: exit status"
		n=$(jq_count "rec-$spec.json" 'name == "nanosleep" and slow and .stallwatch.threshold_ns == 250000000')
		[ "$n" = 1 ] || {
			show "rec-$spec.json" err.txt
			fail "-m $spec: $n records with threshold_ns 250000000, want 1"
		}
	done
}

# A call shorter than the threshold is not reported; a longer one is.
# (--no-default-policy: the built-in policy's 100 ms rule would report the 300 ms call)
test_threshold_above() {
	sw run --no-default-policy -m 1s -o rec.json -- \
		sh -c '"$0" 300 out.txt && exec "$0" 1100 /dev/null' "$H/sleeper" 2>err.txt
	show rec.json err.txt
	expect_rc 0
	[ -n "$(hval out.txt nanosleep)" ] || fail "sleeper did not run"
	expect_eq "$(jq_count rec.json 'name == "nanosleep" and slow')" 1 "nanosleep records with -m 1s"
	expect_tol "$(jq_get rec.json 'name == "nanosleep" and slow' .event.duration)" 1100000000 \
		"the reported call (1.1 s, not 300 ms)"
}

# With -m (no --policy) the command-line rule replaces the built-in catch-all
# `slow-call` (100 ms, waits left out); the default's incident rules stay. So
# -m 1s never yields a record from the 100 ms catch-all: a 300 ms stall of a
# file read gives none, a 1.1 s sleep is the command-line rule's.
test_default_policy_beside_m() {
	echo data >file.txt
	sw run -m 1s -o rec.json -- sh -c '"$0" - "$1" 0 0 >/dev/null || exit; exec "$2" 1100 /dev/null' \
		"$H/idled" file.txt "$H/sleeper" 2>err.txt
	show rec.json err.txt
	[ "$RC" = 77 ] && skip "userfaultfd is not available"
	expect_rc 0
	expect_eq "$(jq_count rec.json 'name == "read"')" 0 "records of the 300 ms read at -m 1s"
	expect_eq "$(jq_count rec.json '.rule.name == "slow-call"')" 0 "records of the replaced catch-all"
	expect_eq "$(jq -r 'select(.event.action == "slow-syscall" and .stallwatch.syscall.name == "nanosleep")
		| [.rule.name, .stallwatch.threshold_ns] | join(" ")' rec.json)" \
		"command-line 1000000000" "the 1.1 s call's rule"
}

# -e selects calls: by name, negated, long option; other calls stay silent.
test_trace_filter() {
	sw run -e nanosleep -o a.json -- "$H/sleeper" 200 2>err.txt >/dev/null
	expect_eq "$(jq_count a.json 'name == "nanosleep" and slow')" 1 "-e nanosleep: nanosleep records"
	expect_eq "$(jq_count a.json 'name != "nanosleep"')" 0 "-e nanosleep: other records"
	sw run -e read -o b.json -- "$H/sleeper" 200 2>err.txt >/dev/null
	expect_eq "$(jq_count b.json 'name == "nanosleep"')" 0 "-e read: nanosleep records"
	sw run -e '!nanosleep' -o c.json -- "$H/sleeper" 200 2>err.txt >/dev/null
	expect_eq "$(jq_count c.json 'name == "nanosleep"')" 0 "-e !nanosleep: nanosleep records"
	sw run --trace=nanosleep -o d.json -- "$H/sleeper" 200 2>err.txt >/dev/null
	expect_eq "$(jq_count d.json 'name == "nanosleep" and slow')" 1 "--trace=nanosleep: nanosleep records"
	sw run -e '%file' -m 0 -o e.json -- "$H/vforker" exec 50 2>err.txt >/dev/null
	expect_eq "$(jq_count e.json 'name == "chdir" and slow')" 2 "-e %file: chdir records"
	expect_eq "$(jq_count e.json 'name == "nanosleep"')" 0 "-e %file: nanosleep records"
}

# Without -o, records go to stderr; the command's stdout stays its own.
test_default_stderr() {
	sw run -e nanosleep -- "$H/sleeper" 200 >out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 0
	expect_eq "$(jq_count err.txt 'name == "nanosleep" and slow')" 1 "nanosleep records on stderr"
	expect_eq "$(grep -c . out.txt)" 2 "stdout lines (the sleeper's own two)"
	grep -q '^{' out.txt && fail "a record went to stdout"
	:
}

t_run nanosleep_record test_nanosleep_record
t_run transparent_duration test_transparent_duration
t_run clock_nanosleep test_clock_nanosleep
t_run pipe_late test_pipe_late
t_run path_field test_path_field
t_run fastcalls_quiet test_fastcalls_quiet
t_run fastcalls_m0 test_fastcalls_m0
t_run spin_gate_busy test_spin_gate_busy
t_run threshold_units test_threshold_units
t_run threshold_above test_threshold_above
t_run default_policy_beside_m test_default_policy_beside_m
t_run trace_filter test_trace_filter
t_run default_stderr test_default_stderr
t_done
