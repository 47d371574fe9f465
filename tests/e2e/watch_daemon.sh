#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# watch_daemon.sh - `stallwatch watch` as a daemon (stallwatch(8), WATCH):
# a process the policy names is picked up when it execs and its slow call
# reported; a process it does not name is left alone; an exec into a
# program the policy does not name lets go of it, an exec into one it names
# picks it up; a move out of (into) a selected cgroup lets go (picks up);
# SIGHUP with a changed selector moves the watch; a burst of
# 200 matching processes is accounted for, one by one, without a hang;
# SIGTERM ends it with status 0 in under 2 s, and SIGKILL too leaves the
# targets running on as they were (and, under bpf, no program loaded). Each case runs under bpf and under ptrace (where available);
# the host-wide rule (a rule naming no targets) only under bpf.
#
# The processes are ours: copies of the latecall helper under names no
# other process has (wsA..., other...), started by the test.
. "$(dirname "$0")/lib.sh"

H=$HELPERS

need_backend_here() {
	"$STALLWATCH" run --backend="$1" -e getppid -- true >/dev/null 2>probe.txt ||
		skip "--backend=$1 unavailable here: $(head -n 1 probe.txt)"
}

# policy COMM_GLOB: nanosleeps of 100 ms or more by processes named COMM_GLOB
policy() {
	cat >p.json <<EOF2
{"targets": {"sleepers": {"comm": "$1"}},
 "rules": [{"name": "sleeps", "targets": ["sleepers"], "syscalls": ["nanosleep"],
            "min_duration": "100ms"}],
 "scan": {"interval": "600s"}}
EOF2
}

# start_watch BACKEND ARG...: the daemon in the background (records in
# rec.json, lines in err.txt), ready when it said so; pid in $SWPID.
start_watch() {
	local backend=$1
	shift
	t_bg "$STALLWATCH" watch --backend="$backend" --policy p.json -o rec.json "$@" 2>err.txt
	SWPID=$BGPID
	wait_for "grep -q '^stallwatch: watch: ready' err.txt || ! proc_alive $SWPID" 10 || {
		show err.txt
		fail "no ready line in 10 s"
	}
	proc_alive "$SWPID" || {
		show err.txt
		fail "watch exited early"
	}
}

# stop_watch: SIGTERM; it exits 0 within 2 s
stop_watch() {
	local t0
	t0=$(now_ms)
	kill -TERM "$SWPID"
	t_wait "$SWPID" 10
	show err.txt
	expect_eq "$RC" 0 "watch's exit status after SIGTERM"
	[ $(($(now_ms) - t0)) -le 2000 ] || fail "watch took $(($(now_ms) - t0)) ms to exit"
}

watching() { grep -qE "^stallwatch: watching $1 \(" err.txt; }
released() { grep -qE "^stallwatch: released $1 \(" err.txt; }
pstat() { awk -v k="$2:" '$1 == k { print $2; exit }' "/proc/$1/status" 2>/dev/null; }
pid_of() { awk '$1 == "pid" { print $2; exit }' "$1"; }
# cpu_ms PID: the CPU time PID used so far (utime + stime of /proc/PID/stat), ms
cpu_ms() {
	local s
	s=$(cat "/proc/$1/stat") || return 1
	s=${s##*) }
	set -- $s
	echo $(((${12} + ${13}) * 1000 / $(getconf CLK_TCK)))
}
records_of() { jq_count rec.json "(slow or stuck) and .process.pid == $1"; }

# The target is unharmed: running, not stopped, not traced.
unharmed() {
	proc_alive "$1" || fail "target $1 is gone"
	case $(proc_state "$1") in
	T | t) fail "target $1 is stopped ($(proc_state "$1"))" ;;
	esac
	expect_eq "$(pstat "$1" TracerPid)" 0 "TracerPid of $1"
}

