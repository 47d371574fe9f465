#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# notify.sh - what only the seccomp user-notification backend does: calls
# seen at entry only (bracketed ends, no return value, an exact stuck record
# from /proc/TID/syscall), a command that itself uses ptrace (strace, gdb),
# a nested listener refused, and stallwatch's death. The run tests both
# backends share run from their own scripts under SW_BACKEND=notify.
. "$(dirname "$0")/lib.sh"

H=$HELPERS
N=(--backend=notify)

# `run --backend=notify` works here (Linux 5.19+, seccomp, no listener above us)?
notify_or_skip() {
	# bounded: a hang here must fail with the processes left shown, not stall the test
	t_bg "$STALLWATCH" run --backend=notify -e getppid -- true >/dev/null 2>probe.txt
	t_wait "$BGPID" 20 || fail "stallwatch run --backend=notify -- true did not end"
	[ "$RC" = 0 ] || skip "notify backend unavailable here: $(head -n1 probe.txt)"
}

# A pipe read blocked 600 ms: the stuck record is exact (the same nr, args
# and pc in /proc/TID/syscall), the slow one brackets the end, neither has
# a return value.
test_stuck_exact() {
	notify_or_skip
	sw run "${N[@]}" -m 100ms -e read -o rec.json -- "$H/pipe_late" 600 out.txt 2>err.txt
	show out.txt rec.json err.txt
	expect_rc 0
	local pid measured
	pid=$(hval out.txt pid)
	measured=$(hval out.txt read)
	expect_eq "$(jq_count rec.json "stuck and name == \"read\" and .process.pid == $pid")" 1 \
		"stuck read records"
	expect_eq "$(jq_get rec.json 'stuck and name == "read"' \
		'[.stallwatch.backend, .stallwatch.inflight_evidence, (.stallwatch | has("approximate")),
		  (sc | has("ret") or has("errno"))] | map(tostring) | join(" ")')" \
		"seccomp-notify proc-syscall false false" "stuck record: backend, evidence, approximate, ret"
	expect_eq "$(jq_count rec.json "slow and name == \"read\" and .process.pid == $pid")" 1 \
		"slow read records"
	local lo hi
	lo=$(jq_get rec.json 'slow and name == "read"' dur)
	hi=$(jq_get rec.json 'slow and name == "read"' .stallwatch.duration_max_ns)
	[ -n "$hi" ] || fail "slow record without stallwatch.duration_max_ns"
	# the bracket holds the program's own measurement (a little slack: it
	# times around the syscall instruction, we from the notification)
	[ "$lo" -le $((measured + 2000000)) ] && [ "$hi" -ge $((measured - 5000000)) ] ||
		fail "bracket [$lo, $hi] ns does not hold the program's $measured ns"
	# after a stuck record it is polled every threshold/8: the bracket is narrow
	[ $((hi - lo)) -le 40000000 ] || fail "bracket [$lo, $hi] ns wider than 40 ms"
	expect_eq "$(jq_get rec.json 'slow and name == "read"' '.stallwatch.syscall.fd_path')" \
		"pipe:[$(hval out.txt pid 6)]" "fd_path"
	expect_eq "$(jq_get rec.json 'slow and name == "read"' '(sc | has("ret"))')" false "slow ret"
}

# A sleep crossing its threshold: the slow record holds it between its bounds.
test_slow_sleep_bounds() {
	notify_or_skip
	sw run "${N[@]}" -m 100ms -e nanosleep -o rec.json -- "$H/sleeper" 300 out.txt 2>err.txt
	show out.txt rec.json err.txt
	expect_rc 0
	local measured lo hi
	measured=$(hval out.txt nanosleep)
	lo=$(jq_get rec.json 'slow and name == "nanosleep"' dur)
	hi=$(jq_get rec.json 'slow and name == "nanosleep"' .stallwatch.duration_max_ns)
	[ -n "$lo" ] && [ -n "$hi" ] || fail "no bracketed slow nanosleep record"
	[ "$lo" -ge 100000000 ] || fail "lower bound $lo ns below the threshold"
	[ "$lo" -le $((measured + 2000000)) ] && [ "$hi" -ge $((measured - 5000000)) ] ||
		fail "bracket [$lo, $hi] ns does not hold the program's $measured ns"
	# no later watched call: the sleeper's exit says the sleep was over
	# (exit_group itself is never notified: filter.h)
	expect_eq "$(jq_get rec.json 'slow and name == "nanosleep"' .stallwatch.end_seen)" thread-exit \
		"end_seen"
}

