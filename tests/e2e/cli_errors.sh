#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_errors.sh - option errors are one "stallwatch: " line and status 2,
# before anything runs (getopt's own messages are not printed); planned
# subcommands say they are not available; no arguments is a usage error;
# --version succeeds.
. "$(dirname "$0")/lib.sh"

# one_line_error WHAT ARG...: stallwatch ARG... exits 2 with exactly one
# stderr line starting "stallwatch: " and nothing on stdout; `touch ran`
# (when part of ARG) did not run.
one_line_error() {
	local what=$1
	shift
	rm -f ran
	sw "$@" >out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 2 "status of stallwatch $what"
	expect_eq "$(wc -l <err.txt)" 1 "stderr lines of stallwatch $what"
	grep -q '^stallwatch: ' err.txt || fail "stallwatch $what: stderr does not start with 'stallwatch: '"
	[ ! -s out.txt ] || fail "stallwatch $what: stdout not empty"
	[ ! -e ran ] || fail "stallwatch $what: the command ran"
	:
}

test_unknown_short_option() {
	one_line_error "run -x" run -x
	grep -q -- '-x' err.txt || fail "the error does not name -x: $(cat err.txt)"
	one_line_error "run -x -- touch ran" run -x -- touch ran
	one_line_error "run -m 5ms -x -- touch ran" run -m 5ms -x -- touch ran
}

test_missing_value() {
	local opt
	one_line_error "run -e" run -e
	grep -q -- '-e' err.txt || fail "the error does not name -e: $(cat err.txt)"
	for opt in -m -o -u --trace --min-duration --output --format --user; do
		one_line_error "run $opt" run "$opt"
		grep -q -- "$opt" err.txt || fail "the error does not name $opt: $(cat err.txt)"
	done
}

# `-m 10 ms`: the unit after a space is not taken as the command (it was:
# `ms: command not found`, 127). The exact line for run and attach, short and
# long option; a number with its unit, or a command after `--`, is untouched.
test_min_duration_unit_word() {
	one_line_error "run -m 10 ms -- touch ran" run -m 10 ms -- touch ran
	expect_eq "$(cat err.txt)" \
		'stallwatch: run: `-m 10 ms`: write `-m 10ms` (a number alone means ms, and `ms` would be the command)'
	one_line_error "run -m 10 ms touch ran" run -m 10 ms touch ran
	expect_eq "$(cat err.txt)" \
		'stallwatch: run: `-m 10 ms`: write `-m 10ms` (a number alone means ms, and `ms` would be the command)'
	one_line_error "run --min-duration 2 sec -- touch ran" run --min-duration 2 sec -- touch ran
	expect_eq "$(cat err.txt)" \
		'stallwatch: run: `--min-duration 2 sec`: write `--min-duration=2s` (a number alone means ms, and `sec` would be the command)'
	one_line_error "run -m1.5 US -- touch ran" run -m1.5 US -- touch ran
	expect_eq "$(cat err.txt)" \
		'stallwatch: run: `-m1.5 US`: write `-m 1.5us` (a number alone means ms, and `US` would be the command)'
	one_line_error "attach -m 10 ms -p 1" attach -m 10 ms -p 1
	expect_eq "$(cat err.txt)" 'stallwatch: attach: `-m 10 ms`: write `-m 10ms` (a number alone means ms)'
	one_line_error "attach -p 1 --min-duration=10 msec" attach -p 1 --min-duration=10 msec
	expect_eq "$(cat err.txt)" \
		'stallwatch: attach: `--min-duration=10 msec`: write `--min-duration=10ms` (a number alone means ms)'
	# not a unit: the usual message
	one_line_error "attach -m 10 foo -p 1" attach -m 10 foo -p 1
	expect_eq "$(cat err.txt)" 'stallwatch: attach: unexpected argument `foo` (use -p PID)'
	# after `--` (or after a value with its unit) `ms` is the command
	sw run -m 10 -- ms >out.txt 2>err.txt
	show err.txt
	expect_rc 127 "status of run -m 10 -- ms"
	expect_eq "$(cat err.txt)" 'stallwatch: ms: command not found'
	sw run -m 10ms ms -- true >out.txt 2>err.txt
	expect_rc 127 "status of run -m 10ms ms -- true"
	expect_eq "$(cat err.txt)" 'stallwatch: ms: command not found'
	# and a real command after a bare number runs
	sw run -m 10 -- touch ran >out.txt 2>err.txt
	expect_rc 0 "status of run -m 10 -- touch ran"
	[ -e ran ] || fail "run -m 10 -- touch ran: the command did not run"
}

