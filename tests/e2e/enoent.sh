#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# enoent.sh - ENOENT storms (doc/policy.md "enoent_storms", doc/schema.md
# "enoent-storm"): a traced process's failed lookups of many distinct
# missing names in one directory make one enoent-storm record naming the
# process and the directory; lookups of one missing name make none; two
# directories are told apart; -e narrows what is reported, not what is
# counted. The lookups go to directories each test made under $TD. Under
# notify, which sees no results, the one-line statement and no record.
. "$(dirname "$0")/lib.sh"
t_backends ptrace notify bpf

H=$HELPERS/enoentstorm
# a short window, so a test takes a second: 1000 distinct names a second over 2 s
POLICY='{"rules":[{"name":"never","syscalls":["nanosleep"],"min_duration":"60s"}],
 "enoent_storms":{"enabled":true,"distinct_per_s":1000,"window":"2s"}}'
# 3 standard errors of the sketch (9.2 %, doc/policy.md): 27.6 %
TOL_PCT=28

storms() { jq_count "$1" '.event.action == "enoent-storm"'; }

# check_storm FILE DIR DISTINCT COUNT: the one record of DIR
check_storm() {
	local f=$1 dir=$2 want=$3 count=$4 sel got lo hi
	sel=".event.action == \"enoent-storm\" and .stallwatch.enoent.directory == \"$dir\""
	expect_eq "$(jq_count "$f" "$sel")" 1 "enoent-storm records of $dir"
	expect_eq "$(jq_get "$f" "$sel" .process.name)" enoentstorm "process.name"
	expect_eq "$(jq_get "$f" "$sel" .rule.name)" enoent-storm "rule.name"
	expect_eq "$(jq_get "$f" "$sel" .event.kind)" alert "event.kind"
	got=$(jq_get "$f" "$sel" .stallwatch.enoent.count)
	[ "$got" -ge "$count" ] || fail "count $got < $count"
	got=$(jq_get "$f" "$sel" .stallwatch.enoent.distinct)
	lo=$((want * (100 - TOL_PCT) / 100))
	hi=$((want * (100 + TOL_PCT) / 100))
	[ "$got" -ge "$lo" ] && [ "$got" -le "$hi" ] ||
		fail "distinct $got not within $TOL_PCT % of $want"
	expect_eq "$(jq_get "$f" "$sel" '.stallwatch.enoent.samples | length > 0')" true samples
	expect_eq "$(jq_get "$f" "$sel" '.stallwatch.enoent.rate_per_s >= 1000')" true rate_per_s
}

# notify: the statement, and no record
notify_case() {
	sw run --policy p.json -o out.json -- "$H" unique 2000 "$PWD/d" 2>err.txt
	show err.txt out.json
	expect_rc 0
	expect_eq "$(grep -c 'enoent_storms: not detected under --backend=notify' err.txt)" 1 \
		"the statement on stderr"
	expect_eq "$(storms out.json)" 0 "enoent-storm records under notify"
}

test_unique_names() {
	printf '%s\n' "$POLICY" >p.json
	mkdir d
	if backend_is notify; then
		notify_case
		return
	fi
	sw run --policy p.json -o out.json -- "$H" unique 20000 "$PWD/d" >rep.txt 2>err.txt
	show err.txt out.json
	expect_rc 0
	expect_eq "$(hval rep.txt lookups 4)" 20000 "the helper's failed lookups"
	check_storm out.json "$PWD/d" 20000 20000
	# the failed stat() calls are counted, not reported: no rule takes them
	expect_eq "$(jq_count out.json 'slow or stuck')" 0 "syscall records"
}

test_same_name() {
	needs_backend ptrace bpf
	printf '%s\n' "$POLICY" >p.json
	mkdir d
	sw run --policy p.json -o out.json -- "$H" same 20000 "$PWD/d" >rep.txt 2>err.txt
	show err.txt out.json
	expect_rc 0
	expect_eq "$(hval rep.txt lookups 4)" 20000 "the helper's failed lookups"
	expect_eq "$(storms out.json)" 0 "enoent-storm records for one name"
}

