#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# attach_selectors.sh - `attach --name/--exe/--cgroup` never pick stallwatch,
# a traced process, a tracer or a kernel thread, and say what they left
# out; --dry-run lists what would be watched; a pid given with -p is always
# tried; a --name longer than the kernel's 15 characters, a process another
# user owns and a kernel thread each get one clear line. Every message is
# compared whole.
#
# Processes are ours: started by the test, in a cgroup the test makes
# (stallwatch-test-PID, v1 pids or v2) and removes.
. "$(dirname "$0")/lib.sh"

H=$HELPERS
NEEDS_ROOT="; attaching needs root or CAP_SYS_PTRACE"

# sw_attach ARG...: `stallwatch attach ARG...` in the background, stdout to
# rec.json, stderr to err.txt; pid in $SWPID.
sw_attach() {
	t_bg "$STALLWATCH" attach "$@" >rec.json 2>err.txt
	SWPID=$BGPID
}

# wait_ready PID [ERRFILE]: the ready line for PID shows up within 10 s.
wait_ready() {
	local f=${2:-err.txt} re="^stallwatch: attached $1 \(.*\) with [0-9]+ threads\$"
	wait_for "grep -qE '$re' '$f' || ! proc_alive $SWPID" 10
	grep -qE "$re" "$f" && return 0
	show "$f"
	fail "no ready line for $1"
}

stop_sw() {
	kill -TERM "${1:-$SWPID}" 2>/dev/null
	t_wait "${1:-$SWPID}" 10
}

pstat() { awk -v k="$2:" '$1 == k { print $2; exit }' "/proc/$1/status" 2>/dev/null; }

# expect_stderr FILE LINE: FILE holds exactly LINE.
expect_stderr() {
	show "$1"
	expect_eq "$(cat "$1")" "$2" "stderr"
}

# expect_rows FILE PID...: a --dry-run list: the header, then one row per
# PID, in this order.
expect_rows() {
	local f=$1
	shift
	show "$f"
	expect_eq "$(head -n 1 "$f" | tr -s ' ')" "PID THREADS COMM EXE MATCHED" "dry-run header"
	expect_eq "$(tail -n +2 "$f" | awk '{ print $1 }' | tr '\n' ' ')" "${*:+$* }" "pids listed"
}

# row FILE PID: the row of PID, fields separated by one space.
row() { awk -v p="$2" 'NR > 1 && $1 == p' "$1" | tr -s ' '; }


# cg_bg CMD...: t_bg CMD in our cgroup (it moves itself, then execs CMD).
cg_bg() {
	t_bg sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CGDIR" "$@"
}

# ---- tests ---------------------------------------------------------------------

# In one cgroup: a plain target, another stallwatch and the process it
# traces, a strace and the process it traces, and a "bpftrace". --cgroup
# picks the target alone, says on one line what it left out and why, and
# leaves the others as they were; --dry-run lists the same and attaches
# nothing.
test_cgroup_leaves_out() {
	local a b c d sw2 st line
	cg_make
	command -v strace >/dev/null || skip "strace is missing"
	cp "$H/sleeper" swsel-a
	cp "$H/sleeper" bpftrace # by name: bpftrace itself need not be installed
	cg_bg ./swsel-a 20000 a.txt
	a=$BGPID
	cg_bg "$H/sleeper" 20000 b.txt
	b=$BGPID
	cg_bg "$H/sleeper" 20000 c.txt
	c=$BGPID
	cg_bg ./bpftrace 20000 d.txt
	d=$BGPID
	wait_for 'grep -q ^pid a.txt && grep -q ^pid b.txt && grep -q ^pid c.txt && grep -q ^pid d.txt' 5 ||
		fail "sleepers did not start"
	cg_bg "$STALLWATCH" attach -p "$b" >sw2.json 2>sw2.txt
	sw2=$BGPID
	SWPID=$sw2 wait_ready "$b" sw2.txt
	cg_bg strace -o /dev/null -p "$c" 2>strace.txt
	st=$BGPID
	wait_for '[ "$(pstat "$c" TracerPid)" = "$st" ]' 5 || fail "strace did not attach to $c"
	grep -q "^$sw2\$" "$CGDIR/cgroup.procs" || fail "the second stallwatch is not in $CGDIR"

	line="stallwatch: attach: left out 5 matching processes: 1 stallwatch, 2 tracers (bpftrace, strace), 2 already traced (by pids $(printf '%s\n' "$sw2" "$st" | sort -n | sed -n '1p'), $(printf '%s\n' "$sw2" "$st" | sort -n | sed -n '2p'))"
	sw attach --dry-run --cgroup "$CG" >list.txt 2>err.txt
	expect_rc 0 "--dry-run's status"
	expect_stderr err.txt "$line"
	expect_rows list.txt "$a"
	expect_eq "$(row list.txt "$a")" "$a 1 swsel-a $PWD/swsel-a --cgroup $CG_ENTRY" "the target's row"
	expect_eq "$(pstat "$a" TracerPid)" 0 "the target's TracerPid after --dry-run"

	sw_attach --cgroup "$CG"
	wait_ready "$a"
	sleep 0.3
	show err.txt
	expect_eq "$(head -n 1 err.txt)" "$line" "first stderr line"
	expect_eq "$(grep -c '^stallwatch: attached ' err.txt)" 1 "ready lines"
	expect_eq "$(pstat "$a" TracerPid)" "$SWPID" "the target's TracerPid"
	expect_eq "$(pstat "$b" TracerPid)" "$sw2" "TracerPid of the other stallwatch's target"
	expect_eq "$(pstat "$c" TracerPid)" "$st" "TracerPid of strace's target"
	expect_eq "$(pstat "$d" TracerPid)" 0 "bpftrace's TracerPid"
	expect_eq "$(pstat "$sw2" TracerPid)" 0 "the other stallwatch's TracerPid"
	expect_eq "$(pstat "$st" TracerPid)" 0 "strace's TracerPid"
	stop_sw
	expect_rc 0 "stallwatch's status after SIGTERM"
}