# A policy or input file that cannot be read is one line, `stallwatch: FILE:
# cannot read: WHY`, with no position and no summary line, in every command
# that reads one.
test_unreadable_input_files() {
	local want='stallwatch: nope.json: cannot read: No such file or directory'
	sw validate nope.json >out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 1 "status of validate nope.json"
	expect_eq "$(cat err.txt)" "$want" "stderr of validate nope.json"
	[ ! -s out.txt ] || fail "validate nope.json: stdout not empty"
	one_line_error "run --policy nope.json" run --policy nope.json -- touch ran
	expect_eq "$(cat err.txt)" "$want" "stderr of run --policy nope.json"
	one_line_error "attach --policy nope.json" attach --policy nope.json -p $$
	expect_eq "$(cat err.txt)" "$want" "stderr of attach --policy nope.json"
	one_line_error "scan --policy nope.json" scan --policy nope.json
	expect_eq "$(cat err.txt)" "$want" "stderr of scan --policy nope.json"
	mkdir adir
	one_line_error "run --policy adir" run --policy adir -- touch ran
	expect_eq "$(cat err.txt)" "stallwatch: adir: cannot read: Is a directory"
	# --state: a missing file is the first run, a path that cannot be there is
	# an error (exit 1) before scanning (its history must not be replaced)
	touch afile
	sw scan --state afile/st.json -o r.json >out.txt 2>err.txt
	show err.txt
	expect_rc 1 "status of scan --state afile/st.json"
	expect_eq "$(cat err.txt)" "stallwatch: afile/st.json: cannot read: Not a directory"
	[ ! -s r.json ] || fail "scan --state afile/st.json scanned"
	if [ "$(id -u)" != 0 ]; then
		echo '{"version":1}' >locked.json
		chmod 000 locked.json
		sw scan --state locked.json -o r.json >out.txt 2>err.txt
		expect_rc 1 "status of scan --state locked.json"
		expect_eq "$(cat err.txt)" "stallwatch: locked.json: cannot read: Permission denied"
	fi
	:
}

# scan --state FILE that cannot be written: exit 1 after the scan (its records
# are written), and the line names FILE, not its temporary file.
test_state_unwritable() {
	sw scan --state nodir/st.json -o r.json >out.txt 2>err.txt
	show err.txt r.json
	expect_rc 1 "status of scan --state nodir/st.json"
	expect_eq "$(cat err.txt)" "stallwatch: nodir/st.json: cannot write: No such file or directory"
	expect_eq "$(jq_count r.json '.event.action == "host-scan"')" 1 "host-scan records"
	# --interval: said once, scanning goes on, and the status is still 1
	rm -f r.json
	sw scan --interval 100ms --count 3 --state nodir/st.json -o r.json >out.txt 2>err.txt
	show err.txt
	expect_rc 1 "status of scan --interval --state nodir/st.json"
	expect_eq "$(cat err.txt)" "stallwatch: nodir/st.json: cannot write: No such file or directory"
	expect_eq "$(jq_count r.json '.event.action == "host-scan"')" 3 "host-scan records (--count 3)"
	# root ignores permission bits: a directory of /proc cannot hold a file for anyone
	sw scan --state /proc/self/sw-test.state -o r.json >out.txt 2>err.txt
	show err.txt
	expect_rc 1 "status of scan --state /proc/self/sw-test.state"
	grep -q '^stallwatch: /proc/self/sw-test\.state: cannot write: [A-Z]' err.txt ||
		fail "stderr: $(cat err.txt)"
	expect_eq "$(wc -l <err.txt)" 1 "stderr lines"
	if [ "$(id -u)" != 0 ]; then
		mkdir ro && chmod 555 ro
		sw scan --state ro/st.json -o r.json >out.txt 2>err.txt
		expect_rc 1 "status of scan --state ro/st.json"
		expect_eq "$(cat err.txt)" "stallwatch: ro/st.json: cannot write: Permission denied"
	fi
	:
}

# policy_error WHAT WANT ARG...: stallwatch ARG... exits 2 with exactly the
# stderr line WANT (a policy diagnostic), nothing on stdout; `touch ran` did
# not run.
policy_error() {
	local what=$1 want=$2
	shift 2
	rm -f ran
	sw "$@" >out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 2 "status of stallwatch $what"
	expect_eq "$(cat err.txt)" "$want" "stderr of stallwatch $what"
	[ ! -s out.txt ] || fail "stallwatch $what: stdout not empty"
	[ ! -e ran ] || fail "stallwatch $what: the command ran"
	:
}

