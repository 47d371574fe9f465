#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# sinks_daemons.sh - --syslog and --metrics-file against the real daemons from
# Debian (rsyslog, prometheus-node-exporter; `make deps-check` installs them without
# starting their services). Each test starts its own daemon with its own
# config in $TD and stops it by pid.
#
# syslog: rsyslogd listens on $TD/log.sock (imuxsock, the system socket off,
# so it never touches /dev/log) and writes every message as
# TAG|FACILITY|SEVERITY|PRI|MSG into $TD/syslog.txt. stallwatch runs in a
# private mount namespace (`unshare -m`, then `mount --make-rprivate /`) where
# /dev is an overlayfs (lower: the host's /dev, upper and work dirs in $TD),
# and /dev/log is a symlink in that upper layer to $TD/log.sock. The host's
# /dev is never written: its upper layer is $TD/dev.upper, and the namespace
# goes away with its last process. DEV_LAYER=tmpfs uses a tmpfs with
# bind-mounted null/zero/full/random/urandom/tty instead (for kernels without
# overlayfs; also tried automatically when the overlay mount fails).
#
# node_exporter: --collector.disable-defaults --collector.textfile on
# $TD/textfile, on 127.0.0.1 and a free port, scraped with curl (or python3).
#
# Evidence for the docs (from the last passing run): build/evidence/syslog-line.txt
# (one real rsyslog line of a stallwatch record), build/evidence/scrape.txt and
# build/evidence/scrape-scan.txt (the stallwatch_* and node_textfile_* lines of
# real scrapes).
T_TEST_TIMEOUT=${T_TEST_TIMEOUT:-20}
. "$(dirname "$0")/lib.sh"

H=$HELPERS
EVIDENCE=$TOP/build/evidence
DEV_LAYER=${DEV_LAYER:-overlay}

# The host's /dev as it is before any test: nothing here may change it.
host_dev_state() {
	printf 'dev=%s log=%s\n' "$(stat -c %d /dev)" "$(stat -c '%F:%i' /dev/log 2>/dev/null || echo absent)"
}
HOST_DEV_BEFORE=$(host_dev_state)

expect_host_dev_untouched() {
	expect_eq "$(host_dev_state)" "$HOST_DEV_BEFORE" "the host's /dev (its device, /dev/log)"
}

find_bin() {
	local b
	for b in "$@"; do
		command -v "$b" 2>/dev/null && return 0
		[ -x "/usr/sbin/$b" ] && echo "/usr/sbin/$b" && return 0
	done
	return 1
}
RSYSLOGD=$(find_bin rsyslogd)
NODE_EXPORTER=$(find_bin prometheus-node-exporter node_exporter)

# ---- syslog: rsyslogd + a private /dev/log ------------------------------------

need_syslog() {
	[ "$(id -u)" = 0 ] || skip "needs root (a mount namespace with its own /dev)"
	[ -n "$RSYSLOGD" ] || skip "rsyslogd is missing (make deps-check installs rsyslog)"
	command -v unshare >/dev/null && command -v logger >/dev/null ||
		skip "unshare or logger is missing (util-linux, bsdutils)"
	:
}

# start_rsyslog: rsyslogd on $TD/log.sock writing $TD/syslog.txt; $RSPID.
start_rsyslog() {
	mkdir -p rsyslog.work
	cat >rsyslog.conf <<-EOF
		global(workDirectory="$TD/rsyslog.work" maxMessageSize="64k")
		module(load="imuxsock" SysSock.Use="off")
		input(type="imuxsock" Socket="$TD/log.sock" RateLimit.Interval="0")
		template(name="swline" type="string"
		         string="%syslogtag%|%syslogfacility-text%|%syslogseverity-text%|%pri%|%msg%\n")
		action(type="omfile" file="$TD/syslog.txt" template="swline")
	EOF
	t_bg "$RSYSLOGD" -n -f "$TD/rsyslog.conf" -i "$TD/rsyslogd.pid" >rsyslogd.out 2>&1
	RSPID=$BGPID
	if ! wait_for '[ -S log.sock ] && [ -s rsyslogd.pid ] || ! proc_alive $RSPID' 10 ||
		! [ -S log.sock ]; then
		show rsyslog.conf rsyslogd.out
		fail "harness: rsyslogd did not come up on $TD/log.sock"
	fi
	expect_eq "$(cat rsyslogd.pid)" "$RSPID" "harness: rsyslogd's pidfile"
}

