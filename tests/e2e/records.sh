#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# records.sh - record fields for less common cases: process.cgroup as the
# command's own /proc/self/cgroup, -m 0 (no stuck records), event.start of
# stuck/slow pairs, the vfork note of posix_spawn's clone3, the path of a
# slow openat on a FIFO; and a script without #! (run via /bin/sh like
# execvp(3) does).
. "$(dirname "$0")/lib.sh"

H=$HELPERS

# /proc/PID/cgroup lines -> the JSON array process.cgroup must be:
# v2 "0::PATH" -> "PATH", v1 "ID:CONTROLLERS:PATH" -> "CONTROLLERS:PATH".
cgroup_expected() {
	jq -R -s -c 'split("\n") | map(select(length > 0)
		| if startswith("0::") then .[3:] else sub("^[0-9]+:"; "") end)' "$1"
}

test_cgroup() {
	local want pid
	# the shell dumps its own cgroup file, then becomes the sleeper (same pid)
	sw run -m 100ms -e nanosleep -o rec.json -- sh -c 'cat /proc/$$/cgroup >cg.txt; exec "$0" 300 out.txt' \
		"$H/sleeper" 2>err.txt
	show cg.txt out.txt rec.json err.txt
	expect_rc 0
	[ -s cg.txt ] || fail "no /proc/PID/cgroup dump"
	pid=$(hval out.txt pid)
	want=$(cgroup_expected cg.txt)
	echo "want $want"
	expect_eq "$(jq_count rec.json "slow and .process.pid == $pid")" 1 "slow records"
	expect_eq "$(jq_count rec.json "stuck and .process.pid == $pid")" 1 "stuck records"
	expect_eq "$(jq_get rec.json "slow and .process.pid == $pid" '.process.cgroup | tojson')" "$want" \
		"process.cgroup of the slow record"
	expect_eq "$(jq_get rec.json "stuck and .process.pid == $pid" '.process.cgroup | tojson')" "$want" \
		"process.cgroup of the stuck record"
}

# -m 0: every call is reported once, when it returns; "stuck at once" would
# only double the records.
test_m0_no_stuck() {
	sw run -m 0 -e nanosleep -o rec.json -- "$H/sleeper" 300 out.txt 2>err.txt
	show out.txt rec.json err.txt
	expect_rc 0
	expect_eq "$(jq_count rec.json 'name == "nanosleep" and slow')" 1 "slow-syscall records"
	expect_eq "$(jq_count rec.json stuck)" 0 "stuck-syscall records"
	expect_eq "$(jq_get rec.json slow .stallwatch.threshold_ns)" 0 "threshold_ns"
	expect_tol "$(jq_get rec.json slow .event.duration)" "$(hval out.txt nanosleep)" "duration"
}

# Several threads, each with one stuck and one slow record: the two records
# of one call carry the same event.start (one start, one wall clock offset).
test_stuck_slow_same_start() {
	local tid s1 s2
	sw run -m 100ms -e nanosleep -o rec.json -- "$H/threads" 4 400 out.txt 2>err.txt
	show out.txt rec.json err.txt
	expect_rc 0
	expect_eq "$(jq_count rec.json stuck)" 4 "stuck-syscall records"
	expect_eq "$(jq_count rec.json slow)" 4 "slow-syscall records"
	for tid in $(jq_get rec.json slow .process.thread.id); do
		s1=$(jq_get rec.json "stuck and .process.thread.id == $tid" .event.start)
		s2=$(jq_get rec.json "slow and .process.thread.id == $tid" .event.start)
		[ -n "$s1" ] && [ "$s1" = "$s2" ] || fail "thread $tid: stuck event.start '$s1', slow '$s2'"
	done
}

# posix_spawn(3) (clone3 with CLONE_VFORK in glibc >= 2.34, else clone):
# the parent waits as long as the child takes to exec, and its record says so.
test_posix_spawn_note() {
	local ppid sel
	mkfifo fifo || skip "mkfifo failed"
	sw run -m 100ms -e clone,clone3,vfork -o rec.json -- "$H/spawner" "$TD/fifo" 300 out.txt 2>err.txt
	show out.txt rec.json err.txt
	expect_rc 0
	grep -q '^spawn [0-9]* ret 0 ' out.txt || fail "posix_spawn failed"
	ppid=$(hval out.txt pid)
	sel="slow and (name == \"clone3\" or name == \"clone\" or name == \"vfork\") and .process.pid == $ppid"
	expect_eq "$(jq_count rec.json "$sel")" 1 "the parent's clone3/clone/vfork slow records"
	echo "call: $(jq_get rec.json "$sel" name)"
	expect_eq "$(jq_get rec.json "$sel" .stallwatch.syscall.note)" "waiting for vfork child" \
		"stallwatch.syscall.note of $(jq_get rec.json "$sel" name)"
	expect_tol "$(jq_get rec.json "$sel" .event.duration)" "$(hval out.txt spawn)" \
		"duration vs the parent's own posix_spawn time"
	expect_eq "$(jq_get rec.json "$sel" .stallwatch.syscall.ret)" "$(hval out.txt spawn 6)" \
		"ret (the child's pid)"
}