# A process started after the daemon, whose slow call comes 200 ms after
# its exec, is watched in time and reported; one the policy does not name
# is not; SIGUSR1 reopens -o; SIGTERM leaves the target running, and it
# exits with its own status.
pickup() {
	local backend=$1 a o t0 lat
	need_backend_here "$backend"
	cp "$H/latecall" ./wsA
	cp "$H/latecall" ./other
	policy 'wsA'
	start_watch "$backend"
	t0=$(now_ms)
	t_bg ./wsA 200 300 7 >a.txt
	a=$BGPID
	t_bg ./other 200 300 >o.txt
	o=$BGPID
	wait_for "watching $a" 5 || {
		show err.txt
		fail "wsA ($a) not picked up within 5 s"
	}
	lat=$(($(now_ms) - t0))
	echo "pickup seen after $lat ms (the line; the bound is in the status record)"
	local st=0
	wait "$a" || st=$?
	expect_eq "$st" 7 "wsA's own exit status"
	wait "$o"
	wait_for "[ \"\$(jq_count rec.json 'slow and .process.pid == $a')\" -ge 1 ]" 5
	show rec.json
	expect_eq "$(jq_count rec.json "slow and .process.pid == $a and name == \"nanosleep\" and
		.rule.name == \"sleeps\" and dur >= 250000000 and (.stallwatch.partial | not)")" 1 \
		"wsA's slow nanosleep, whole"
	expect_eq "$(records_of "$o")" 0 "records of the process the policy does not name"
	watching "$o" && fail "other ($o) was watched"
	# logrotate: rename, SIGUSR1; the next record goes to a new rec.json
	mv rec.json rec.old
	kill -USR1 "$SWPID"
	# a long-running target: SIGTERM leaves it running and untraced
	t_bg ./wsA 0 4000 >b.txt
	a=$BGPID
	wait_for "watching $a" 5 || fail "second wsA ($a) not picked up"
	wait_for "[ \"\$(jq_count rec.json 'stuck and .process.pid == $a')\" = 1 ]" 5 ||
		fail "no stuck record of the second wsA in the reopened rec.json"
	expect_eq "$(jq_count rec.old ".process.pid == $a")" 0 "its records in the renamed file"
	stop_watch
	unharmed "$a"
	# the bounds, measured by the daemon (asserted loosely: a busy host)
	jq_get rec.json '.event.action == "watch-status"' '.stallwatch.self | [.pickups, .pickup_ns_max, .pickup_ns_mean, .stop_ns_max] | tostring' | tail -n 1
	expect_eq "$(jq_get rec.json '.event.action == "watch-status"' \
		'.stallwatch.self | .pickups >= 2 and .pickup_ns_max < 1000000000 and
		.stop_ns_max < 1000000000' | tail -n 1)" true "pickups, pickup and stop bounds"
	kill -TERM "$a"
	local st=0
	wait "$a" || st=$?
	expect_eq "$st" 143 "the target ends by our SIGTERM, not before"
}
test_pickup_bpf() { pickup bpf; }
test_pickup_ptrace() { pickup ptrace; }

# An exec into a program the policy does not name lets go; one into a
# program it names picks up.
exec_moves() {
	local backend=$1 a b
	need_backend_here "$backend"
	cp "$H/latecall" ./wsA
	cp "$H/latecall" ./wsB
	cp "$H/latecall" ./other
	policy 'ws[AB]'
	start_watch "$backend"
	# wsA: picked up, sleeps 600 ms (reported), then becomes `other` for 3 s
	t_bg ./wsA 0 600 ./other 0 3000 >a.txt
	a=$BGPID
	wait_for "watching $a" 5 || fail "wsA ($a) not picked up"
	wait_for "released $a" 5 || {
		show err.txt
		fail "wsA ($a) not released after its exec into other"
	}
	sleep 0.2
	unharmed "$a"
	# other: not watched, sleeps 300 ms, then becomes wsB, which sleeps 400 ms
	t_bg ./other 0 300 ./wsB 100 400 >b.txt
	b=$BGPID
	wait_for "watching $b" 5 || {
		show err.txt
		fail "other ($b) not picked up at its exec into wsB"
	}
	wait "$b"
	stop_watch
	show rec.json
	expect_eq "$(jq_count rec.json "slow and .process.pid == $a and .process.name == \"wsA\"")" 1 \
		"wsA's sleep, reported"
	expect_eq "$(jq_count rec.json "(slow or stuck) and .process.pid == $a and
		.process.name == \"other\"")" 0 "records of $a once it is other"
	expect_eq "$(jq_count rec.json "slow and .process.pid == $b and .process.name == \"wsB\" and
		dur >= 350000000")" 1 "wsB's sleep, reported"
	expect_eq "$(jq_count rec.json "slow and .process.pid == $b and dur < 350000000")" 0 \
		"other's 300 ms sleep, not reported"
	kill -TERM "$a" 2>/dev/null
	wait "$a" 2>/dev/null || true
}
test_exec_moves_bpf() {
	sanitizer_pass && skip "the plain pass runs it; this pass runs the ptrace case"
	exec_moves bpf
}
test_exec_moves_ptrace() { exec_moves ptrace; }