# A pid given with -p is always tried, even a tracer; --dry-run lists pid,
# threads, comm, exe and "-p" (also "--name" when a selector chose it too),
# traces nothing and opens no -o file.
test_dry_run_pids() {
	local a b
	t_bg "$H/mtcount" flag 20000 3 a.txt
	a=$BGPID
	cp "$H/sleeper" strace
	t_bg ./strace 20000 b.txt
	b=$BGPID
	wait_for 'grep -q ^ready a.txt && grep -q ^pid b.txt' 5 || fail "helpers did not start"
	sw attach --dry-run -o never.json -p "$a" -p "$b" >list.txt 2>err.txt
	expect_rc 0 "--dry-run's status"
	expect_stderr err.txt ""
	expect_rows list.txt "$a" "$b"
	expect_eq "$(row list.txt "$a")" "$a 4 mtcount $(readlink -f "$H/mtcount") -p" "row of -p $a"
	expect_eq "$(row list.txt "$b")" "$b 1 strace $PWD/strace -p" "row of -p $b"
	[ ! -e never.json ] || fail "--dry-run created the -o file"
	expect_eq "$(pstat "$a" TracerPid)" 0 "TracerPid of $a after --dry-run"
	sw attach --dry-run -p "$a" --name mtcount >list.txt 2>err.txt
	expect_rc 0 "--dry-run's status with -p and --name"
	expect_eq "$(row list.txt "$a")" "$a 4 mtcount $(readlink -f "$H/mtcount") -p, --name" "row of $a"
	# --name strace would leave it out; -p attaches it
	sw_attach -p "$b"
	wait_ready "$b"
	expect_eq "$(pstat "$b" TracerPid)" "$SWPID" "TracerPid of the tracer given with -p"
	stop_sw
	expect_rc 0 "stallwatch's status after SIGTERM"
}

# The kernel keeps 15 characters of a comm: a longer --name is a usage
# error that suggests the first 15 (validate says the same of a policy);
# those 15, or a glob, find the process.
test_name_too_long() {
	local long="swsel-$BASHPID-node-exporter" short tgt
	short=${long:0:15}
	cp "$H/sleeper" "$long"
	t_bg "./$long" 20000 a.txt
	tgt=$BGPID
	wait_for 'grep -q ^pid a.txt' 5 || fail "sleeper did not start"
	expect_eq "$(cat "/proc/$tgt/comm")" "$short" "the kernel's comm"
	sw attach --name "$long" >rec.json 2>err.txt
	expect_rc 2
	expect_stderr err.txt "stallwatch: attach: --name \`$long\` can never match: the kernel keeps 15 characters (TASK_COMM_LEN); use \`$short\` or a glob"
	sw attach --dry-run --name "$short" >list.txt 2>err.txt
	expect_rc 0
	expect_rows list.txt "$tgt"
	sw attach --dry-run --name "${short:0:10}*" >list.txt 2>err.txt
	expect_rc 0
	expect_rows list.txt "$tgt"
	printf '{ "version": 1, "targets": { "t": { "comm": ["%s"] } } }\n' "$long" >p.json
	sw validate p.json >val.txt 2>&1
	show val.txt
	expect_rc 1 "validate's status"
	grep -qF "error[bad-value]: comm \`$long\` can never match: the kernel keeps 15 characters (TASK_COMM_LEN); use \`$short\` or a glob" val.txt ||
		fail "validate does not give the same hint"
}

