#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# sinks.sh - where records go and what happens when they cannot: the -o file
# rotated under a running stallwatch (mv + SIGUSR1), a full disk (a tiny
# tmpfs of our own), a burst cut by the default rate limit, a stuck reader
# filling the queue, the journal's <N> prefix, --syslog without /dev/log, and
# the metrics file. Every loss must show up, exactly, in records-dropped
# records: written + dropped = what the program did.
. "$(dirname "$0")/lib.sh"

H=$HELPERS

# dropped FILE REASON [ACTION]: the sum of stallwatch.dropped.count of records-dropped
# records for REASON (and the records' event.action ACTION)
dropped() {
	jq -R -s --arg r "$2" --arg a "${3:-}" '[split("\n")[] | fromjson? | select(.event.action == "records-dropped"
		and .stallwatch.dropped.reason == $r and ($a == "" or .stallwatch.dropped.action == $a))
		| .stallwatch.dropped.count] | add // 0' "$1"
}

# suppressed PROM: calls over the threshold that stallwatch did not report because its own wait
# for a CPU explains the excess (a loaded machine); they are neither records nor drops
suppressed() {
	local v
	v=$(sed -n 's/^stallwatch_calls_suppressed_total{[^}]*} //p' "$1")
	[ -n "$v" ] || fail "no stallwatch_calls_suppressed_total in $1"
	echo "$v"
}

# Every line of FILE is one whole JSON object (no torn line).
all_json() {
	local bad
	bad=$(jq -R 'fromjson? // "BAD" | select(. == "BAD")' "$1" | wc -l)
	[ "$bad" = 0 ] || fail "$bad line(s) of $1 are not JSON"
}

# Rotation: mv the file away, SIGUSR1; every record lands in exactly one of
# the two files, none twice, none lost; the new file is 0600.
test_rotate() {
	t_bg "$STALLWATCH" run --no-default-policy -e nanosleep -m 1ms --rate-limit 0 -o out.jsonl \
		--metrics-file m.prom -- "$H/slowcalls" 300 5000 gate 150 >helper.out 2>err.txt
	local swpid=$BGPID
	wait_for 'grep -q "^waiting" helper.out' 20 || fail "the helper did not reach its gate"
	wait_for '[ "$(jq_count out.jsonl slow)" -ge 100 ]' 20 || fail "the first records did not arrive"
	mv out.jsonl out.1
	kill -USR1 "$swpid"
	wait_for '[ -f out.jsonl ]' 10 || fail "SIGUSR1 did not reopen the file"
	touch gate
	t_wait "$swpid" 30
	show err.txt
	expect_rc 0
	local old new uniq supp
	supp=$(suppressed m.prom)
	old=$(jq_count out.1 slow)
	new=$(jq_count out.jsonl slow)
	uniq=$(cat out.1 out.jsonl | jq -r 'select(.event.action == "slow-syscall")
		| "\(.process.thread.id) \(.event.start)"' | sort -u | wc -l)
	expect_eq "$((old + new + supp))" 300 "records in the old and the new file ($old + $new) + suppressed ($supp)"
	expect_eq "$uniq" "$((old + new))" "distinct records"
	[ "$new" -ge 1 ] || fail "nothing went to the reopened file"
	expect_eq "$(stat -c %a out.jsonl)" 600 "mode of the reopened file"
	all_json out.1
	all_json out.jsonl
}

# mount_tiny DIR KB: a private tmpfs of KB KiB (ours; unmounted at the end of the test)
mount_tiny() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=${2}k,mode=0700" stallwatch-test "$1" 2>/dev/null ||
		skip "cannot mount a tmpfs (not root?)"
}

# after a test, whatever happened in it: no mount of ours stays
t_unmount() {
	umount -l "$T_TMP/$1/full" 2>/dev/null
	return 0
}

fill() {
	# ENOSPC ends it; what is left is less than one record
	dd if=/dev/zero of="$1/filler" bs=4k 2>/dev/null
	sync -f "$1/filler" 2>/dev/null
}