# SIGHUP with a changed selector: the old target is let go, the new one taken.
reload_moves() {
	local backend=$1 a c
	need_backend_here "$backend"
	cp "$H/latecall" ./wsA
	cp "$H/latecall" ./wsC
	policy 'wsA'
	t_bg ./wsA 0 6000 >a.txt
	a=$BGPID
	t_bg ./wsC 0 6000 >c.txt
	c=$BGPID
	wait_for "[ -s a.txt ] && [ -s c.txt ]" 5
	start_watch "$backend"
	watching "$a" || fail "wsA ($a), already running, not watched at start"
	watching "$c" && fail "wsC ($c) watched before the reload"
	policy 'wsC'
	kill -HUP "$SWPID"
	wait_for "released $a && watching $c" 5 || {
		show err.txt
		fail "after SIGHUP: wsA not released or wsC not picked up"
	}
	stop_watch
	unharmed "$a"
	unharmed "$c"
	kill -TERM "$a" "$c"
	wait "$a" "$c" 2>/dev/null || true
}
test_reload_moves_bpf() { reload_moves bpf; }
test_reload_moves_ptrace() {
	sanitizer_pass && skip "the plain pass runs it; this pass runs the bpf case"
	reload_moves ptrace
}


# A target chosen by its cgroup is let go when it moves out (the recheck:
# the proc connector reports no moves), and one that moves in is taken.
cgroup_moves() {
	local backend=$1 a b
	need_backend_here "$backend"
	cg_make
	cp "$H/latecall" ./cgA
	cat >p.json <<EOF2
{"targets": {"ours": {"cgroup": "$CG"}},
 "rules": [{"name": "sleeps", "targets": ["ours"], "syscalls": ["nanosleep"],
            "min_duration": "100ms"}],
 "scan": {"interval": "600s"}}
EOF2
	# a (in the cgroup before the daemon starts) and b (outside)
	sh -c 'echo $$ >"$1/cgroup.procs" && exec ./cgA 0 8000' sh "$CGDIR" >a.txt &
	a=$!
	t_track "$a"
	t_bg ./cgA 0 8000 >b.txt
	b=$BGPID
	wait_for "[ -s a.txt ] && [ -s b.txt ]" 5
	start_watch "$backend" --recheck 200ms
	watching "$a" || fail "cgA ($a) in $CG not watched at start"
	watching "$b" && fail "cgA ($b) outside $CG watched"
	echo "$a" >"$CGROOT/cgroup.procs"
	echo "$b" >"$CGDIR/cgroup.procs"
	wait_for "released $a && watching $b" 5 || {
		show err.txt
		fail "after the moves: $a not released or $b not taken within 5 s (recheck 200ms)"
	}
	stop_watch
	unharmed "$a"
	unharmed "$b"
	kill -TERM "$a" "$b"
	wait "$a" "$b" 2>/dev/null || true
}
test_cgroup_moves_bpf() {
	sanitizer_pass && skip "the plain pass runs it; this pass runs the ptrace case"
	cgroup_moves bpf
}
test_cgroup_moves_ptrace() { cgroup_moves ptrace; }

# 200 matching processes in a burst, each alive about a second, with room
# for 50: no hang, and every one is accounted for: watched, or missed with
# a reason (the counts of the last watch-status record).
burst() {
	local backend=$1 i n watched st
	need_backend_here "$backend"
	cp "$H/latecall" ./wsA
	policy 'wsA'
	start_watch "$backend" --max-targets 50
	: >pids.txt
	for ((i = 0; i < 200; i++)); do
		./wsA 0 1000 >/dev/null &
		echo $! >>pids.txt
	done
	# ours only: a bare `wait` would wait for the daemon too
	wait $(cat pids.txt)
	sleep 0.3
	stop_watch
	n=$(sort -u pids.txt | wc -l)
	expect_eq "$n" 200 "processes started"
	watched=$(grep -cE '^stallwatch: watching [0-9]+ ' err.txt)
	echo "watched $watched of 200"
	[ "$watched" -le 50 ] || fail "$watched watched at once with --max-targets 50"
	[ "$watched" -ge 1 ] || fail "none watched"
	st=$(jq_get rec.json '.event.action == "watch-status"' \
		'.stallwatch.self | (.added + .missed)' | tail -n 1)
	show rec.json
	[ -n "$st" ] && [ "$st" -ge 200 ] ||
		fail "the last watch-status accounts for ${st:-no} processes, not 200"
}
test_burst_bpf() { burst bpf; }
test_burst_ptrace() {
	sanitizer_pass && skip "the plain pass runs it; this pass runs the bpf case"
	burst ptrace
}


