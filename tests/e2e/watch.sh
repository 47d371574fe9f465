#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# watch.sh - `stallwatch watch`, the node daemon: --dry-run lists exactly the
# processes the policy's targets name (and why), and the host-wide rules;
# usage errors (host-wide rules under ptrace, notify, nothing to watch, an
# invalid policy) exit 2 with one line; the daemon says each target it
# takes, tells systemd READY=1 / STOPPING=1, writes host-scan records every
# scan.interval and a watch-status record, keeps the metrics file's watch
# series, and exits 0 on SIGTERM.
#
# Every process is ours: a helper copied under a name of the test's own
# (its comm), started by the test.
. "$(dirname "$0")/lib.sh"

H=$HELPERS

# named NAME: copy the sleeper helper to ./NAME (so its comm is NAME).
named() {
	cp "$H/sleeper" "./$1" || fail "cannot copy the sleeper helper"
}

# policy FILE COMM [EXTRA_TARGET_JSON] [SCAN_JSON]: one target `t` (comm
# COMM), one rule `r` on it (nanosleep >= 50ms).
policy() {
	local extra=${3:+, $3} scan=
	[ -n "${4:-}" ] && scan=", \"scan\": $4"
	cat >"$1" <<-JSON
		{"version": 1,
		 "targets": {"t": {"comm": ["$2"]$extra}},
		 "rules": [{"name": "r", "targets": ["t"], "syscalls": ["nanosleep", "clock_nanosleep"],
		            "min_duration": "50ms"}]$scan}
	JSON
}

# row FILE PID: the --dry-run row of PID, fields separated by one space.
row() { awk -v p="$2" 'NR > 1 && $1 == p' "$1" | tr -s ' '; }

# one_line FILE: FILE has exactly one line, starting with "stallwatch: ".
one_line() {
	show "$1"
	expect_eq "$(grep -c . "$1")" 1 "lines in $1"
	grep -q '^stallwatch: ' "$1" || fail "$1 does not start with 'stallwatch: '"
}

test_dry_run_targets() {
	local me=swwa$$ other=swwb$$ pid opid r
	named "$me"
	named "$other"
	t_bg "./$me" 20000
	pid=$BGPID
	t_bg "./$other" 20000
	opid=$BGPID
	policy p.json "$me"
	wait_for "[ \"\$(cat /proc/$pid/comm 2>/dev/null)\" = $me ]" 5 || fail "helper did not start"
	sw watch --policy p.json --dry-run >list.txt 2>err.txt
	show list.txt
	show err.txt
	expect_rc 0
	expect_eq "$(head -n 1 list.txt | tr -s ' ')" "PID COMM THREADS EXE WHY" "dry-run header"
	r=$(row list.txt "$pid")
	expect_eq "$r" "$pid $me 1 $PWD/$me target t (comm $me)" "row of the target"
	[ -z "$(row list.txt "$opid")" ] || fail "a process no target names is listed"
	# only targeted rules: no host-wide line, nothing on stderr
	! grep -q 'host-wide' list.txt || fail "a host-wide line without host-wide rules"
	[ ! -s err.txt ] || fail "stderr is not empty"
}

# A target with "children": its child is listed with the ancestor that matched.
test_dry_run_children() {
	local me=swwc$$ pid child r
	cp "$(command -v sh)" "./$me" || skip "cannot copy sh"
	t_bg "./$me" -c "'$H/sleeper' 20000; :"
	pid=$BGPID
	wait_for "child=\$(pgrep -P $pid sleeper)" 5 || fail "the child did not start"
	child=$(pgrep -P "$pid" sleeper)
	t_track "$child"
	policy p.json "$me" '"children": true'
	sw watch --policy p.json --dry-run >list.txt 2>err.txt
	show list.txt
	expect_rc 0
	expect_eq "$(row list.txt "$pid" | cut -d' ' -f1-2,5-)" "$pid $me target t (comm $me)" "parent"
	r=$(row list.txt "$child")
	expect_eq "$(cut -d' ' -f1-3 <<<"$r")" "$child sleeper 1" "child row"
	expect_eq "${r#* * * * }" "target t (child of $pid $me: comm $me)" "child reason"
}

