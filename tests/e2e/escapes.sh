#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# escapes.sh - a string from a traced program or a policy file never reaches
# the operator's terminal raw: a comm full of escape sequences is
# printed C-escaped (common/escape.h) in attach's lines, its --dry-run table
# and a SIGHUP reload's error line. Policy diagnostics: tests/policy/80-*;
# text records: tests/unit/test_record.c.
. "$(dirname "$0")/lib.sh"

H=$HELPERS
# comms of 15 bytes (TASK_COMM_LEN - 1): retitle the terminal, turn it red, clear it
TARGET_COMM=$'\e]0;pwned\a\e[31m'
TARGET_ESC='\x1b]0;pwned\x07\x1b[31m'
TRACER_COMM=$'\e[2J\e[H\e[5mtrc'
TRACER_ESC='\x1b[2J\x1b[H\x1b[5mtrc'

# no_raw_controls FILE...: no byte a terminal acts on (C0 but newline, DEL)
no_raw_controls() {
	local f
	for f in "$@"; do
		if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$f"; then
			show "$f"
			fail "$(basename "$f") holds a raw control character"
		fi
	done
}

# start_target: the sleeper under the hostile comm, in $TGT
start_target() {
	cp "$H/sleeper" "./$TARGET_COMM"
	t_bg "./$TARGET_COMM" 20000
	TGT=$BGPID
	wait_for '[ "$(cat /proc/$TGT/comm 2>/dev/null)" = "$TARGET_COMM" ]' 5 ||
		fail "the target's comm is not set"
}

# "attached PID (COMM)", "attach PID (COMM): already traced by pid N (COMM)"
test_attach_lines() {
	start_target
	# the first tracer is stallwatch too (the binary, not t_run_ptrace's
	# wrapper), under a hostile name of its own
	cp "${SW_BACKEND_EXEC:-$STALLWATCH}" "./$TRACER_COMM"
	t_bg "./$TRACER_COMM" attach --backend=ptrace -p "$TGT" -o rec1.json 2>err1.txt
	local first=$BGPID
	wait_for 'grep -q "^stallwatch: attached" err1.txt' 10 || {
		show err1.txt
		fail "the first tracer did not attach"
	}
	sw attach -p "$TGT" -o rec2.json 2>err2.txt
	show err1.txt err2.txt
	expect_rc 1 "status of the second attach"
	expect_eq "$(cat err1.txt)" "stallwatch: attached $TGT ($TARGET_ESC) with 1 threads" \
		"the first tracer's line"
	expect_eq "$(head -n 1 err2.txt)" \
		"stallwatch: attach $TGT ($TARGET_ESC): already traced by pid $first ($TRACER_ESC)" \
		"the second attach's line"
	no_raw_controls err1.txt err2.txt
	kill -TERM "$first"
	t_wait "$first" 10
	expect_rc 0 "status of the first tracer"
}

# --dry-run: the table shows the comm and the exe path escaped
test_dry_run_table() {
	start_target
	sw attach --dry-run -p "$TGT" >out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 0
	expect_eq "$(grep -c . out.txt)" 2 "lines of the table"
	[[ "$(tail -n 1 out.txt)" == "$TGT "*" $TARGET_ESC  $TD/$TARGET_ESC "* ]] ||
		fail "row: $(tail -n 1 out.txt)"
	no_raw_controls out.txt err.txt
}

# A reload whose first error names a rule with a newline and an escape: one escaped line.
test_reload_error_line() {
	printf '%s\n' '{"rules":[{"name":"ok","syscalls":["nanosleep"],"min_duration":"5s"}]}' >p.json
	t_bg "$STALLWATCH" run --policy p.json -o rec.json -- "$H/sleeper" 3000 out.txt 2>err.txt
	local swpid=$BGPID
	sleep 0.5
	printf '%s\n' '{"rules":[{"name":"x\n\u001b[31mfake: injected","min_duration":"5s"}]}' >p.json
	kill -HUP "$swpid"
	wait_for 'grep -q "not reloaded" err.txt' 10 || fail "no line about the reload"
	t_wait "$swpid" 20
	show err.txt
	expect_rc 0
	expect_eq "$(cat err.txt)" \
		'stallwatch: SIGHUP: policy not reloaded, the current one stays: p.json:1:19: error[bad-name]: rule name `x\n\x1b[31mfake: injected`: use 1-63 characters of A-Z a-z 0-9 _ . : -' \
		"stderr"
	no_raw_controls err.txt
}

# t_run_ptrace: "already traced by" is ptrace's refusal (bpf watches a traced process)
t_run_ptrace attach_lines test_attach_lines
t_run dry_run_table test_dry_run_table
t_run reload_error_line test_reload_error_line
t_done