# A key typo in a rule or target is an error at load too (it used to be a
# warning, and the rule then matched every call); a path glob that can only
# match a relative path is a warning, and the policy is used.
test_policy_key_typo() {
	local want='typo.json:1:45: error[unknown-key]: unknown key `syscals` in rule `r`: did you mean `syscalls`?'
	echo '{"rules":[{"name":"r","min_duration":"10ms","syscals":["read"]}]}' >typo.json
	policy_error "run --policy typo.json" "$want" run --policy typo.json -- touch ran
	policy_error "attach --policy typo.json" "$want" attach --policy typo.json -p $$
	echo '{"targets":{"t":{"pid":1,"chidren":true}},"rules":[{"name":"r","min_duration":"1s","targets":["t"]}]}' >t.json
	policy_error "run --policy t.json" \
		't.json:1:26: error[unknown-key]: unknown key `chidren` in target `t`: did you mean `children`?' \
		run --policy t.json -- touch ran
	echo '{"rules":[{"name":"r","min_duration":"10s","paths":["memory.stat"]}]}' >rel.json
	sw run --policy rel.json -- touch ran >out.txt 2>err.txt
	show err.txt
	expect_rc 0 "status of run --policy rel.json"
	[ -e ran ] || fail "run --policy rel.json: the command did not run"
	expect_eq "$(cat err.txt)" \
		'rel.json:1:53: warning[relative-path]: path pattern `memory.stat` can match only a relative path argument: paths of fds and absolute paths start with `/`; did you mean `*/memory.stat`?'
}

# --metrics-file not named *.prom: one warning line, and the work goes on
# (the file is written all the same).
test_metrics_file_not_prom() {
	sw scan --metrics-file m.txt -o r.json >out.txt 2>err.txt
	show err.txt
	expect_rc 0 "status of scan --metrics-file m.txt"
	expect_eq "$(cat err.txt)" \
		"stallwatch: warning: --metrics-file m.txt: node_exporter's textfile collector reads only files named *.prom"
	grep -q '^stallwatch_' m.txt || fail "m.txt was not written"
	expect_eq "$(jq_count r.json '.event.action == "host-scan"')" 1 "host-scan records"
	sw run --metrics-file m.prom.tmp -o r.json -- touch ran >out.txt 2>err.txt
	expect_rc 0 "status of run --metrics-file m.prom.tmp"
	expect_eq "$(cat err.txt)" \
		"stallwatch: warning: --metrics-file m.prom.tmp: node_exporter's textfile collector reads only files named *.prom"
	[ -e ran ] || fail "run --metrics-file m.prom.tmp: the command did not run"
	sw scan --metrics-file m.prom -o r.json >out.txt 2>err.txt
	expect_rc 0 "status of scan --metrics-file m.prom"
	expect_eq "$(cat err.txt)" "" "stderr of scan --metrics-file m.prom"
}

# -p takes digits only: ` 5` was taken (strtol skips blanks) while `5 ` was
# refused; both are one line now, as are `+5` and an empty value.
test_pid_digits_only() {
	local v
	for v in " $$" "$$ " "+$$" "" "$$x" "0x10"; do
		one_line_error "attach -p '$v'" attach -p "$v"
		expect_eq "$(cat err.txt)" "stallwatch: attach: -p \`$v\`: not a process id"
	done
}

# A selector that is empty or only whitespace is a usage error (exit 2):
# `--cgroup ''` selected every process on the host; `--cgroup ' '` was
# "no process matches" (exit 1).
test_blank_selectors() {
	local opt v
	for opt in --cgroup --exe --name; do
		one_line_error "attach $opt ''" attach "$opt" ''
		expect_eq "$(cat err.txt)" "stallwatch: attach: $opt must not be empty"
		for v in ' ' '   ' "$(printf '\t')" "$(printf ' \n ')"; do
			one_line_error "attach $opt '$v'" attach "$opt" "$v" --dry-run
			expect_eq "$(cat err.txt)" "stallwatch: attach: $opt must not be only whitespace"
		done
	done
	# with -p too: the selector is still refused, nothing is attached
	one_line_error "attach -p \$\$ --cgroup ' '" attach -p $$ --cgroup ' '
}