# The built-in default names no targets: under bpf it is host-wide.
test_dry_run_default_host_wide() {
	sw watch --backend=bpf --dry-run >list.txt 2>err.txt
	show list.txt
	expect_rc 0
	expect_eq "$(tail -n 1 list.txt)" \
		"every process (host-wide, bpf): rules cgroup-stat-read-slow, cgroup-stat-read-critical, watch-setup-slow" \
		"host-wide line"
	expect_eq "$(wc -l <list.txt)" 2 "lines (header and host-wide)"
}

test_ptrace_host_wide_refused() {
	sw watch --backend=ptrace --dry-run >list.txt 2>err.txt
	expect_rc 2
	one_line err.txt
	expect_eq "$(cat err.txt)" \
		"stallwatch: watch: host-wide rules need --backend=bpf (ptrace cannot watch every process): cgroup-stat-read-slow, cgroup-stat-read-critical, watch-setup-slow; give them \`targets\`, or use --backend=bpf" \
		"message"
	[ ! -s list.txt ] || fail "something listed"
	# targeted rules alone are fine under ptrace
	policy p.json swnobody
	sw watch --policy p.json --backend=ptrace --dry-run >list.txt 2>err.txt
	expect_rc 0
}

test_notify_refused() {
	sw watch --backend=notify --dry-run >list.txt 2>err.txt
	expect_rc 2
	one_line err.txt
	grep -q '^stallwatch: watch: --backend=notify cannot serve a daemon' err.txt ||
		fail "message"
}

test_nothing_to_watch() {
	sw watch --no-default-policy -m 10ms --dry-run >list.txt 2>err.txt
	expect_rc 2
	one_line err.txt
	grep -q '^stallwatch: watch: nothing to watch: ' err.txt || fail "message"
}

test_help() {
	sw watch --help >help.txt 2>err.txt
	expect_rc 0
	grep -q '^USAGE: stallwatch watch ' help.txt || fail "no USAGE line"
	grep -q '^EXAMPLES:' help.txt || fail "no EXAMPLES"
	grep -q -- '--max-targets' help.txt || fail "--max-targets not described"
	[ ! -s err.txt ] || fail "stderr is not empty"
	sw --help >main.txt
	grep -q '^  watch ' main.txt || fail "watch not in stallwatch --help"
}

test_invalid_policy() {
	printf '{"version": 1, "rules": [{"name": "r", "min_duration": "fast"}]}\n' >bad.json
	sw watch --policy bad.json --dry-run >list.txt 2>err.txt
	expect_rc 2
	show err.txt
	grep -q '^bad.json:1:[0-9]*: error\[' err.txt || fail "no positioned error"
	# scan.interval below 100 ms
	policy p.json swnobody '' '{"interval": "50ms"}'
	sw watch --policy p.json --dry-run >list.txt 2>err2.txt
	expect_rc 2
	show err2.txt
	grep -q '^p.json:[0-9]*:[0-9]*: error\[bad-value\]: interval must be at least 100ms' err2.txt ||
		fail "scan.interval: no error"
	sw validate p.json >v.txt 2>&1
	expect_rc 1
}

# ---- the daemon ------------------------------------------------------------------

# notify_listener FILE: a datagram socket at $PWD/notify; what it receives
# is appended to FILE, one line per datagram. $NLPID.
notify_listener() {
	command -v python3 >/dev/null || skip "no python3 (the NOTIFY_SOCKET listener)"
	t_bg python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[1] + ".bound", "w").close()
while True:
    d = s.recv(4096)
    with open(sys.argv[2], "a") as f:
        f.write(d.decode() + "\n")
' "$PWD/notify" "$1"
	NLPID=$BGPID
	wait_for "[ -e notify.bound ]" 5 || fail "the notify listener did not start"
}