# stop_rsyslog: SIGTERM to the pid in its pidfile (after checking it is
# rsyslogd); it flushes syslog.txt as it exits.
stop_rsyslog() {
	local pid
	pid=$(cat rsyslogd.pid 2>/dev/null)
	[ -n "$pid" ] || pid=$RSPID
	expect_eq "$(cat "/proc/$pid/comm" 2>/dev/null)" rsyslogd "harness: comm of pid $pid"
	kill -TERM "$pid"
	t_wait "$pid" 5
	[ "$RC" != timeout ] || fail "harness: rsyslogd did not stop on SIGTERM"
}

# Inside the namespace: $1 = $TD, $2 = the host's /dev device number, $3 =
# overlay|tmpfs; then the command. Stops (before touching /dev/log) unless /dev
# is a mount of this namespace's own.
NS_SETUP='set -eu
td=$1 hostdev=$2 layer=$3
shift 3
mount --make-rprivate /
if [ "$layer" = overlay ] && mount -t overlay stallwatch-test-dev \
	-o "lowerdir=/dev,upperdir=$td/dev.upper,workdir=$td/dev.work" /dev 2>"$td/dev.mount-err"; then
	:
else
	mkdir -p "$td/dev.orig"
	mount --rbind /dev "$td/dev.orig"
	mount -t tmpfs -o mode=755,size=1m stallwatch-test-dev /dev
	for n in null zero full random urandom tty; do
		: >"/dev/$n"
		mount --bind "$td/dev.orig/$n" "/dev/$n"
	done
	ln -s /proc/self/fd /dev/fd
	ln -s /proc/self/fd/0 /dev/stdin
	ln -s /proc/self/fd/1 /dev/stdout
	ln -s /proc/self/fd/2 /dev/stderr
fi
if [ "$(stat -c %d /dev)" = "$hostdev" ]; then
	echo "in_ns: /dev is still the host /dev; not touching it" >&2
	exit 99
fi
ln -sfn "$td/log.sock" /dev/log
exec "$@"'

# ns_prefix: NS=(the command prefix that runs a command where /dev/log is
# $TD/log.sock). unshare and sh exec it: it keeps their pid (t_bg's $BGPID).
ns_prefix() {
	mkdir -p "$TD/dev.upper" "$TD/dev.work"
	NS=(unshare -m sh -c "$NS_SETUP" in_ns "$TD" "$(stat -c %d /dev)" "$DEV_LAYER")
}

# Prove the harness: a logger line from inside the namespace arrives, as
# daemon.warning; the lines after it are the ones under test.
harness_hello() {
	ns_prefix
	"${NS[@]}" logger -t stallwatch -p daemon.warning hello 2>logger.err ||
		{
			show logger.err dev.mount-err
			fail "harness: logger in the namespace failed"
		}
	wait_for 'grep -q "^stallwatch:|daemon|warning|28| \?hello$" syslog.txt 2>/dev/null' 5 ||
		{
			show syslog.txt rsyslogd.out
			fail "harness: logger's line did not reach rsyslog's file"
		}
}

# sw_lines PID: the lines of syslog.txt after the harness line whose tag is
# stallwatch's (`stallwatch:` or `stallwatch[PID]:`) -> sw.lines; other tags
# -> other.lines
sw_lines() {
	awk -F'|' -v pid="$1" '
		!seen { if ($0 ~ /^stallwatch:[|]daemon[|]warning[|]28[|] ?hello$/) seen = 1; next }
		$1 == "stallwatch:" || $1 == "stallwatch[" pid "]:" { print > "sw.lines"; next }
		{ print > "other.lines" }' syslog.txt
	touch sw.lines other.lines
}