# The slow storm: 1500 distinct names, far below distinct_per_s, but above
# distinct_per_day: one record with trigger "day" (the window never fires).
test_day_threshold() {
	needs_backend ptrace bpf
	cat >p.json <<'EOF2'
{"rules":[{"name":"never","syscalls":["nanosleep"],"min_duration":"60s"}],
 "enoent_storms":{"enabled":true,"distinct_per_s":100000,"window":"2s","distinct_per_day":1000}}
EOF2
	mkdir d
	sw run --policy p.json -o out.json -- "$H" unique 1500 "$PWD/d" >rep.txt 2>err.txt
	show err.txt out.json
	expect_rc 0
	expect_eq "$(storms out.json)" 1 "enoent-storm records"
	local sel='.event.action == "enoent-storm"'
	expect_eq "$(jq_get out.json "$sel" .stallwatch.enoent.trigger)" day "trigger"
	expect_eq "$(jq_get out.json "$sel" .stallwatch.enoent.directory)" "$PWD/d" "directory"
	expect_eq "$(jq_get out.json "$sel" .stallwatch.enoent.window_ns)" 86400000000000 "window_ns"
	expect_eq "$(jq_get out.json "$sel" .process.name)" enoentstorm "process.name"
	expect_eq "$(jq_get out.json "$sel" \
		'.stallwatch.enoent.distinct >= 720 and .stallwatch.enoent.distinct <= 1920')" true \
		"distinct within 28 % of 1000..1500"
}

# One directory by absolute paths, the other through a dirfd. The helper
# stays a second after its lookups: under bpf user space names a relative
# lookup's start directory from the live process (doc/policy.md).
test_two_directories() {
	needs_backend ptrace bpf
	printf '%s\n' "$POLICY" >p.json
	mkdir d1 d2
	sw run --policy p.json -o out.json -- "$H" two 20000 "$PWD/d1" "$PWD/d2" -s 1500 >rep.txt 2>err.txt
	show err.txt out.json
	expect_rc 0
	expect_eq "$(storms out.json)" 2 "enoent-storm records"
	check_storm out.json "$PWD/d1" 10000 10000
	check_storm out.json "$PWD/d2" 10000 10000
}

# The built-in default policy enables the detector (100/s over 60 s) and -e
# narrows the reported set only: the stat() calls outside -e are still seen.
# Relative lookups (the cwd); the helper stays a second, as above.
test_default_policy_under_e() {
	needs_backend ptrace bpf
	mkdir d
	sw run -e read -o out.json -- "$H" cwd 20000 "$PWD/d" -s 1500 >rep.txt 2>err.txt
	show err.txt out.json
	expect_rc 0
	check_storm out.json "$PWD/d" 20000 20000
	expect_eq "$(jq_count out.json 'slow or stuck')" 0 "syscall records"
	expect_eq "$(jq_get out.json '.event.action == "enoent-storm"' .log.level)" warning \
		"log.level (the default's severity)"
}

# The record comes a window after the storm opened while the process lives.
test_record_while_running() {
	needs_backend ptrace bpf
	printf '%s\n' "$POLICY" >p.json
	mkdir d
	sw run --policy p.json -o out.json -- "$H" unique 20000 "$PWD/d" -s 3000 >rep.txt 2>err.txt
	show err.txt out.json
	expect_rc 0
	check_storm out.json "$PWD/d" 20000 20000
	expect_eq "$(jq_get out.json '.event.action == "enoent-storm"' \
		'.stallwatch.enoent | has("note")')" false \
		"a note (the record was due, not forced by the end)"
}