# A full disk: tracing goes on, the exit status is the command's, the loss is
# said once on stderr, and when space returns a records-dropped record with the
# exact count follows; no torn line is left behind.
test_full_disk() {
	mount_tiny full 1024
	fill full
	t_bg "$STALLWATCH" run --no-default-policy -e nanosleep -m 1ms --rate-limit 0 \
		-o full/out.jsonl --metrics-file m.prom -- "$H/slowcalls" 200 5000 gate 80 >helper.out 2>err.txt
	local swpid=$BGPID
	wait_for 'grep -q "^waiting" helper.out' 20 || fail "the helper did not reach its gate"
	# the records of the first 80 calls reach the writer and fail
	wait_for 'grep -q "cannot write to output" err.txt' 20 || fail "no stderr line about the full disk"
	sleep 0.3
	rm -f full/filler
	touch gate
	t_wait "$swpid" 30
	cp full/out.jsonl out.jsonl
	umount full
	show err.txt out.jsonl
	expect_rc 0
	local written lost supp
	written=$(jq_count out.jsonl slow)
	lost=$(dropped out.jsonl write-error slow-syscall)
	supp=$(suppressed m.prom)
	[ "$lost" -ge 1 ] || fail "no records-dropped record with reason write-error"
	expect_eq "$((written + lost + supp))" 200 "written ($written) + dropped ($lost) slow-syscall records + suppressed ($supp)"
	expect_eq "$(grep -c 'cannot write to output' err.txt)" 1 "stderr lines about the failure"
	grep -q 'writable again' err.txt || fail "no stderr line about the recovery"
	expect_eq "$(jq -r 'select(.event.action == "records-dropped") | .stallwatch.dropped.errno' out.jsonl | sort -u)" \
		ENOSPC "errno of the loss"
	all_json out.jsonl
}

# The disk never recovers: the exit status is still the command's, and one
# stderr line at exit gives the count.
test_full_disk_forever() {
	mount_tiny full 64
	fill full
	sw run --no-default-policy -e nanosleep -m 1ms --rate-limit 0 -o full/out.jsonl -- \
		sh -c '"$0" 50 2000 && exit 7' "$H/slowcalls" >helper.out 2>err.txt
	umount full
	show err.txt
	expect_rc 7
	# 50 slow records, plus the stuck ones of calls still asleep at 1 ms
	local n
	n=$(sed -n 's/^stallwatch: \([0-9]*\) record(s) could not be written: No space left on device$/\1/p' err.txt)
	[ -n "$n" ] && [ "$n" -ge 1 ] && [ "$n" -le 100 ] || fail "no stderr line with the count (1-100)"
}

# 5000 slow calls in a burst against the default rate limit (600 a minute per
# process and rule): a bounded number of records, the rest counted exactly.
test_ratelimit_burst() {
	sw run --no-default-policy -e nanosleep -m 1us -o out.jsonl --metrics-file m.prom -- \
		"$H/slowcalls" 5000 500 >helper.out 2>err.txt
	show err.txt
	expect_rc 0
	local written lost supp
	written=$(jq_count out.jsonl slow)
	lost=$(dropped out.jsonl rate-limit)
	supp=$(suppressed m.prom)
	expect_eq "$((written + lost + supp))" 5000 "written ($written) + dropped ($lost) + suppressed ($supp)"
	# the burst of 600, plus the refill of 10 a second while it ran
	local most=$((600 + ELAPSED_MS / 100 + 5))
	[ "$written" -ge 600 ] && [ "$written" -le "$most" ] ||
		fail "$written records: want the burst of 600 + the refill (at most $most in $ELAPSED_MS ms)"
	expect_eq "$(jq -r 'select(.event.action == "records-dropped") |
		"\(.event.kind) \(.log.level) \(.rule.name) \(.stallwatch.dropped.rule)"' out.jsonl | sort -u)" \
		"event warning stallwatch.records-dropped command-line" "records-dropped fields"
	[ "$(jq_count out.jsonl '.event.action == "records-dropped" and .stallwatch.dropped.final')" -ge 1 ] ||
		fail "no final records-dropped record"
}