# SIGKILL of the daemon: the target it held runs on as it was (not stopped,
# not traced, its own exit status), and under bpf none of the programs
# this daemon loaded stays loaded (their ids, not a host-wide count).
sigkill() {
	local backend=$1 a ids id st=0
	need_backend_here "$backend"
	cp "$H/latecall" ./wsA
	policy 'wsA'
	start_watch "$backend"
	t_bg ./wsA 0 1500 5 >a.txt
	a=$BGPID
	wait_for "watching $a" 5 || fail "wsA ($a) not picked up"
	sleep 0.2 # in its sleep, under watch
	ids=$(prog_ids "$SWPID")
	[ "$backend" = ptrace ] || [ -n "$ids" ] || fail "the daemon holds no BPF program"
	kill -KILL "$SWPID"
	t_wait "$SWPID" 5
	for id in $ids; do
		wait_for '! bpftool prog show id '"$id"' >/dev/null 2>&1' 5 ||
			fail "program $id is still loaded after kill -9"
	done
	wait_for "[ \"\$(pstat $a TracerPid)\" = 0 ] || ! proc_alive $a" 5
	proc_alive "$a" && unharmed "$a"
	wait "$a" || st=$?
	expect_eq "$st" 5 "wsA's own exit status"
	grep -q "^slept $a" a.txt || fail "wsA did not finish its sleep"
}
test_sigkill_bpf() {
	command -v bpftool >/dev/null || skip "bpftool not installed"
	sigkill bpf
}
test_sigkill_ptrace() {
	sanitizer_pass && skip "the plain pass runs it; this pass runs the bpf case"
	sigkill ptrace
}

# A rule that names no targets applies to every process (bpf only): a
# process nobody named that reads memory.stat is reported under a 1 us rule,
# its read of another file is not, nor the 30,000 reads of 64 KiB (each over
# 1 us) of a dd nobody named: the kernel keeps them by the file's name
# (doc/policy.md), so none is lost to a full ring buffer, and stallwatch's
# own CPU stays far below a CPU (it used all of one without the filter).
test_host_wide_bpf() {
	local pid stat= c0 t0 cpu ms
	need_backend_here bpf
	for f in /sys/fs/cgroup/memory/memory.stat /sys/fs/cgroup/unified/memory.stat \
		/sys/fs/cgroup/memory.stat; do
		[ -r "$f" ] && stat=$f && break
	done
	[ -n "$stat" ] || skip "no memory.stat to read here"
	cat >p.json <<EOF2
{"rules": [{"name": "stat-reads", "syscalls": ["read"], "paths": ["*/memory.stat"],
            "min_duration": "1us"}],
 "scan": {"interval": "600s"}}
EOF2
	head -c 65536 /dev/zero >other.stat
	start_watch bpf
	grep -q 'stat-reads' err.txt || {
		show err.txt
		fail "no line naming the host-wide rule"
	}
	c0=$(cpu_ms "$SWPID")
	t0=$(now_ms)
	dd if=/dev/zero of=/dev/null bs=64k count=30000 2>/dev/null
	# sleep: the record reads the fd's path from /proc, so the reader waits for it
	t_bg "$H/hostcalls" 0 0 out.txt "read:$PWD/other.stat" "read:$stat" sleep:1000
	pid=$BGPID
	wait "$pid"
	wait_for "[ \"\$(jq_count rec.json 'slow and .process.pid == $pid')\" -ge 1 ]" 5
	while [ $(($(now_ms) - t0)) -lt 2000 ]; do sleep 0.1; done
	cpu=$(($(cpu_ms "$SWPID") - c0))
	ms=$(($(now_ms) - t0))
	stop_watch
	show rec.json
	echo "stallwatch's CPU: $cpu ms in $ms ms"
	[ "$(jq_count rec.json "slow and .process.pid == $pid and name == \"read\" and
		.rule.name == \"stat-reads\" and (sc.fd_path | endswith(\"/memory.stat\"))")" -ge 1 ] ||
		fail "no record of the unnamed reader's memory.stat read"
	expect_eq "$(jq_count rec.json "(slow or stuck) and .rule.name != \"stat-reads\"")" 0 \
		"records of other rules"
	expect_eq "$(jq_count rec.json "(slow or stuck) and (sc.fd_path // \"\" |
		endswith(\"/memory.stat\") | not)")" 0 "records of other files"
	expect_eq "$(jq_count rec.json '.event.action == "records-dropped"')" 0 \
		"records-dropped records"
	[ $((cpu * 100)) -lt $((ms * 50)) ] || fail "stallwatch used $cpu ms of CPU in $ms ms"
}