# check_syslog PID SEVERITY PRI: every record of out.jsonl is one line of
# sw.lines, in order, with daemon/SEVERITY/PRI, its msg the same JSON.
check_syslog() {
	local pid=$1 sev=$2 pri=$3 n bad
	n=$(wc -l <out.jsonl)
	expect_eq "$(wc -l <sw.lines)" "$n" "stallwatch lines in syslog (one per record of out.jsonl)"
	bad=$(awk -F'|' -v s="$sev" -v p="$pri" '$2 != "daemon" || $3 != s || $4 != p' sw.lines | wc -l)
	expect_eq "$bad" 0 "lines not daemon|$sev|$pri"
	cut -d'|' -f5- sw.lines >msgs.txt
	jq -c -S . msgs.txt >msgs.norm 2>jq.err || fail "a syslog msg is not JSON: $(head -c 300 jq.err)"
	jq -c -S . out.jsonl >out.norm || fail "out.jsonl is not JSON"
	cmp -s msgs.norm out.norm || {
		diff msgs.norm out.norm | head -c 3000
		fail "syslog msgs differ from the records in out.jsonl"
	}
}

# 3 slow nanosleeps, rule command-line (warning): each record (3 slow-syscall
# and their stuck-syscall ones, every 20 ms sleep crosses 1 ms in flight) is
# one daemon.warning line (pri 28) with tag stallwatch, its msg equal to the
# record in -o's file.
test_syslog_warning() {
	need_syslog
	start_rsyslog
	harness_hello
	t_bg "${NS[@]}" "$STALLWATCH" run --syslog --no-default-policy -e nanosleep -m 1ms -o out.jsonl -- \
		"$H/slowcalls" 3 20000 >helper.out 2>err.txt
	local swpid=$BGPID
	t_wait "$swpid" 15
	show err.txt out.jsonl dev.mount-err
	expect_rc 0
	stop_rsyslog
	expect_host_dev_untouched
	sw_lines "$swpid"
	show syslog.txt rsyslogd.out
	expect_eq "$(jq_count out.jsonl 'slow and .rule.name == "command-line"
		and .log.level == "warning" and name == "nanosleep"')" 3 "slow-syscall records in out.jsonl"
	expect_eq "$(jq_count out.jsonl 'slow or stuck | not')" 0 "records other than slow/stuck-syscall"
	check_syslog "$swpid" warning 28
	expect_eq "$(jq -c 'select(.event.action == "slow-syscall")' msgs.txt | wc -l)" 3 \
		"slow-syscall msgs in syslog"
	mkdir -p "$EVIDENCE"
	grep -m1 '"slow-syscall"' sw.lines >"$EVIDENCE/syslog-line.txt"
}

# A policy rule at severity critical: daemon.crit, pri 26.
test_syslog_critical() {
	need_syslog
	cat >crit.json <<-'EOF'
		{
		  "version": 1,
		  "rules": [
		    { "name": "nanosleep-critical", "syscalls": ["nanosleep"], "min_duration": "1ms",
		      "severity": "critical" }
		  ]
		}
	EOF
	start_rsyslog
	harness_hello
	t_bg "${NS[@]}" "$STALLWATCH" run --syslog --policy crit.json -o out.jsonl -- \
		"$H/slowcalls" 2 20000 >helper.out 2>err.txt
	local swpid=$BGPID
	t_wait "$swpid" 15
	show err.txt out.jsonl dev.mount-err
	expect_rc 0
	stop_rsyslog
	expect_host_dev_untouched
	sw_lines "$swpid"
	show syslog.txt rsyslogd.out
	expect_eq "$(jq_count out.jsonl 'slow and .rule.name == "nanosleep-critical"
		and .log.level == "critical"')" 2 "critical slow-syscall records in out.jsonl"
	expect_eq "$(jq_count out.jsonl '.log.level != "critical"')" 0 "records not critical"
	check_syslog "$swpid" crit 26
	expect_eq "$(jq -c 'select(.event.action == "slow-syscall")' msgs.txt | wc -l)" 2 \
		"slow-syscall msgs in syslog"
}

# STUCK_SYSLOG SOCK GATE OUT: a /dev/log that never reads: bind a datagram
# socket at SOCK, read nothing until GATE exists, then read what is queued
# (one line per datagram) into OUT and exit.
STUCK_SYSLOG='import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
s.setblocking(False)
with open(sys.argv[3], "wb") as f:
    while True:
        try:
            f.write(s.recv(1 << 20) + b"\n")
        except BlockingIOError:
            break'

