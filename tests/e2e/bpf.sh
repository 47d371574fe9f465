#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bpf.sh - what only the bpf backend does: calls timed in the kernel with
# nothing stopped (no tracer, a process already under strace can be
# watched), and nothing of stallwatch's left loaded however it ends. The
# run tests every backend shares run from their own scripts under
# SW_BACKEND=bpf.
. "$(dirname "$0")/lib.sh"

H=$HELPERS

bpf_or_skip() {
	"$STALLWATCH" run --backend=bpf -e getppid -- true >/dev/null 2>probe.txt ||
		skip "bpf backend unavailable here: $(head -n1 probe.txt)"
}


# "ID NAME" of every map process PID holds (its fdinfo's map_id lines).
map_ids() {
	local f id
	for f in /proc/"$1"/fdinfo/*; do
		awk '$1 == "map_id:" { print $2 }' "$f" 2>/dev/null
	done | sort -u | while read -r id; do
		echo "$id $(bpftool map show id "$id" -j 2>/dev/null | jq -r .name)"
	done
}

# The keys of map id ID (tids or tgids), on one line.
map_keys() {
	bpftool map dump id "$1" -j | jq -r '.[] | .formatted.key // empty' | tr '\n' ' '
}

# An exec storm: a thread execs while the leader sleeps 123 s (de_thread()
# kills it mid-call), then 100 execs in a row, then a 2 s sleep. During the
# sleep, this stallwatch's maps hold the sleeper's call and nothing else:
# no entry of a gone thread, no gone tgid; the run ends promptly after the
# sleep (not at the killed sleep's 123 s).
test_exec_storm_maps() {
	bpf_or_skip
	command -v bpftool >/dev/null || skip "bpftool not installed"
	local chain='[ "$0" -gt 0 ] && exec /bin/sh -c "$S" $(($0 - 1)); exit 0'
	t_bg "$STALLWATCH" run --backend=bpf -m 1ms -o rec.json -- \
		sh -c '"$1" sleep out.txt; echo "status $?" >>out.txt; S=$3 /bin/sh -c "$3" 100;
			exec "$2" 2000 hold.txt' sh "$H/thread_exec" "$H/sleeper" "$chain" 2>err.txt
	local swpid=$BGPID pid inflight suspended watched t0 ids
	wait_for '[ -n "$(hval out.txt pid)" ]' 10 || fail "thread_exec did not start"
	ids=$(map_ids "$swpid")
	inflight=$(awk '$2 == "inflight" { print $1 }' <<<"$ids")
	suspended=$(awk '$2 == "suspended" { print $1 }' <<<"$ids")
	watched=$(awk '$2 == "watched_tgids" { print $1 }' <<<"$ids")
	[ -n "$inflight" ] && [ -n "$suspended" ] && [ -n "$watched" ] ||
		fail "maps of stallwatch $swpid not found: $ids"
	wait_for '[ -n "$(hval hold.txt pid)" ]' 15 || fail "the sleeper did not start"
	t0=$(now_ms)
	pid=$(hval hold.txt pid)
	t_track "$pid"
	# it may not be in its nanosleep yet: look until it is
	wait_for '[ "$(map_keys "$inflight")" = "$pid " ]' 1 || true
	inflight=$(map_keys "$inflight")
	suspended=$(map_keys "$suspended")
	watched=$(map_keys "$watched")
	grep -q '^nanosleep' hold.txt && skip "host too slow: the 2 s sleep ended before the maps were read"
	t_wait "$swpid" 10
	show err.txt out.txt
	expect_rc 0
	grep -q '^status 42$' out.txt || fail "thread_exec's exec did not run (want status 42)"
	expect_eq "$inflight" "$pid " "inflight tids during the last sleep"
	expect_eq "$suspended" "" "suspended tids during the last sleep"
	expect_eq "$watched" "$pid " "watched tgids during the last sleep"
	[ $(($(now_ms) - t0)) -lt 5000 ] || fail "the run ended $(($(now_ms) - t0)) ms after a 2 s sleep began"
	expect_eq "$(jq_count rec.json 'dur < 0 or dur > 10000000000')" 0 "records with an insane duration"
	expect_eq "$(jq_count rec.json 'slow and name == "nanosleep" and .process.pid == '"$pid"'')" 1 \
		"the last sleep's record"
}

# attach: the target never stops, and a process strace traces can be watched.
test_attach_under_strace() {
	bpf_or_skip
	command -v strace >/dev/null || skip "strace not installed"
	t_bg strace -f -qq -o st.txt "$H/sleeper" 1500 out.txt
	wait_for '[ -n "$(hval out.txt pid)" ]' 10 || fail "the sleeper did not start"
	local pid
	pid=$(hval out.txt pid)
	t_track "$pid"
	sw attach --backend=bpf -m 100ms -e nanosleep -o rec.json -p "$pid" 2>err.txt
	show err.txt rec.json st.txt
	expect_rc 0
	grep -q "^stallwatch: attached $pid (sleeper) with 1 threads\$" err.txt || fail "no attached line"
	expect_eq "$(jq_count rec.json "slow and name == \"nanosleep\" and .process.pid == $pid
		and .stallwatch.backend == \"bpf\" and .stallwatch.partial == true and sc.ret == 0")" 1 \
		"slow nanosleep records (partial: in flight at the attach)"
	grep -q 'nanosleep(' st.txt || fail "strace lost its tracee"
}

# attach prints its "attached" line once the programs are live and the
# target is in the watched set: a sleep the target begins only after the
# line is seen is timed whole (exact, not partial).
test_attach_live_at_line() {
	bpf_or_skip
	t_bg "$H/gate" flag 20000 "$H/sleeper" 300 out.txt
	local tgt=$BGPID swpid
	t_bg "$STALLWATCH" attach --backend=bpf -m 100ms -e nanosleep -o rec.json -p "$tgt" 2>err.txt
	swpid=$BGPID
	wait_for 'grep -q "^stallwatch: attached" err.txt' 10 || fail "no attached line"
	: >flag
	t_wait "$tgt" 10
	expect_rc 0 "the sleeper's status"
	t_wait "$swpid" 10
	show err.txt out.txt rec.json
	expect_rc 0
	grep -q "^stallwatch: attached $tgt (gate) with 1 threads\$" err.txt || fail "attached line"
	expect_eq "$(jq_count rec.json 'slow and name == "nanosleep" and .process.pid == '"$tgt"'
		and (.stallwatch.partial // false) == false and sc.ret == 0')" 1 "whole sleep records"
	expect_tol "$(jq_get rec.json 'slow and name == "nanosleep"' .event.duration)" 300000000 \
		"the sleep's duration"
}

# A busy target never enters a stop, and its TracerPid stays 0.
test_never_stopped() {
	bpf_or_skip
	t_bg "$STALLWATCH" run --backend=bpf -m 1ms -o rec.json -- \
		sh -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; grep TracerPid /proc/self/status' \
		>out.txt 2>err.txt
	local swpid=$BGPID cmd states=""
	wait_for '[ -n "$(pgrep -P '"$swpid"')" ]' 5 || fail "no command"
	cmd=$(pgrep -P "$swpid" | head -n1)
	while proc_alive "$cmd"; do
		states="$states$(awk '{ print $3 }' /proc/"$cmd"/stat 2>/dev/null)"
		sleep 0.01
	done
	t_wait "$swpid" 30
	show out.txt err.txt
	expect_rc 0
	expect_eq "$(awk '{ print $2 }' out.txt)" 0 "TracerPid"
	case $states in *t*) fail "the command was seen stopped (t): $states" ;; esac
}

# kill -9 of stallwatch: the command runs on, and none of the programs this
# stallwatch loaded is left (their ids, not a host-wide count).
test_kill9_unloads() {
	bpf_or_skip
	command -v bpftool >/dev/null || skip "bpftool not installed"
	t_bg "$STALLWATCH" run --backend=bpf -e nanosleep -o rec.json -- "$H/sleeper" 3000 out.txt 2>err.txt
	local swpid=$BGPID ids id pid
	wait_for '[ -n "$(hval out.txt pid)" ]' 10 || fail "the sleeper did not start"
	pid=$(hval out.txt pid)
	t_track "$pid"
	ids=$(prog_ids "$swpid")
	[ -n "$ids" ] || fail "stallwatch holds no BPF program"
	kill -KILL "$swpid"
	t_wait "$swpid" 5
	for id in $ids; do
		wait_for '! bpftool prog show id '"$id"' >/dev/null 2>&1' 5 ||
			fail "program $id is still loaded after kill -9"
	done
	proc_alive "$pid" || fail "the command died with stallwatch"
	wait_for '! proc_alive '"$pid" 10 || fail "the command did not finish"
	grep -q '^nanosleep' out.txt || fail "the command did not finish its sleep"
}

# An unwatched busy process (1M fast calls) causes no record and no drop.
test_unwatched_busy() {
	bpf_or_skip
	sw run --backend=bpf -e nanosleep -m 1ms -o rec.json -- "$H/fastcalls" 1000000 out.txt 2>err.txt
	show err.txt out.txt
	expect_rc 0
	expect_eq "$(jq_count rec.json 'true')" 0 "records"
	[ ! -s err.txt ] || fail "stderr: $(head -n2 err.txt)"
}

t_run attach_under_strace test_attach_under_strace
t_run attach_live_at_line test_attach_live_at_line
t_run never_stopped test_never_stopped
t_run kill9_unloads test_kill9_unloads
t_run unwatched_busy test_unwatched_busy
t_run exec_storm_maps test_exec_storm_maps
t_done
