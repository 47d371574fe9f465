#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# stuck.sh - a call still in flight when its threshold passes gets one
# stuck-syscall record at that moment, then one slow-syscall when it
# returns; a call that never returns gets only the stuck record.
. "$(dirname "$0")/lib.sh"
t_backends ptrace notify bpf

H=$HELPERS

test_stuck_then_slow() {
	local start n pid
	start=$(now_ms)
	t_bg "$STALLWATCH" run -m 100ms -e nanosleep -o rec.json -- "$H/sleeper" 1500 out.txt 2>err.txt
	local swpid=$BGPID
	# The stuck record must appear while the call is still in flight.
	wait_for '[ "$(jq_count rec.json stuck)" -ge 1 ]' 10 || {
		show rec.json err.txt
		fail "no stuck-syscall record within 10 s"
	}
	grep -q '^nanosleep' out.txt && fail "stuck record only appeared after the call returned" \
		"($(($(now_ms) - start)) ms after start)"
	t_wait "$swpid" 10
	show out.txt rec.json err.txt
	expect_rc 0
	pid=$(hval out.txt pid)
	expect_eq "$(jq_count rec.json 'name == "nanosleep" and stuck')" 1 "stuck-syscall records"
	expect_eq "$(jq_count rec.json 'name == "nanosleep" and slow')" 1 "slow-syscall records"
	expect_eq "$(jq -r -s 'map(.event.action) | join(",")' rec.json)" \
		"stuck-syscall,slow-syscall" "record order in the file"
	n=$(jq -r -s '.[0]["@timestamp"] < .[1]["@timestamp"]' rec.json)
	expect_eq "$n" true "stuck @timestamp before slow @timestamp"
	n=$(jq -r -s '.[0].stallwatch.mono_ns < .[1].stallwatch.mono_ns' rec.json)
	expect_eq "$n" true "stuck mono_ns before slow mono_ns"
	n=$(jq -r -s '.[0].event.start == .[1].event.start' rec.json)
	expect_eq "$n" true "both records have the same event.start (one call): $(jq -r -s 'map(.event.start) | join(" vs ")' rec.json)"
	n=$(jq_get rec.json stuck '.stallwatch.syscall | (has("ret") or has("errno"))')
	expect_eq "$n" false "stuck record has ret/errno"
	expect_eq "$(jq_get rec.json stuck .process.pid)" "$pid" "stuck process.pid"
	expect_eq "$(jq_get rec.json stuck .event.kind)" alert "stuck event.kind"
	expect_eq "$(jq_get rec.json stuck .stallwatch.threshold_ns)" 100000000 "stuck threshold_ns"
	n=$(jq_get rec.json stuck .event.duration)
	[ "$n" -ge 100000000 ] && [ "$n" -lt 1000000000 ] ||
		fail "stuck event.duration $n ns: want the time in flight at the threshold (100 ms..1 s)"
	expect_tol "$(jq_get rec.json slow .event.duration)" "$(hval out.txt nanosleep)" "slow duration"
}

# A call that never returns: its process is SIGKILLed. One stuck record, no
# slow record (there was no return), and stallwatch dies by SIGKILL too.
test_stuck_killed() {
	local pid
	t_bg "$STALLWATCH" run -m 100ms -e nanosleep -o rec.json -- "$H/sleeper" 600000 out.txt 2>err.txt
	local swpid=$BGPID
	wait_for '[ -n "$(hval out.txt pid)" ] && [ "$(jq_count rec.json stuck)" -ge 1 ]' 10 || {
		show out.txt rec.json err.txt
		fail "no stuck-syscall record within 10 s"
	}
	pid=$(hval out.txt pid)
	t_track "$pid"
	kill -KILL "$pid"
	t_wait "$swpid" 10
	show out.txt rec.json err.txt
	expect_rc 137 "stallwatch status after its command was SIGKILLed"
	expect_eq "$(jq_count rec.json 'name == "nanosleep" and stuck')" 1 "stuck-syscall records"
	expect_eq "$(jq_count rec.json 'name == "nanosleep" and slow')" 0 "slow-syscall records"
}

# Two threads stuck at once: one stuck record each, then one slow record each.
test_stuck_threads() {
	sw run -m 100ms -e nanosleep -o rec.json -- "$H/threads" 2 600 out.txt 2>err.txt
	show out.txt rec.json err.txt
	expect_rc 0
	expect_eq "$(jq_count rec.json stuck)" 2 "stuck-syscall records"
	expect_eq "$(jq_count rec.json slow)" 2 "slow-syscall records"
	expect_eq "$(jq_get rec.json stuck .process.thread.id | sort -u | wc -l)" 2 \
		"distinct thread ids in stuck records"
}

t_run stuck_then_slow test_stuck_then_slow
t_run stuck_killed test_stuck_killed
t_run stuck_threads test_stuck_threads
t_done