# A reader that stops reading: the pipe and then the queue fill up, the command
# runs on at full speed, and once a reader drains the pipe the queue-full
# count makes written + dropped exact.
test_queue_full() {
	mkfifo fifo
	t_bg sh -c 'exec sleep 120 <fifo' # holds the read end, never reads
	local holder=$BGPID
	# a queue of 100 records (doc/sinks.md); calls of 1 ms, far above the threshold, so
	# every one is reported (a call near it may be explained away by our own delay)
	STALLWATCH_QUEUE_RECORDS=100 t_bg "$STALLWATCH" run --no-default-policy -e nanosleep -m 10us \
		--rate-limit 0 -o fifo --metrics-file m.prom -- "$H/slowcalls" 1500 1000 >helper.out 2>err.txt
	local swpid=$BGPID
	wait_for 'grep -q "^done" helper.out' 60 || fail "the command did not finish while the output was stuck"
	t_bg sh -c 'exec cat fifo >out.jsonl'
	local reader=$BGPID
	# the holder goes only once cat has the FIFO open (or is done with it already): never a
	# moment without a reader, which would give stallwatch EPIPE
	wait_for "ls -l /proc/$reader/fd 2>/dev/null | grep -q '$TD/fifo\$' || ! proc_alive $reader" 10 ||
		fail "cat did not open the FIFO"
	kill "$holder"
	t_wait "$swpid" 30
	show err.txt
	expect_rc 0
	local written lost supp
	written=$(jq_count out.jsonl slow)
	lost=$(dropped out.jsonl queue-full slow-syscall)
	lost=$((lost + $(dropped out.jsonl write-error slow-syscall)))
	supp=$(suppressed m.prom)
	[ "$(dropped out.jsonl queue-full)" -ge 1 ] || fail "nothing dropped with the pipe stuck ($written written)"
	expect_eq "$((written + lost + supp))" 1500 "written ($written) + dropped ($lost) slow-syscall records + suppressed ($supp)"
	all_json out.jsonl
}

# stdout is the journal ($JOURNAL_STREAM names it): each line gets the "<N>"
# priority prefix journald turns into PRIORITY=N; elsewhere no prefix.
test_journal_prefix() {
	: >out.txt
	JOURNAL_STREAM=$(stat -c '%d:%i' out.txt) "$STALLWATCH" scan >>out.txt 2>err.txt
	show out.txt err.txt
	grep -q '^<6>{".*"action":"host-scan"' out.txt || fail "host-scan line without <6>"
	[ "$(grep -vc '^<[0-7]>{' out.txt)" = 0 ] || fail "a line without a priority prefix"
	JOURNAL_STREAM=1:2 "$STALLWATCH" scan >plain.txt 2>err.txt
	grep -q '^{' plain.txt || fail "a prefix although stdout is not the journal"
}

# STALLWATCH_HOST_NAME names the host (a pod passes its node's name).
test_host_name() {
	STALLWATCH_HOST_NAME=node-17 "$STALLWATCH" scan >out.jsonl 2>err.txt
	show err.txt
	expect_eq "$(jq -r '.host.name' out.jsonl | sort -u)" node-17 "host.name"
	STALLWATCH_HOST_NAME= "$STALLWATCH" scan >out2.jsonl 2>err.txt
	expect_eq "$(jq -r '.host.name' out2.jsonl | sort -u)" "$(hostname)" "host.name without the variable"
}

# --syslog where there is no /dev/log (this host): nothing breaks, the stream
# still gets every record.
test_syslog_missing() {
	[ -e /dev/log ] && skip "this host has a /dev/log (sinks_daemons.sh tests a real one)"
	sw run --no-default-policy --syslog -e nanosleep -m 1ms -o out.jsonl --metrics-file m.prom -- \
		"$H/slowcalls" 5 5000 >helper.out 2>err.txt
	show err.txt
	expect_rc 0
	expect_eq "$(($(jq_count out.jsonl slow) + $(suppressed m.prom)))" 5 "records + suppressed"
}

# --metrics-file: the file exists (0644), is complete after exit, and counts
# what was recorded and every completed watched call.
test_metrics_file() {
	sw run --no-default-policy -e nanosleep -m 1ms --metrics-file m.prom -o out.jsonl -- \
		"$H/slowcalls" 7 5000 >helper.out 2>err.txt
	show err.txt m.prom
	expect_rc 0
	expect_eq "$(stat -c %a m.prom)" 644 "mode"
	local n
	n=$(sed -n 's/^stallwatch_records_total{action="slow-syscall",rule="command-line",syscall="nanosleep",source="m"} //p' m.prom)
	expect_eq "$((${n:-0} + $(suppressed m.prom)))" 7 "records counter + suppressed"
	expect_eq "${n:-0}" "$(jq_count out.jsonl slow)" "records counter = records in the file"
	grep -qx 'stallwatch_syscall_duration_seconds_count{syscall="nanosleep",source="m"} 7' m.prom ||
		fail "histogram count"
	grep -q '^stallwatch_info{.*mode="run"' m.prom || fail "stallwatch_info"
	[ "$(ls -A | grep -c '\.tmp$')" = 0 ] || fail "a temp file was left"
	# a directory that does not exist: one clear line, usage-time failure
	sw run --metrics-file /nonexistent/dir/m.prom -- true 2>err2.txt
	[ "$RC" != 0 ] || fail "a metrics file in a missing directory was accepted"
	grep -q "^stallwatch: .*metrics file" err2.txt || fail "no clear error line: $(cat err2.txt)"
}