# noshebang_run RUNNER...: run ./noshebang a 'b c' under RUNNER; rc in RC.
NOSHEBANG='printf "%s|" "$0" "$#" "$@" >>args.txt; echo >>args.txt; exit 6'

# A file without #!: execve fails with ENOEXEC and execvp(3) runs it with
# /bin/sh; stallwatch does the same (same status, same $0 and arguments).
test_no_shebang() {
	printf '%s\n' "$NOSHEBANG" >noshebang
	chmod 755 noshebang
	t_bg "$H/launcher" -- ./noshebang a 'b c'
	t_wait "$BGPID" 10
	expect_rc 6 "control: execvp status"
	sw run -o rec.json -- ./noshebang a 'b c' 2>err.txt
	show args.txt err.txt
	expect_rc 6 "stallwatch's status"
	[ ! -s err.txt ] || fail "stallwatch wrote to stderr: $(head -n 2 err.txt)"
	expect_eq "$(grep -c . args.txt)" 2 "runs of the script"
	expect_eq "$(sed -n 2p args.txt)" "$(sed -n 1p args.txt)" "\$0 and arguments vs execvp"
	# found through PATH, too
	mkdir -p bin && mv noshebang bin/
	: >args.txt
	t_bg env PATH="$TD/bin:$PATH" "$H/launcher" -- noshebang x
	t_wait "$BGPID" 10
	expect_rc 6 "control: execvp status (PATH)"
	PATH="$TD/bin:$PATH" sw run -o rec.json -- noshebang x 2>err.txt
	show args.txt err.txt
	expect_rc 6 "stallwatch's status (PATH)"
	expect_eq "$(sed -n 2p args.txt)" "$(sed -n 1p args.txt)" "\$0 and arguments vs execvp (PATH)"
}

# openat() of a FIFO blocks until a writer comes: its record carries the
# FIFO's path, and no fd_path (the dirfd is AT_FDCWD).
test_fifo_openat_path() {
	local pid sel fifo=$TD/fifo swpid
	mkfifo "$fifo" || skip "mkfifo failed"
	t_bg "$STALLWATCH" run -m 100ms -e openat -o rec.json -- "$H/fifo_open" "$fifo" out.txt 2>err.txt
	swpid=$BGPID
	wait_for 'grep -q ^opening out.txt' 10 || fail "fifo_open did not start"
	t_track "$(hval out.txt pid)"
	sleep 0.2
	t_bg sh -c 'echo hello >"$1"' sh "$fifo"
	t_wait "$BGPID" 10
	t_wait "$swpid" 10
	show out.txt rec.json err.txt
	expect_rc 0
	pid=$(hval out.txt pid)
	sel="name == \"openat\" and slow and .process.pid == $pid"
	expect_eq "$(jq_count rec.json "$sel")" 1 "slow openat records"
	expect_eq "$(jq_get rec.json "$sel" .stallwatch.syscall.path)" "$fifo" "stallwatch.syscall.path"
	expect_eq "$(jq_get rec.json "$sel" '.stallwatch.syscall | has("fd_path")')" false \
		"fd_path present (dirfd AT_FDCWD)"
	# doc/schema.md: a 32-bit int register has a zero upper half
	expect_eq "$(jq_get rec.json "$sel" '.stallwatch.syscall.args[0]')" 4294967196 "args[0] (AT_FDCWD)"
	expect_eq "$(jq_get rec.json "$sel" .stallwatch.syscall.ret)" "$(hval out.txt open 4)" "ret (the fd)"
	expect_tol "$(jq_get rec.json "$sel" .event.duration)" "$(hval out.txt open)" "duration"
	expect_eq "$(jq_get rec.json "stuck and .process.pid == $pid" .stallwatch.syscall.path)" "$fifo" \
		"the stuck record's path"
}

# t_run_ptrace (lib.sh): pinned to --backend=ptrace where the expectation is
# ptrace's: the vfork note and close()'s fd path are read while the call is
# stopped; under bpf, after it (the fd is gone).
t_run cgroup test_cgroup
t_run m0_no_stuck test_m0_no_stuck
t_run stuck_slow_same_start test_stuck_slow_same_start
t_run_ptrace posix_spawn_note test_posix_spawn_note
# close() takes its fd away: the path is read at entry and must reach the record.
test_close_fd_path() {
	sw run -m 0 -e close -o rec.json -- cat /etc/hostname >/dev/null 2>err.txt
	show err.txt rec.json
	expect_rc 0
	expect_eq "$(jq_count rec.json 'slow and name == "close" and sc.fd_path == "/etc/hostname"')" 1 \
		"close records naming /etc/hostname"
}

t_run no_shebang test_no_shebang
t_run fifo_openat_path test_fifo_openat_path
t_run_ptrace close_fd_path test_close_fd_path
t_done