# stallwatch under a listener of its own cannot add one (EBUSY): one line,
# exit 125, nothing run.
test_nested_listener() {
	notify_or_skip
	sw run "${N[@]}" -e getppid -- "$STALLWATCH" run "${N[@]}" -e getppid -- \
		sh -c 'touch ran.txt' 2>err.txt
	show err.txt
	expect_rc 125 "inner stallwatch status (passed through by the outer one)"
	[ ! -e ran.txt ] || fail "the inner command ran"
	expect_eq "$(grep -c . err.txt)" 1 "stderr lines"
	grep -q '^stallwatch: .*listener' err.txt || fail "no line about the listener: $(cat err.txt)"
}

# The command may itself be a tracer under notify; under ptrace it cannot.
test_strace_inside() {
	notify_or_skip
	command -v strace >/dev/null || skip "strace not installed"
	sw run "${N[@]}" -m 100ms -e nanosleep -o rec.json -- \
		strace -f -qq -o st.txt -e trace=nanosleep "$H/sleeper" 200 out.txt 2>err.txt
	show err.txt rec.json st.txt
	expect_rc 0
	grep -q 'nanosleep(' st.txt || fail "strace inside saw no nanosleep"
	expect_eq "$(jq_count rec.json "slow and name == \"nanosleep\" and .process.pid == $(hval out.txt pid)")" 1 \
		"slow nanosleep records of the sleeper under strace"
	# the same under ptrace: strace cannot attach, and stallwatch says why
	sw run --backend=ptrace -m 100ms -e nanosleep -o rec2.json -- \
		strace -f -qq -o st2.txt "$H/sleeper" 50 out2.txt 2>err2.txt
	show err2.txt
	[ "$RC" != 0 ] || fail "strace under the ptrace backend succeeded"
	grep -q 'ptrace() failed with EPERM' err2.txt || fail "no EPERM warning under ptrace"
}

test_gdb_inside() {
	notify_or_skip
	command -v gdb >/dev/null || skip "gdb not installed"
	sw run "${N[@]}" -m 100ms -e nanosleep -o rec.json -- \
		gdb -q -batch -nx -ex run --args "$H/sleeper" 200 out.txt >gdb.txt 2>err.txt
	show err.txt gdb.txt rec.json
	expect_rc 0
	grep -q '^nanosleep' out.txt || fail "the program under gdb did not run to its sleep"
	grep -q 'exited normally' gdb.txt || fail "gdb did not see a normal exit"
	expect_eq "$(jq_count rec.json "slow and name == \"nanosleep\" and .process.pid == $(hval out.txt pid)")" 1 \
		"slow nanosleep records of the program under gdb"
}

# stallwatch SIGKILLed: the command (its child) dies with it (parent-death
# signal); a grandchild cannot be protected: its watched calls fail ENOSYS.
test_stallwatch_dies() {
	notify_or_skip
	t_bg "$STALLWATCH" run "${N[@]}" -e getppid -o rec.json -- "$H/deathwatch" out.txt 2>err.txt
	local swpid=$BGPID pid child
	wait_for '[ -n "$(hval out.txt pid)" ] && [ -n "$(hval out.txt child)" ]' 10 ||
		fail "deathwatch did not start"
	pid=$(hval out.txt pid)
	child=$(hval out.txt child)
	t_track "$pid"
	t_track "$child"
	sleep 0.2
	kill -KILL "$swpid"
	t_wait "$swpid" 10
	wait_for '! [ -d /proc/'"$pid"' ] || [ "$(awk "{print \$3}" /proc/'"$pid"'/stat)" = Z ]' 5 ||
		fail "the command outlived stallwatch (state $(awk '{print $3}' /proc/"$pid"/stat))"
	wait_for 'grep -q "^getppid errno" out.txt' 5 || {
		show out.txt
		fail "the grandchild's watched getppid did not fail"
	}
	expect_eq "$(hval out.txt getppid 3)" 38 "the grandchild's getppid errno (ENOSYS)"
}

