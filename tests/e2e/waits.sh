#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Stalls, not waits (doc/policy.md, "Waits are not stalls"): a daemon of
# ours (tests/helpers/idled) idles in epoll_wait, a futex wait, reads of a
# socket and a pipe, accept, and a userfaultfd handler, and makes one read of
# a file that stalls 300 ms in the kernel. The pure default reports that read
# and nothing else, under run and attach; -m and -e say exactly what they ask
# for, %wait included.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
t_backends ptrace bpf
H=$HELPERS

# idled's waits, as stallwatch names them (the read of the stalled file is not one)
IDLE_SEL='.stallwatch.syscall.wait == true'

# run_idled FILE [SW OPTION...]: run idled under stallwatch; rec.json, out.txt.
run_idled() {
	local file=$1
	shift
	sw run "$@" -o rec.json -- "$H/idled" out.txt "$file" 300 1200 2>err.txt
	show out.txt err.txt rec.json
	[ "$RC" = 77 ] && skip "userfaultfd is not available: $(cat err.txt)"
	expect_rc 0
	grep -q '^slow_read ' out.txt || fail "idled made no slow read"
}

# only_the_read FILE RULE: rec.json holds the stalled read of FILE, from RULE,
# and nothing else.
only_the_read() {
	local sel="name == \"read\" and sc.fd_path == \"$1\""
	expect_eq "$(jq_count rec.json "$sel and slow")" 1 "slow records of the read of $1"
	expect_eq "$(jq_get rec.json "$sel and slow" .rule.name)" "$2" "the read's rule"
	expect_eq "$(jq_count rec.json "$sel and .stallwatch.syscall.wait")" 0 "the read marked as a wait"
	expect_tol "$(jq_get rec.json "$sel and slow" .event.duration)" \
		"$(awk '/^slow_read/ { printf "%d", $2 * 1000000 }' out.txt)" "the read's duration vs idled's"
	expect_eq "$(jq_count rec.json "($sel) | not")" 0 "other records"
}

test_pure_default_run() {
	echo data >file.txt
	run_idled "$PWD/file.txt" --metrics-file m.prom
	only_the_read "$PWD/file.txt" slow-call
	# the one stuck record allowed per call comes from the same rule
	expect_eq "$(jq_count rec.json 'stuck and .rule.name == "slow-call"')" 1 "stuck records"
	# bpf decides %wait in the kernel: the userfaultfd handler's 300 ms read (a wait
	# the default's cgroup-file rules cannot take: its link has no '/') never left it;
	# idled's other waits last until it exits and never complete
	local kept
	kept=$(awk '/^stallwatch_calls_filtered_in_kernel_total/ { print $2 }' m.prom)
	if backend_is bpf; then
		[ "${kept:-0}" -ge 1 ] || fail "calls kept in the kernel: '$kept', want >= 1"
	else
		expect_eq "$kept" 0 "calls kept in the kernel (not bpf)"
	fi
}

test_pure_default_attach() {
	echo data >file.txt
	t_bg "$H/idled" out.txt "$PWD/file.txt" 1500 800
	local tgt=$BGPID
	wait_for 'grep -q ^ready out.txt || ! proc_alive '"$tgt" 5
	grep -q ^ready out.txt || {
		t_wait "$tgt" 5
		[ "$RC" = 77 ] && skip "userfaultfd is not available"
		fail "idled did not start"
	}
	t_bg "$STALLWATCH" attach -p "$tgt" >rec.json 2>err.txt
	local swpid=$BGPID
	wait_for "grep -q '^done' out.txt" 15 || fail "idled did not finish"
	t_wait "$tgt" 10
	expect_rc 0 "idled's status"
	t_wait "$swpid" 10
	show err.txt rec.json out.txt
	expect_rc 0 "stallwatch's status once its target exited"
	grep -q "^stallwatch: attached $tgt (idled) with 7 threads" err.txt || fail "no attach line"
	only_the_read "$PWD/file.txt" slow-call
}

# A read of memory.stat (the root memcg's, only read) that stalls: the
# default's incident rule, not the catch-all.
test_pure_default_cgroup_file() {
	local f=/sys/fs/cgroup/memory/memory.stat
	[ -r "$f" ] || f=/sys/fs/cgroup/unified/cgroup.stat
	[ -r "$f" ] || skip "no memory.stat or cgroup.stat to read"
	run_idled "$f"
	only_the_read "$f" cgroup-stat-read-critical
}