# SLOW_READER FIFO OUT LIMIT GATE: read LIMIT bytes of FIFO slowly (4 KiB every
# 10 ms) into OUT, then stop reading but keep the FIFO open (OUT.stopped says
# so) until GATE exists; then read the rest, up to EOF.
SLOW_READER='import os, sys, time
fifo, out, limit, gate = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
fd = os.open(fifo, os.O_RDONLY)
o = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
total = 0
while total < limit:
    b = os.read(fd, min(4096, limit - total))
    if not b:
        break
    os.write(o, b)
    total += len(b)
    time.sleep(0.01)
open(out + ".stopped", "w").close()
while not os.path.exists(gate):
    time.sleep(0.05)
while True:
    b = os.read(fd, 65536)
    if not b:
        break
    os.write(o, b)'

# made PROM: the records stallwatch made, from the metrics file: every
# slow-syscall record, plus those the metrics file's own queue could not take
made() {
	local a b
	a=$(sed -n 's/^stallwatch_records_total{action="slow-syscall",[^}]*} //p' "$1" | awk '{ s += $1 } END { print s + 0 }')
	b=$(sed -n 's/^stallwatch_records_dropped_total{reason="queue-full",[^}]*sink="metrics"[^}]*} //p' "$1" |
		awk '{ s += $1 } END { print s + 0 }')
	echo $((a + b))
}

# lost_said ERR LABEL: the records of the exit lines on stderr about LABEL
# (queue full, still queued at exit, write errors), summed
lost_said() {
	awk -v l="$2" '
		index($0, "stallwatch: " l ": ") == 1 && match($0, /: [0-9]+ record\(s\) /) {
			s += substr($0, RSTART + 2, RLENGTH - 13) }
		l ~ /^output / && /^stallwatch: [0-9]+ record\(s\) could not be written: / { s += $2 }
		END { print s + 0 }' "$1"
}

# A reader that reads 256 KiB slowly, then stops but keeps the FIFO open
#. The metrics file keeps counting while the stream is
# stuck (it has its own queue and thread), stallwatch exits within the 5 s
# close limit once the command is done, and every record is written or
# counted, exactly: the records in the FIFO + the counts of its
# records-dropped records + the counts of the exit lines on stderr = the
# records made.
test_fifo_stuck_exact() {
	command -v python3 >/dev/null || skip "python3 is missing (the slow reader)"
	mkfifo fifo
	t_bg python3 -c "$SLOW_READER" fifo read.jsonl 262144 gate
	local reader=$BGPID
	# a queue of 500 records: some are dropped as queue-full, some still queued at exit
	STALLWATCH_QUEUE_RECORDS=500 t_bg "$STALLWATCH" run --no-default-policy -e nanosleep -m 0 \
		--rate-limit 0 -o fifo --metrics-file m.prom -- "$H/slowcalls" 3000 300 >helper.out 2>err.txt
	local swpid=$BGPID
	wait_for 'grep -q "^done" helper.out' 60 || fail "the command did not finish"
	wait_for '[ -e read.jsonl.stopped ]' 30 || fail "the reader did not read its 256 KiB"
	local t0 made_live waited
	t0=$(now_ms)
	# the stuck stream does not starve the metrics file (it is rewritten every second)
	wait_for '[ "$(made m.prom)" -ge 2000 ]' 4
	made_live=$(made m.prom)
	t_wait "$swpid" 20
	waited=$(($(now_ms) - t0))
	touch gate
	t_wait "$reader" 10
	show err.txt m.prom
	[ "$RC" != timeout ] || fail "the reader did not see EOF"
	local read lost said supp made
	read=$(jq_count read.jsonl slow)
	lost=$(dropped read.jsonl queue-full slow-syscall)
	lost=$((lost + $(dropped read.jsonl write-error slow-syscall)))
	said=$(lost_said err.txt 'output `fifo`')
	supp=$(suppressed m.prom)
	made=$(made m.prom)
	echo "read $read, records-dropped $lost, said on stderr $said, made $made, suppressed $supp," \
		"metrics while stuck $made_live, exit $waited ms after the command"
	[ "$made_live" -ge 2000 ] || fail "the metrics file counted $made_live records while the stream was stuck"
	[ "$waited" -le 10000 ] || fail "stallwatch exited $waited ms after the command (close limit 5 s)"
	expect_eq "$((made + supp))" 3000 "records made ($made) + suppressed ($supp)"
	expect_eq "$((read + lost + said))" "$made" "read ($read) + records-dropped ($lost) + said on stderr ($said)"
	[ "$said" -ge 1 ] || fail "nothing said on stderr although the reader stopped"
	grep -q 'still queued at exit were not written' err.txt || fail "no exit line about the records still queued"
	all_json read.jsonl
}

