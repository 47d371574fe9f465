#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# summary.sh - --summary: per syscall calls, errors and total/min/avg/max/p99
# wall time of every completed watched call, at exit and on SIGUSR2, as one
# JSON record (or a table in text format); counts equal what the program did.
. "$(dirname "$0")/lib.sh"
t_backends ptrace bpf

H=$HELPERS

# summary_get FILE SYSCALL FIELD: FIELD of SYSCALL's row in the last summary record
summary_get() {
	jq -r -s --arg s "$2" --arg f "$3" \
		'[.[] | select(.event.action == "summary")] | last | .stallwatch.summary[]
		 | select(.syscall == $s) | .[$f]' "$1"
}

# Counts equal what the helper did; errors counted; the numbers are consistent.
test_counts() {
	sw run --no-default-policy -e openat,getppid --summary -o rec.json -- \
		"$H/failcalls" 300 700 out.txt 2>err.txt
	show rec.json err.txt out.txt
	expect_rc 0
	expect_eq "$(jq_count rec.json '.event.action == "summary"')" 1 "summary records"
	expect_eq "$(summary_get rec.json getppid calls)" 700 "getppid calls"
	expect_eq "$(summary_get rec.json getppid errors)" 0 "getppid errors"
	# the dynamic loader opens its libraries too: at least the helper's 300, all of them failed
	local calls errors
	calls=$(summary_get rec.json openat calls)
	errors=$(summary_get rec.json openat errors)
	[ "$errors" -ge 300 ] || fail "openat errors $errors, want >= 300"
	[ "$calls" -ge "$errors" ] || fail "openat calls $calls < errors $errors"
	expect_eq "$(jq -r 'select(.event.action == "summary") | .stallwatch.summary[]
		| select(.min_ns <= .avg_ns and .avg_ns <= .max_ns and .p99_ns <= .max_ns
		and .p99_ns >= .min_ns and .total_ns >= .max_ns) | .syscall' rec.json | sort | tr '\n' ' ')" \
		"getppid openat " "rows with min <= avg <= max, min <= p99 <= max"
	expect_eq "$(jq -r 'select(.event.action == "summary") | "\(.event.kind) \(.log.level) \(.rule.name)"' rec.json)" \
		"metric informational summary" "event.kind, log.level, rule.name"
}

# --metrics-file: the duration histogram counts every watched call too, fast
# ones included (under bpf: counted in the kernel, not only the slow ones).
test_metrics_histogram() {
	sw run --no-default-policy -e getppid --metrics-file m.prom -o rec.json -- \
		"$H/failcalls" 0 3000 out.txt 2>err.txt
	show err.txt m.prom
	expect_rc 0
	local count sum
	count=$(awk '/^stallwatch_syscall_duration_seconds_count\{.*syscall="getppid"/ { print $2 }' m.prom)
	sum=$(awk '/^stallwatch_syscall_duration_seconds_sum\{.*syscall="getppid"/ { print $2 }' m.prom)
	expect_eq "$count" 3000 "getppid calls in the histogram"
	awk -v s="$sum" 'BEGIN { exit !(s > 0 && s < 3) }' || fail "histogram sum '$sum' s"
}

# Four threads, one nanosleep each: every call of every thread is counted once,
# and the calls of all threads of a process add up in one row.
test_threads() {
	sw run --no-default-policy -e nanosleep --summary -o rec.json -- "$H/threads" 4 50 out.txt \
		2>err.txt
	show rec.json err.txt
	expect_rc 0
	expect_eq "$(grep -c '^thread ' out.txt)" 4 "threads that slept"
	expect_eq "$(summary_get rec.json nanosleep calls)" 4 "nanosleep calls"
	[ "$(summary_get rec.json nanosleep min_ns)" -ge 45000000 ] || fail "a 50 ms sleep shorter than 45 ms"
	sw run --no-default-policy -e getppid --summary -o rec2.json -- \
		"$H/failcalls" 0 5000 out2.txt 2>err.txt
	expect_eq "$(summary_get rec2.json getppid calls)" 5000 "getppid calls"
}