# -m alone: the command-line rule watches every call, waits included
# (strace -T and perf trace --duration users expect that).
test_m_includes_waits() {
	echo data >file.txt
	run_idled "$PWD/file.txt" -m 100ms
	local w
	for w in epoll_wait futex accept; do
		[ "$(jq_count rec.json "name == \"$w\" and $IDLE_SEL")" -ge 1 ] || fail "no record of the $w wait"
	done
	[ "$(jq_count rec.json 'name == "read" and (sc.fd_path | startswith("pipe:")) and .stallwatch.syscall.wait')" -ge 1 ] ||
		fail "no record of the pipe read"
	[ "$(jq_count rec.json 'name == "read" and (sc.fd_path | startswith("socket:")) and .stallwatch.syscall.wait')" -ge 1 ] ||
		fail "no record of the socket read"
	expect_eq "$(jq_count rec.json "name == \"read\" and sc.fd_path == \"$PWD/file.txt\" and slow")" 1 "the file read"
	expect_eq "$(jq_count rec.json '.rule.name != "command-line"')" 0 "records of other rules"
}

# -e %wait: only the waits; -e '!%wait': only the read, decided per call.
test_e_wait() {
	echo data >file.txt
	run_idled "$PWD/file.txt" -e %wait -m 100ms
	[ "$(jq_count rec.json "$IDLE_SEL")" -ge 5 ] || fail "fewer than 5 wait records"
	expect_eq "$(jq_count rec.json "($IDLE_SEL) | not")" 0 "records that are not waits"
}

test_e_not_wait() {
	echo data >file.txt
	run_idled "$PWD/file.txt" -e '!%wait' -m 100ms
	only_the_read "$PWD/file.txt" command-line
}

# --no-default-policy keeps its meaning: the command-line rule alone, every
# call at 10 ms, waits included.
test_no_default_policy() {
	sw run --no-default-policy -o rec.json -- "$H/sleeper" 200 out.txt 2>err.txt
	show rec.json err.txt
	expect_rc 0
	expect_eq "$(jq_count rec.json 'name == "nanosleep" and slow and .rule.name == "command-line"')" 1 \
		"the sleep's record"
}

# A policy given with --policy is never rewritten: its own `slow-call`
# (every call, waits included) stays beside -m.
test_policy_not_rewritten() {
	cat >p.json <<-'EOF'
		{"version": 1, "rules": [{"name": "slow-call", "min_duration": "50ms", "severity": "notice"}]}
	EOF
	sw run --policy p.json -m 10s -o rec.json -- "$H/sleeper" 200 out.txt 2>err.txt
	show rec.json err.txt
	expect_rc 0
	expect_eq "$(jq_count rec.json 'name == "nanosleep" and slow and .rule.name == "slow-call"')" 1 \
		"the policy's slow-call record of the sleep"
}

# make demo's workload: its sleep and late pipe read are waits, so the pure
# default gives no record of them (its inotify_add_watch stall is the
# default's watch-setup-slow record, unless the tracer's own wait for a CPU
# on a busy host explains it away, so that one is not asserted here).
test_demo_waits() {
	local demo=$TOP/build/demo_workload
	[ -x "$demo" ] || skip "build/demo_workload is not built (make helpers)"
	mkdir dir
	"$demo" --prepare "$PWD/dir" >prep.txt || fail "demo --prepare failed"
	sw run -o rec.json -- "$demo" "$PWD/dir" >out.txt 2>err.txt
	show prep.txt out.txt err.txt rec.json
	expect_rc 0
	[ -d dir ] && fail "the demo did not remove its directory"
	grep -q '^demo: nanosleep(200 ms) took' out.txt || fail "the demo did not sleep"
	expect_eq "$(jq_count rec.json '.stallwatch.syscall.wait or name == "nanosleep" or name == "read"')" 0 \
		"records of the demo's waits"
	expect_eq "$(jq_count rec.json '(name == "inotify_add_watch" or name == "rmdir") | not')" 0 \
		"records of other calls"
}

t_run pure_default_run test_pure_default_run
t_run pure_default_attach test_pure_default_attach
t_run pure_default_cgroup_file test_pure_default_cgroup_file
t_run m_includes_waits test_m_includes_waits
t_run e_wait test_e_wait
t_run e_not_wait test_e_not_wait
t_run no_default_policy test_no_default_policy
t_run policy_not_rewritten test_policy_not_rewritten
t_run demo_waits test_demo_waits
t_done