# The records' stream closed (attach >&-, run 2>&-) and no -o: they went to
# the /dev/null placeholder, exit 0, no word. Now exit 2 before anything
# starts, one line on the other stream; -o makes it fine.
test_closed_record_stream() {
	local tgt
	t_bg "$HELPERS/sleeper" 5000 s.txt
	tgt=$BGPID
	wait_for 'grep -q ^pid s.txt' 5 || fail "sleeper did not start"
	sw attach -p "$tgt" >&- 2>err.txt
	show err.txt
	expect_rc 2 "status of attach >&-"
	expect_eq "$(cat err.txt)" \
		'stallwatch: attach: stdout is closed and the records would go there: give -o FILE (-o /dev/null discards them)'
	expect_eq "$(awk '$1 == "TracerPid:" { print $2 }' "/proc/$tgt/status")" 0 "TracerPid of the target"
	sw attach -p "$tgt" --dry-run >&- 2>err.txt
	expect_rc 2 "status of attach --dry-run >&-"
	expect_eq "$(cat err.txt)" 'stallwatch: attach: stdout is closed and the --dry-run list would go there'
	rm -f ran
	sw run -- touch ran >out.txt 2>&-
	show out.txt
	expect_rc 2 "status of run 2>&-"
	expect_eq "$(cat out.txt)" \
		'stallwatch: run: stderr is closed and the records would go there: give -o FILE (-o /dev/null discards them)'
	[ ! -e ran ] || fail "run 2>&-: the command ran"
	# nowhere to say it: still exit 2, nothing runs
	sw run -- touch ran >&- 2>&-
	expect_rc 2 "status of run >&- 2>&-"
	[ ! -e ran ] || fail "run >&- 2>&-: the command ran"
	# -o: the records have somewhere to go
	sw run -m 0 -e nanosleep,clock_nanosleep -o r.json -- sh -c 'sleep 0.05; touch ran' >out.txt 2>&-
	expect_rc 0 "status of run -o r.json 2>&-"
	[ -e ran ] || fail "run -o r.json 2>&-: the command did not run"
	[ "$(jq_count r.json 'name == "nanosleep" or name == "clock_nanosleep"')" -ge 1 ] ||
		fail "no sleep record in r.json"
	# stdout closed under run, stderr closed under attach: records are fine
	sw run -- touch ran2 >&- 2>err.txt
	expect_rc 0 "status of run >&-"
	[ -e ran2 ] || fail "run >&-: the command did not run"
	kill "$tgt"
}

# A -e regex whose compilation has no bound (/x{32767}{32767} grew to 6 GB
# before regcomp() failed) is one line and exit 2, quickly, in bounded memory.
test_regex_too_big() {
	local re start ms
	for re in '/x{32767}{32767}' '/((.*)*|(.?)*){24}'; do
		start=$(now_ms)
		# an unbounded regcomp() would fail here against the 1 GiB limit instead
		# (sanitizer builds reserve terabytes up front: no limit for them)
		case $STALLWATCH in
		*/asan/*) one_line_error "run -e '$re'" run -e "$re" -- touch ran ;;
		*) (
			ulimit -v 1048576
			one_line_error "run -e '$re'" run -e "$re" -- touch ran
		) || exit 1 ;;
		esac
		ms=$(($(now_ms) - start))
		expect_eq "$(cat err.txt)" \
			"stallwatch: -e \`$re\`: bad regex \`$re\`: too big to compile (more than 64 MiB or 1 s of CPU)"
		[ "$ms" -lt 20000 ] || fail "run -e '$re' took $ms ms"
	done
	# a long but ordinary regex still works (it is compiled in a child)
	sw run -m 0 -e '/^(nanosleep|clock_nanosleep|read|write|openat|close|fstat|lseek|mmap|brk)$' \
		-o r.json -- sleep 0.05 >out.txt 2>err.txt
	show err.txt
	expect_rc 0 "status of run with a long regex"
	[ "$(jq_count r.json 'name == "nanosleep" or name == "clock_nanosleep"')" -ge 1 ] ||
		fail "no sleep record with a long regex"
}

test_watch_usage() {
	# who watch watches comes from the policy: an argument is a usage error
	one_line_error "watch ARG" watch --backend=bpf "./ran"
	one_line_error "watch --summary" watch --summary
	one_line_error "watch --max-targets -1" watch --max-targets -1
}

test_no_arguments() {
	sw >out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 2 "status of stallwatch without arguments"
	[ -s err.txt ] || fail "nothing on stderr"
	[ ! -s out.txt ] || fail "stdout not empty"
	:
}

test_version_only() {
	sw --version >out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 0
	expect_eq "$(wc -l <out.txt)" 1 "stdout lines"
	grep -q '^stallwatch [0-9]' out.txt || fail "--version line: $(cat out.txt)"
	[ ! -s err.txt ] || fail "stderr not empty"
	:
}

t_run unknown_short_option test_unknown_short_option
t_run missing_value test_missing_value
t_run min_duration_unit_word test_min_duration_unit_word
t_run unreadable_input_files test_unreadable_input_files
t_run state_unwritable test_state_unwritable
t_run policy_key_typo test_policy_key_typo
t_run metrics_file_not_prom test_metrics_file_not_prom
t_run pid_digits_only test_pid_digits_only
t_run blank_selectors test_blank_selectors
t_run closed_record_stream test_closed_record_stream
t_run regex_too_big test_regex_too_big
t_run watch_usage test_watch_usage
t_run no_arguments test_no_arguments
t_run version_only test_version_only
t_done