# SIGUSR2 writes the summary so far; the one at exit has at least as much.
test_sigusr2() {
	t_bg "$STALLWATCH" run --no-default-policy -e nanosleep --summary -o rec.json -- \
		sh -c 'i=0; while [ $i -lt 8 ]; do "$0" 50 /dev/null; i=$((i + 1)); done' \
		"$H/sleeper" 2>err.txt
	local swpid=$BGPID
	# the command runs once stallwatch is set up (the bpf backend loads its programs first)
	wait_for '[ -n "$(pgrep -P "$(pgrep -P "$swpid" | head -1)")" ]' 5 || fail "no sleeper"
	sleep 0.2
	kill -USR2 "$swpid"
	wait_for '[ "$(jq_count rec.json ".event.action == \"summary\"")" -ge 1 ]' 5 ||
		fail "no summary after SIGUSR2"
	t_wait "$swpid" 10
	show rec.json err.txt
	expect_rc 0
	expect_eq "$(jq_count rec.json '.event.action == "summary"')" 2 "summary records"
	local first last
	first=$(jq -r -s '[.[] | select(.event.action == "summary")][0].stallwatch.summary[]
		| select(.syscall == "nanosleep") | .calls' rec.json)
	last=$(summary_get rec.json nanosleep calls)
	expect_eq "$last" 8 "nanosleep calls at exit"
	[ "${first:-0}" -ge 1 ] && [ "$first" -lt 8 ] || fail "calls at SIGUSR2: '$first'"
}

# No --summary: SIGUSR2 changes nothing, no summary record.
test_no_summary() {
	t_bg "$STALLWATCH" run --no-default-policy -e nanosleep -o rec.json -- "$H/sleeper" 300 \
		out.txt 2>err.txt
	local swpid=$BGPID
	wait_for '[ -n "$(pgrep -P "$swpid")" ]' 5 || fail "no sleeper"
	sleep 0.1
	kill -USR2 "$swpid"
	t_wait "$swpid" 10
	expect_rc 0
	expect_eq "$(jq_count rec.json '.event.action == "summary"')" 0 "summary records"
}

# Text format: an aligned table with a total line.
test_text_table() {
	sw run --no-default-policy -e getppid --summary --format text -o table.txt -- \
		"$H/failcalls" 0 100 out.txt 2>err.txt
	show table.txt err.txt
	expect_rc 0
	grep -q '^ *calls  *errors  *total_ms  *min_us  *avg_us  *max_us  *p99_us  syscall$' table.txt ||
		fail "no header line"
	grep -Eq '^ +100 +0 +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+  getppid$' table.txt ||
		fail "no getppid row with 100 calls"
	grep -Eq '^ +100 +0 +[0-9.]+ +total$' table.txt || fail "no total line"
}

# attach --summary: the summary is written at the detach.
test_attach() {
	t_bg sh -c 'i=0; while [ $i -lt 40 ]; do "$0" 50 /dev/null; i=$((i + 1)); done' \
		"$H/sleeper"
	local tgt=$BGPID
	t_bg "$STALLWATCH" attach -f --no-default-policy -e nanosleep --summary -o rec.json \
		-p "$tgt" 2>err.txt
	local swpid=$BGPID
	wait_for 'grep -q "attached $tgt" err.txt' 10 || fail "not attached"
	sleep 0.5
	kill -TERM "$swpid"
	t_wait "$swpid" 10
	show rec.json err.txt
	expect_rc 0
	expect_eq "$(jq_count rec.json '.event.action == "summary"')" 1 "summary records"
	[ "$(summary_get rec.json nanosleep calls)" -ge 3 ] || fail "too few nanosleep calls counted"
	kill "$tgt" 2>/dev/null
	:
}

# counts, threads and text_table hold under every backend: the kernel counts
# every watched call under bpf.
t_run counts test_counts
t_run metrics_histogram test_metrics_histogram
t_run threads test_threads
t_run sigusr2 test_sigusr2
t_run no_summary test_no_summary
t_run text_table test_text_table
t_run attach test_attach
t_done