# A /dev/log whose receiver never reads: AF_UNIX datagrams
# block once its queue is full. The command ends at once; stallwatch exits
# within the 5 s close limit while the receiver still lives; every record is
# sent or counted, exactly: the datagrams the receiver holds (read after the
# exit) + the counts of the records-dropped records among them + the syslog
# exit lines on stderr = the records in the -o file. Each datagram is
# `<PRI>Mmm dd hh:mm:ss stallwatch[PID]: JSON`, as syslog(3) sends it.
test_syslog_blocked() {
	[ "$(id -u)" = 0 ] || skip "needs root (a mount namespace with its own /dev)"
	command -v unshare >/dev/null || skip "unshare is missing (util-linux)"
	command -v python3 >/dev/null || skip "python3 is missing (the receiver)"
	t_bg python3 -c "$STUCK_SYSLOG" "$TD/log.sock" gate received.txt
	local rcv=$BGPID
	wait_for '[ -S log.sock ]' 10 || fail "harness: the receiver did not bind $TD/log.sock"
	ns_prefix
	t_bg "${NS[@]}" "$STALLWATCH" run --syslog --no-default-policy -e nanosleep -m 0 --rate-limit 0 \
		-o out.jsonl --metrics-file m.prom -- "$H/slowcalls" 500 300 >helper.out 2>err.txt
	local swpid=$BGPID t0 waited
	wait_for 'grep -q "^done" helper.out' 30 || fail "the command did not finish"
	t0=$(now_ms)
	t_wait "$swpid" 12
	waited=$(($(now_ms) - t0))
	show err.txt dev.mount-err
	[ "$RC" != timeout ] || fail "stallwatch did not exit within 12 s of the command's end (the receiver still lives)"
	expect_rc 0
	proc_alive "$rcv" || fail "harness: the receiver died before stallwatch exited"
	touch gate
	t_wait "$rcv" 10
	expect_host_dev_untouched
	local made got lost said bad supp
	made=$(jq_count out.jsonl slow)
	sed 's/^[^{]*//' received.txt >received.json
	got=$(jq_count received.json slow)
	lost=$(jq -R -s '[split("\n")[] | fromjson? |
		select(.event.action == "records-dropped" and .stallwatch.dropped.action == "slow-syscall")
		| .stallwatch.dropped.count] | add // 0' received.json)
	said=$(awk '/^stallwatch: syslog: [0-9]+ record\(s\) / { s += $3 } END { print s + 0 }' err.txt)
	echo "made $made, syslog got $got, records-dropped $lost, said on stderr $said, exit $waited ms after the command"
	[ "$waited" -le 9000 ] || fail "stallwatch exited $waited ms after the command (close limit 5 s)"
	supp=$(sed -n 's/^stallwatch_calls_suppressed_total{[^}]*} //p' m.prom)
	expect_eq "$((made + ${supp:-0}))" 500 "slow-syscall records in out.jsonl ($made) + suppressed (${supp:-0})"
	expect_eq "$((got + lost + said))" "$made" "received ($got) + records-dropped ($lost) + said on stderr ($said)"
	[ "$got" -ge 1 ] || fail "the receiver got nothing"
	bad=$(grep -Evc "^<(2[0-9]|3[01])>[A-Z][a-z]{2} [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] stallwatch\\[$swpid\\]: \\{" received.txt)
	expect_eq "$bad" 0 "datagrams not in syslog(3)'s format"
}

# After everything: the host's /dev is as it was, no /dev/log was made on it.
test_host_dev() {
	expect_host_dev_untouched
	case $HOST_DEV_BEFORE in
	*log=absent) [ ! -e /dev/log ] && [ ! -L /dev/log ] || fail "the host has a /dev/log now" ;;
	esac
}

# ---- node_exporter's textfile collector ---------------------------------------