# Targets found at start: the watching line, READY=1 only after it,
# host-scan records every scan.interval, STOPPING=1 and a watch-status
# record at SIGTERM, exit 0, the metrics file's watch series.
test_daemon_start() {
	local me=swwd$$ pid
	named "$me"
	t_bg "./$me" 20000
	pid=$BGPID
	policy p.json "$me" '' '{"interval": "200ms"}'
	wait_for "[ \"\$(cat /proc/$pid/comm 2>/dev/null)\" = $me ]" 5 || fail "helper did not start"
	notify_listener notified.txt
	NOTIFY_SOCKET=$PWD/notify t_bg "$STALLWATCH" watch --policy p.json -o rec.json \
		--metrics-file m.prom 2>err.txt
	SWPID=$BGPID
	wait_for "grep -q READY=1 notified.txt 2>/dev/null || ! proc_alive $SWPID" 15
	show err.txt
	grep -q READY=1 notified.txt || fail "no READY=1"
	expect_eq "$(grep -c "^stallwatch: watching $pid ($me) with 1 threads: target t (comm $me)\$" err.txt)" 1 \
		"watching line (before READY=1)"
	wait_for "[ \$(jq_count rec.json '.event.action == \"host-scan\"') -ge 2 ]" 10 ||
		fail "fewer than 2 host-scan records in 10 s at scan.interval 200ms"
	kill -TERM "$SWPID"
	t_wait "$SWPID" 10
	expect_rc 0
	wait_for "grep -q STOPPING=1 notified.txt" 5 || fail "no STOPPING=1"
	expect_eq "$(jq_count rec.json '.event.action == "watch-status" and .event.kind == "metric" and .stallwatch.self.added == 1 and .stallwatch.self.rss_bytes > 0 and .stallwatch.self.cpu_ns > 0')" 1 \
		"watch-status record at exit"
	show m.prom
	grep -q '^stallwatch_info{version="[^"]*",mode="watch",source="m"} 1$' m.prom || fail "info"
	grep -q '^stallwatch_watch_targets{source="m"} 0$' m.prom || fail "targets gauge at exit (every target let go)"
	grep -q '^stallwatch_watch_targets_added_total{source="m"} 1$' m.prom || fail "added"
	grep -q '^stallwatch_watch_missed_total{reason="max-targets",source="m"} 0$' m.prom ||
		fail "missed"
	grep -q '^stallwatch_self_resident_bytes{source="m"} [1-9]' m.prom || fail "rss"
	grep -q '^stallwatch_scans_total{source="m"} [1-9]' m.prom || fail "scans"
	proc_alive "$pid" || fail "the target did not survive"
}

# A target that starts after the daemon (exec pickup, needs tracer_watch's
# proc connector) is watched, and its slow call makes a record of rule r,
# counted in stallwatch_stalls_total by rule and severity.
test_daemon_exec_pickup() {
	local me=swwe$$ pid
	named "$me"
	policy p.json "$me"
	t_bg "$STALLWATCH" watch --policy p.json -o rec.json --metrics-file m.prom 2>err.txt
	SWPID=$BGPID
	wait_for "[ -s m.prom ] || ! proc_alive $SWPID" 15
	t_bg "./$me" 300
	pid=$BGPID
	wait_for "grep -q '^stallwatch: watching $pid ' err.txt" 10 || {
		show err.txt
		fail "the target started after the daemon was not picked up"
	}
	t_wait "$pid" 10
	wait_for "[ \$(jq_count rec.json 'slow and .process.pid == $pid') -ge 1 ]" 10 || {
		show rec.json
		fail "no slow-syscall record of the new target"
	}
	expect_eq "$(jq_get rec.json "slow and .process.pid == $pid" '.rule.name')" r "rule"
	kill -TERM "$SWPID"
	t_wait "$SWPID" 10
	expect_rc 0
	show m.prom
	grep -q '^stallwatch_stalls_total{rule="r",severity="warning",source="m"} [1-9]' m.prom ||
		fail "stallwatch_stalls_total"
}

t_run dry_run_targets test_dry_run_targets
t_run dry_run_children test_dry_run_children
t_run dry_run_default_host_wide test_dry_run_default_host_wide
t_run ptrace_host_wide_refused test_ptrace_host_wide_refused
t_run notify_refused test_notify_refused
t_run nothing_to_watch test_nothing_to_watch
t_run help test_help
t_run invalid_policy test_invalid_policy
t_run daemon_start test_daemon_start
t_run daemon_exec_pickup test_daemon_exec_pickup
t_done