# -o FIFO that nobody reads: opening it never blocks.
# attach says once that the FIFO has no reader, attaches, and SIGTERM ends it
# with the status of a clean detach.
test_fifo_no_reader_attach() {
	mkfifo fifo
	t_bg "$H/sleeper" 60000 >helper.out
	local target=$BGPID
	wait_for 'grep -q "^pid" helper.out' 10 || fail "the target did not start"
	t_bg "$STALLWATCH" attach -p "$target" -o fifo 2>err.txt
	local swpid=$BGPID
	wait_for "grep -q 'attached $target' err.txt" 10 || {
		show err.txt
		fail "not attached while the FIFO has no reader"
	}
	kill -TERM "$swpid"
	t_wait "$swpid" 10
	show err.txt
	[ "$RC" != timeout ] || fail "SIGTERM did not end stallwatch"
	expect_rc 0
	expect_eq "$(grep -c 'output `fifo` is a FIFO with no reader' err.txt)" 1 "stderr lines about the missing reader"
	proc_alive "$target" || fail "the target died"
}

# run -o FIFO without a reader: COMMAND starts at once (records wait in the
# queue), the wait is said once, and a reader that comes after COMMAND's end
# (within the close limit) gets every record.
test_fifo_no_reader_run() {
	mkfifo fifo
	t_bg "$STALLWATCH" run --no-default-policy -e nanosleep -m 1ms -o fifo --metrics-file m.prom -- \
		"$H/slowcalls" 5 20000 >helper.out 2>err.txt
	local swpid=$BGPID
	wait_for 'grep -q "^done" helper.out' 20 || {
		show err.txt
		fail "the command did not run while the FIFO had no reader"
	}
	expect_eq "$(grep -c 'output `fifo` is a FIFO with no reader' err.txt)" 1 "stderr lines about the missing reader"
	t_bg sh -c 'exec cat fifo >out.jsonl'
	t_wait "$swpid" 15
	show err.txt out.jsonl
	expect_rc 0
	expect_eq "$(($(jq_count out.jsonl slow) + $(suppressed m.prom)))" 5 "records the late reader got + suppressed"
	all_json out.jsonl
}

# scan -o FIFO without a reader: the scans go on, SIGINT ends it (status 0)
# within the close limit, and the records nobody read are counted on stderr.
test_fifo_no_reader_scan() {
	mkfifo fifo
	t_bg "$STALLWATCH" scan --interval 1s -o fifo 2>err.txt
	local swpid=$BGPID
	wait_for 'grep -q "FIFO with no reader" err.txt' 10 || {
		show err.txt
		fail "nothing said about the FIFO without a reader"
	}
	sleep 1.5
	kill -INT "$swpid"
	t_wait "$swpid" 12
	show err.txt
	[ "$RC" != timeout ] || fail "SIGINT did not end scan"
	expect_rc 0
	grep -Eq '^stallwatch: output `fifo`: [0-9]+ record\(s\) still queued at exit were not written: no process opened the FIFO for reading' err.txt ||
		fail "no exit line with the count of records nobody read"
}

t_run rotate test_rotate
t_run full_disk test_full_disk
t_unmount full_disk
t_run full_disk_forever test_full_disk_forever
t_unmount full_disk_forever
t_run ratelimit_burst test_ratelimit_burst
t_run queue_full test_queue_full
t_run journal_prefix test_journal_prefix
t_run host_name test_host_name
t_run syslog_missing test_syslog_missing
t_run metrics_file test_metrics_file
t_run fifo_stuck_exact test_fifo_stuck_exact
t_run fifo_no_reader_attach test_fifo_no_reader_attach
t_run fifo_no_reader_run test_fifo_no_reader_run
t_run fifo_no_reader_scan test_fifo_no_reader_scan
t_done