# The PagerDuty case at small scale (doc/diagnosing.md): the traced helper
# fails 20 000 lookups of new names in a directory of ours, then an
# untraced one adds NEG_BULK more negative dentries there (1 000 000, about
# 3 s here), then the traced one calls inotify_add_watch(dir,
# IN_ALL_EVENTS), which walks every child dentry (about 90 ms here). One
# slow record with the host's negative dentries (at least half of ours:
# reclaim may prune some, other tests add or free theirs) and the traced
# process as the only producer under the directory; one enoent-storm record
# naming it and the directory. Removing the directory frees our negatives.
NEG_BULK=${NEG_BULK:-1000000}
test_watch_over_negatives() {
	local sel='slow and name == "inotify_add_watch"' storm sel_top pid t0 t1
	needs_backend ptrace bpf
	sanitizer_pass && skip "a million dentries made by a helper: the plain passes run it"
	mkdir d
	storm=".event.action == \"enoent-storm\" and .stallwatch.enoent.directory == \"$PWD/d\""
	t0=$(now_ms)
	t_bg "$STALLWATCH" run -e inotify_add_watch -m 1us -o out.json -- \
		"$H" unique 20000 "$PWD/d" -g "$PWD/gate" -i -o rep.txt
	SWPID=$BGPID
	wait_for 'grep -q ready rep.txt 2>/dev/null' 30 || fail "the traced helper's lookups did not end"
	t1=$(now_ms)
	"$H" unique "$NEG_BULK" "$PWD/d" -p n >bulk.txt || fail "the untraced bulk lookups failed"
	echo "traced lookups $((t1 - t0)) ms, bulk $(($(now_ms) - t1)) ms"
	# bpf: the kernel's counts are copied at least every second (tracer/bpf_enoent.h)
	[ $(($(now_ms) - t1)) -ge 1100 ] || sleep 1.1
	touch gate
	t_wait "$SWPID" 30
	show out.json rep.txt
	expect_rc 0
	expect_eq "$(hval bulk.txt lookups 4)" "$NEG_BULK" "the bulk helper's failed lookups"
	expect_eq "$(jq_count out.json "$sel")" 1 "slow inotify_add_watch records"
	pid=$(jq_get out.json "$sel" .process.pid)
	expect_eq "$(jq_get out.json "$sel" '.event.duration >= 10000000')" true \
		"a walk of $NEG_BULK negative dentries took at least 10 ms"
	expect_eq "$(jq_get out.json "$sel" ".stallwatch.host.dentry.negative >= $NEG_BULK / 2")" true \
		"dentry.negative at least half of our $NEG_BULK"
	expect_eq "$(jq_get out.json "$sel" .stallwatch.host.enoent.directory)" "$PWD/d" \
		"host.enoent.directory"
	expect_eq "$(jq_get out.json "$sel" '.stallwatch.host.enoent.top | length')" 1 \
		"producers under the directory (the bulk helper is not traced)"
	sel_top="$sel and .stallwatch.host.enoent.top[0].process.pid == $pid and
		.stallwatch.host.enoent.top[0].process.name == \"enoentstorm\" and
		.stallwatch.host.enoent.top[0].directory == \"$PWD/d\" and
		.stallwatch.host.enoent.top[0].count == 20000 and
		.stallwatch.host.enoent.top[0].distinct >= $((20000 * (100 - TOL_PCT) / 100)) and
		.stallwatch.host.enoent.top[0].distinct <= 20000"
	expect_eq "$(jq_count out.json "$sel_top")" 1 "the top producer: the traced helper, 20000 lookups"
	check_storm out.json "$PWD/d" 20000 20000
	expect_eq "$(jq_get out.json "$storm" .process.pid)" "$pid" "the storm's process"
	rmdir d || fail "rmdir d"
}

t_run unique_names test_unique_names
t_run same_name test_same_name
t_run two_directories test_two_directories
t_run day_threshold test_day_threshold
t_run default_policy_under_e test_default_policy_under_e
t_run record_while_running test_record_while_running
t_run watch_over_negatives test_watch_over_negatives
t_done