# --summary under notify: counts, and no made-up times.
test_summary_counts() {
	notify_or_skip
	sw run "${N[@]}" --summary -e getppid -o rec.json -- sh -c 'for i in 1 2 3; do :; done' 2>err.txt
	show err.txt rec.json
	expect_rc 0
	sw run "${N[@]}" --summary --format=text -e nanosleep -- "$H/sleeper" 20 out.txt 2>sum.txt
	show sum.txt
	expect_rc 0
	grep -q 'nanosleep' sum.txt || fail "no nanosleep row"
	grep 'nanosleep' sum.txt | grep -q -- '-' || fail "the nanosleep row shows times notify cannot know"
}

# A call spinning in the kernel shows "running" in /proc/TID/syscall: CPU
# time decides (only system time grows), and the records say approximate.
test_cpu_time_evidence() {
	notify_or_skip
	sw run "${N[@]}" -m 30ms -e read -o rec.json -- \
		dd if=/dev/urandom of=/dev/null bs=64M count=2 2>err.txt
	show err.txt rec.json
	expect_rc 0
	[ "$(jq_count rec.json 'stuck and name == "read" and .stallwatch.inflight_evidence == "cpu-time"
		and .stallwatch.approximate == true and sc.fd_path == "/dev/urandom"')" -ge 1 ] ||
		fail "no approximate cpu-time stuck read of /dev/urandom"
	[ "$(jq_count rec.json 'slow and name == "read" and .stallwatch.approximate == true
		and sc.fd_path == "/dev/urandom" and .stallwatch.duration_max_ns >= dur')" -ge 1 ] ||
		fail "no bracketed slow read of /dev/urandom (its fd path kept from the stuck record)"
}

# Without access to /proc/TID/syscall (an unprivileged stallwatch, a
# non-dumpable command), the thread's state stands in, approximately.
test_state_evidence() {
	notify_or_skip
	command -v setpriv >/dev/null || skip "setpriv is missing"
	[ "$(id -u)" = 0 ] || skip "needs root to become nobody"
	local sw=$STALLWATCH d=$TD/nobody
	mkdir -p "$d" && chmod 777 "$d"
	if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$sw"; then
		cp "$sw" "$d/stallwatch" || skip "cannot copy the binary"
		sw=$d/stallwatch
	fi
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$H/nodump" ||
		skip "nobody cannot run $H/nodump"
	t_bg setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$sw" run "${N[@]}" -m 100ms -e nanosleep -o "$d/rec.json" -- "$H/nodump" 300 "$d/out.txt" \
		2>err.txt
	t_wait "$BGPID" 20
	show err.txt "$d/rec.json" "$d/out.txt"
	expect_rc 0
	expect_eq "$(jq_get "$d/rec.json" 'stuck and name == "nanosleep"' \
		'[.stallwatch.inflight_evidence, .stallwatch.approximate] | map(tostring) | join(" ")')" \
		"state true" "stuck record: evidence, approximate"
	expect_eq "$(jq_count "$d/rec.json" 'slow and name == "nanosleep" and .stallwatch.approximate == true')" 1 \
		"approximate slow records"
}

t_run stuck_exact test_stuck_exact
t_run slow_sleep_bounds test_slow_sleep_bounds
t_run nested_listener test_nested_listener
t_run strace_inside test_strace_inside
t_run gdb_inside test_gdb_inside
t_run stallwatch_dies test_stallwatch_dies
t_run summary_counts test_summary_counts
t_run cpu_time_evidence test_cpu_time_evidence
t_run state_evidence test_state_evidence
t_done