# As another user, a process matched by name whose /proc/PID/exe cannot be
# read is counted and named, not silently skipped; that user's own copy is
# selected beside it. --exe cannot check the process at all, and says so.
test_not_inspectable() {
	local comm="swnr$BASHPID" root_pid own_pid own_line
	[ "$(id -u)" = 0 ] || skip "needs root (to run stallwatch as nobody)"
	command -v setpriv >/dev/null || skip "setpriv is missing"
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$STALLWATCH" 2>/dev/null ||
		skip "nobody cannot run $STALLWATCH"
	comm=${comm:0:15}
	cp "$H/sleeper" "$comm"
	t_bg "./$comm" 20000 a.txt
	root_pid=$BGPID
	wait_for 'grep -q ^pid a.txt' 5 || fail "sleeper did not start"
	own_line="1 matched by name but could not be inspected (owned by uid 0$NEEDS_ROOT)"

	as_nobody "$STALLWATCH" attach --name "$comm" >rec.json 2>err.txt
	expect_rc 1
	expect_stderr err.txt "stallwatch: attach: nothing to attach: left out 1 matching process: $own_line"
	expect_eq "$(pstat "$root_pid" TracerPid)" 0 "TracerPid of root's process"

	t_bg setpriv --reuid=65534 --regid=65534 --clear-groups "./$comm" 20000 - >b.txt
	own_pid=$BGPID
	wait_for 'grep -q ^pid b.txt' 5 || fail "nobody's sleeper did not start"
	as_nobody "$STALLWATCH" attach --dry-run --name "$comm" >list.txt 2>err.txt
	expect_rc 0 "--dry-run's status"
	expect_stderr err.txt "stallwatch: attach: left out 1 matching process: $own_line"
	expect_rows list.txt "$own_pid"

	as_nobody "$STALLWATCH" attach --dry-run --exe "$PWD/$comm" >list.txt 2>err.txt
	expect_rc 0 "--dry-run --exe's status"
	show err.txt
	expect_rows list.txt "$own_pid"
	grep -qE '^stallwatch: attach: [0-9]+ process(es)? could not be checked against --exe \(owned by uid 0(, [^;]*)?; reading /proc/PID/exe needs root or CAP_SYS_PTRACE\)$' err.txt ||
		fail "stderr does not say what --exe could not check"
}
as_nobody() {
	t_bg setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
	t_wait "$BGPID" 20
}

# A kernel thread: -p says what it is (status 1: nothing attached; 0 in a
# dry run), --name counts it among what it left out.
test_kernel_thread() {
	local line="stallwatch: attach 2 (kthreadd): a kernel thread; it makes no syscalls to watch"
	[ "$(cat /proc/2/comm 2>/dev/null)" = kthreadd ] || skip "pid 2 is not kthreadd here (a pid namespace?)"
	sw attach -p 2 >rec.json 2>err.txt
	expect_rc 1
	expect_stderr err.txt "$line"
	sw attach --dry-run -p 2 >list.txt 2>err.txt
	expect_rc 0 "--dry-run's status"
	expect_stderr err.txt "$line"
	expect_rows list.txt
	sw attach --name kthreadd >rec.json 2>err.txt
	expect_rc 1 "--name kthreadd's status"
	expect_stderr err.txt "stallwatch: attach: nothing to attach: left out 1 matching process: 1 kernel thread"
}

# Nothing matches: the line is unchanged, status 1 (0 with --dry-run).
test_no_match() {
	sw attach --name "swnone$BASHPID" >rec.json 2>err.txt
	expect_rc 1
	expect_stderr err.txt "stallwatch: attach: no process matches the selection"
	sw attach --dry-run --name "swnone$BASHPID" >list.txt 2>err.txt
	expect_rc 0 "--dry-run's status"
	expect_stderr err.txt "stallwatch: attach: no process matches the selection"
	expect_rows list.txt
}

# t_run_ptrace (lib.sh): pinned to --backend=ptrace where the expectation is
# ptrace's: TracerPid, and "already traced" counting a stallwatch under ptrace.
t_run_ptrace cgroup_leaves_out test_cgroup_leaves_out
t_run_ptrace dry_run_pids test_dry_run_pids
t_run name_too_long test_name_too_long
t_run not_inspectable test_not_inspectable
t_run kernel_thread test_kernel_thread
t_run no_match test_no_match
t_done