# The name prefilter on a path argument, and in the sweep (bpf only): two
# unnamed processes block in openat() of FIFOs, one named memory.stat and one
# other.stat, under a host-wide openat rule on */memory.stat: the first is
# reported stuck, then slow when a writer comes; the second never.
test_host_wide_stuck_bpf() {
	local a b
	need_backend_here bpf
	cat >p.json <<'EOF2'
{"rules": [{"name": "stat-opens", "syscalls": ["openat"], "paths": ["*/memory.stat"],
            "min_duration": "100ms"}],
 "scan": {"interval": "600s"}}
EOF2
	mkdir d && mkfifo d/memory.stat d/other.stat || fail "mkfifo"
	start_watch bpf
	t_bg "$H/hostcalls" 0 0 a.txt "read:$PWD/d/memory.stat"
	a=$BGPID
	t_bg "$H/hostcalls" 0 0 b.txt "read:$PWD/d/other.stat"
	b=$BGPID
	wait_for "[ \"\$(jq_count rec.json 'stuck and .process.pid == $a')\" -ge 1 ]" 5
	sleep 0.3
	# a writer for each: both opens return, and both reads end at its close
	exec 5>d/memory.stat 6>d/other.stat
	exec 5>&- 6>&-
	wait "$a" "$b"
	wait_for "[ \"\$(jq_count rec.json 'slow and .process.pid == $a')\" -ge 1 ]" 5
	stop_watch
	show rec.json
	for k in stuck slow; do
		[ "$(jq_count rec.json "$k and .process.pid == $a and name == \"openat\" and
			(sc.path | endswith(\"/d/memory.stat\"))")" -ge 1 ] ||
			fail "no $k record of the open of memory.stat"
	done
	expect_eq "$(jq_count rec.json "(slow or stuck) and .process.pid == $b")" 0 \
		"records of the open of other.stat"
}

# Under ptrace a rule that names no targets cannot apply to every process.
test_host_wide_ptrace_refused() {
	need_backend_here ptrace
	cat >p.json <<'EOF2'
{"rules": [{"name": "stat-reads", "syscalls": ["read"], "paths": ["*/memory.stat"],
            "min_duration": "1us"}]}
EOF2
	sw watch --backend=ptrace --policy p.json -o rec.json 2>err.txt
	show err.txt
	expect_eq "$RC" 2 "exit status"
	grep -q 'stat-reads' err.txt || fail "the message does not name the rule"
}

t_run pickup_bpf test_pickup_bpf
t_run pickup_ptrace test_pickup_ptrace
t_run exec_moves_bpf test_exec_moves_bpf
t_run exec_moves_ptrace test_exec_moves_ptrace
t_run reload_moves_bpf test_reload_moves_bpf
t_run reload_moves_ptrace test_reload_moves_ptrace
t_run cgroup_moves_bpf test_cgroup_moves_bpf
t_run cgroup_moves_ptrace test_cgroup_moves_ptrace
t_run burst_bpf test_burst_bpf
t_run burst_ptrace test_burst_ptrace
t_run sigkill_bpf test_sigkill_bpf
t_run sigkill_ptrace test_sigkill_ptrace
t_run host_wide_bpf test_host_wide_bpf
t_run host_wide_stuck_bpf test_host_wide_stuck_bpf
t_run host_wide_ptrace_refused test_host_wide_ptrace_refused
t_done