need_node_exporter() {
	[ -n "$NODE_EXPORTER" ] ||
		skip "prometheus-node-exporter is missing (make deps-check installs it)"
	command -v python3 >/dev/null || skip "python3 is missing (parses the scrape)"
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# scrape OUT: GET http://127.0.0.1:$NE_PORT/metrics into OUT
scrape() {
	if command -v curl >/dev/null; then
		curl -sf --max-time 5 "http://127.0.0.1:$NE_PORT/metrics" -o "$1"
	else
		python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
			"http://127.0.0.1:$NE_PORT/metrics" >"$1"
	fi
}

# start_node_exporter DIR: textfile collector only, on DIR; $NEPID, $NE_PORT.
# It must answer a scrape showing DIR's harness.prom, with no scrape error.
start_node_exporter() {
	local _
	mkdir -p "$1"
	printf '# HELP sw_e2e_harness written by the test\n# TYPE sw_e2e_harness gauge\nsw_e2e_harness 1\n' \
		>"$1/harness.prom"
	for _ in 1 2 3; do
		NE_PORT=$(free_port)
		t_bg "$NODE_EXPORTER" --collector.disable-defaults --collector.textfile \
			--collector.textfile.directory="$1" --web.listen-address="127.0.0.1:$NE_PORT" \
			>node_exporter.log 2>&1
		NEPID=$BGPID
		wait_for 'scrape harness.txt 2>/dev/null || ! proc_alive $NEPID' 10
		proc_alive "$NEPID" && break
		grep -q 'address already in use' node_exporter.log || break
	done
	if ! proc_alive "$NEPID" || ! scrape harness.txt; then
		show node_exporter.log
		fail "harness: node_exporter did not come up on 127.0.0.1:$NE_PORT"
	fi
	show harness.txt
	expect_eq "$(prom harness.txt sw_e2e_harness)" 1 "harness: sw_e2e_harness in the scrape"
	expect_eq "$(prom harness.txt node_textfile_scrape_error)" 0 "harness: node_textfile_scrape_error"
}

stop_node_exporter() {
	expect_eq "$(cat "/proc/$NEPID/comm" 2>/dev/null)" prometheus-node "harness: comm of pid $NEPID"
	kill -TERM "$NEPID"
	t_wait "$NEPID" 5
	[ "$RC" != timeout ] || fail "harness: node_exporter did not stop on SIGTERM"
}

# prom FILE NAME [LABEL=VALUE...]: the value of the sample NAME with exactly
# these labels (any order; `le` compared as a number), as an integer when it
# is one; status 1 if there is none.
prom() {
	python3 - "$@" <<-'EOF'
		import re, sys
		f, name, want = sys.argv[1], sys.argv[2], sys.argv[3:]
		def norm(k, v):
		    return float(v) if k == "le" else v
		want = {k: norm(k, v) for k, v in (a.split("=", 1) for a in want)}
		sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$')
		label = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
		for line in open(f):
		    m = sample.match(line.strip())
		    if not m or line.startswith("#") or m.group(1) != name:
		        continue
		    if {k: norm(k, v) for k, v in label.findall(m.group(2) or "")} == want:
		        v = float(m.group(3))
		        print(int(v) if v.is_integer() else repr(v))
		        sys.exit(0)
		sys.exit(1)
	EOF
}

# the stallwatch_* and node_textfile_* lines (with their HELP/TYPE) of a scrape
excerpt() {
	grep -E '^(# (HELP|TYPE) )?(stallwatch_|node_textfile_)' "$1"
}

# run --metrics-file into node_exporter's directory: 5 slow nanosleeps are
# counted, the durations histogram has them, no scrape error.
test_node_exporter_run() {
	need_node_exporter
	start_node_exporter "$TD/textfile"
	sw run --metrics-file "$TD/textfile/stallwatch.prom" -e nanosleep -m 1ms -o out.jsonl -- \
		"$H/slowcalls" 5 5000 >helper.out 2>err.txt
	show err.txt textfile/stallwatch.prom
	expect_rc 0
	scrape scrape.txt || fail "scrape failed"
	excerpt scrape.txt >excerpt.txt
	show excerpt.txt node_exporter.log
	stop_node_exporter
	expect_eq "$(prom scrape.txt node_textfile_scrape_error)" 0 "node_textfile_scrape_error"
	# a call our own CPU wait explains is not reported (stallwatch_calls_suppressed_total)
	local supp
	supp=$(prom scrape.txt stallwatch_calls_suppressed_total source=stallwatch)
	expect_eq "$(($(prom scrape.txt stallwatch_records_total action=slow-syscall rule=command-line \
		syscall=nanosleep source=stallwatch) + supp))" 5 'stallwatch_records_total{action="slow-syscall",rule="command-line",syscall="nanosleep"} + suppressed'
	expect_eq "$(($(jq_count out.jsonl 'slow and .rule.name == "command-line" and name == "nanosleep"') + supp))" 5 \
		"slow-syscall records in out.jsonl + suppressed"
	local count b1 b10
	count=$(prom scrape.txt stallwatch_syscall_duration_seconds_count syscall=nanosleep source=stallwatch)
	[ "${count:-0}" -ge 5 ] || fail "stallwatch_syscall_duration_seconds_count{syscall=\"nanosleep\"} '$count', want >= 5"
	b1=$(prom scrape.txt stallwatch_syscall_duration_seconds_bucket syscall=nanosleep le=0.001 source=stallwatch)
	b10=$(prom scrape.txt stallwatch_syscall_duration_seconds_bucket syscall=nanosleep le=0.01 source=stallwatch)
	[ -n "$b1" ] && [ -n "$b10" ] && [ "$b1" -lt "$b10" ] ||
		fail "nanosleep buckets le=0.001 '$b1' not < le=0.01 '$b10' (5 ms sleeps)"
	expect_eq "$(prom scrape.txt stallwatch_syscall_duration_seconds_bucket syscall=nanosleep le=+Inf source=stallwatch)" \
		"$count" "le=+Inf bucket = _count"
	grep -Eq '^stallwatch_info\{.*mode="run"' scrape.txt || fail 'no stallwatch_info{mode="run"} in the scrape'
	expect_eq "$(ls -A textfile | tr '\n' ' ')" "harness.prom stallwatch.prom " \
		"files in the textfile directory (no temp file left)"
	mkdir -p "$EVIDENCE"
	cp excerpt.txt "$EVIDENCE/scrape.txt"
}

# scan --metrics-file: the gauges node_exporter serves are the host-scan
# record's numbers.
test_node_exporter_scan() {
	need_node_exporter
	start_node_exporter "$TD/textfile"
	sw scan --metrics-file "$TD/textfile/scan.prom" -o scan.jsonl 2>err.txt
	show err.txt scan.jsonl textfile/scan.prom
	expect_rc 0
	# a second stallwatch in the same directory: its series differ by source=
	sw scan --metrics-file "$TD/textfile/stallwatch-other.prom" -o /dev/null 2>err2.txt
	expect_rc 0
	scrape scrape.txt || fail "scrape failed"
	excerpt scrape.txt >excerpt.txt
	show excerpt.txt node_exporter.log
	stop_node_exporter
	expect_eq "$(prom scrape.txt node_textfile_scrape_error)" 0 "node_textfile_scrape_error"
	expect_eq "$(jq_count scan.jsonl '.event.action == "host-scan"')" 1 "host-scan records"
	local off neg
	off=$(jq_get scan.jsonl '.event.action == "host-scan"' '.stallwatch.memcg.offline // empty')
	if [ -n "$off" ]; then
		expect_eq "$(prom scrape.txt stallwatch_memcg_offline source=scan)" "$off" "stallwatch_memcg_offline"
	fi
	neg=$(jq_get scan.jsonl '.event.action == "host-scan"' '.stallwatch.dentry.negative')
	expect_eq "$(prom scrape.txt stallwatch_dentry_negative source=scan)" "$neg" "stallwatch_dentry_negative"
	expect_eq "$(prom scrape.txt stallwatch_scans_total source=scan)" 1 "stallwatch_scans_total"
	grep -Eq '^stallwatch_info\{.*mode="scan"' scrape.txt || fail 'no stallwatch_info{mode="scan"} in the scrape'
	# both files' series, none dropped as "collected before"
	expect_eq "$(prom scrape.txt stallwatch_scans_total source=stallwatch-other)" 1 \
		"stallwatch_scans_total of the second file"
	[ -n "$(prom scrape.txt stallwatch_start_time_seconds source=scan)" ] &&
		[ -n "$(prom scrape.txt stallwatch_start_time_seconds source=stallwatch-other)" ] ||
		fail "stallwatch_start_time_seconds of both files"
	grep -q 'collected before' node_exporter.log && fail "node_exporter dropped duplicate series"
	mkdir -p "$EVIDENCE"
	cp excerpt.txt "$EVIDENCE/scrape-scan.txt"
}

t_run syslog_warning test_syslog_warning
t_run syslog_critical test_syslog_critical
t_run syslog_blocked test_syslog_blocked
t_run host_dev_untouched test_host_dev
t_run node_exporter_run test_node_exporter_run
t_run node_exporter_scan test_node_exporter_scan
t_done
