#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# policy.sh - policy files drive the tracer: path globs, per-rule thresholds,
# severities and tags in records, the rule doc/schema.md's order picks, target
# selection, "override": "append" across files, per-process rate limits,
# result filters, and SIGHUP reloads (good and broken) in run and attach.
. "$(dirname "$0")/lib.sh"

H=$HELPERS

# policy FILE JSON: write a policy file (one line of JSON is enough)
policy() { printf '%s\n' "$2" >"$1"; }

# A path-glob rule at 1 us records reads of memory.stat and nothing else.
test_path_glob() {
	local stat=/sys/fs/cgroup/memory/memory.stat
	[ -r "$stat" ] || stat=/sys/fs/cgroup/unified/cgroup.stat
	[ -r "$stat" ] || skip "no memory.stat or cgroup.stat readable"
	policy p.json '{"rules":[{"name":"stat-read","syscalls":["read"],
		"paths":["*/memory.stat","*/cgroup.stat"],"min_duration":"1us",
		"severity":"critical","tags":["memcg","incident-1"]}]}'
	sw run --policy p.json -o rec.json -- sh -c 'cat "$1" /proc/self/status /etc/passwd >/dev/null' \
		sh "$stat" 2>err.txt
	show rec.json err.txt
	expect_rc 0
	[ "$(jq_count rec.json slow)" -ge 1 ] || fail "no slow-syscall record of the stat read"
	expect_eq "$(jq_count rec.json "sc.fd_path != \"$stat\"")" 0 "records of other files"
	expect_eq "$(jq_count rec.json 'name != "read"')" 0 "records of other syscalls"
	expect_eq "$(jq_get rec.json slow '[.rule.name, .log.level, (.tags|join(",")),
		.stallwatch.threshold_ns] | join(" ")' | sort -u)" \
		"stat-read critical memcg,incident-1 1000" "rule, level, tags, threshold"
}

# Each rule has its own threshold: nanosleep >= 50 ms fires, read >= 2 s does not.
test_per_rule_thresholds() {
	policy p.json '{"rules":[
		{"name":"sleeps","syscalls":["nanosleep"],"min_duration":"50ms"},
		{"name":"reads","syscalls":["read"],"min_duration":"2s","severity":"error"}]}'
	sw run --policy p.json -o rec.json -- sh -c '(sleep 0.3; echo x) | cat >/dev/null;
		exec "$0" 200 out.txt' "$H/sleeper" 2>err.txt
	show rec.json err.txt
	expect_rc 0
	expect_eq "$(jq_count rec.json 'name == "nanosleep" and slow')" 1 "nanosleep records"
	expect_eq "$(jq_get rec.json 'name == "nanosleep" and slow' .stallwatch.threshold_ns)" \
		50000000 "threshold_ns of the nanosleep record"
	expect_eq "$(jq_count rec.json 'name == "read"')" 0 "records of the 300 ms read (rule: 2 s)"
	expect_eq "$(jq_count rec.json '.rule.name != "sleeps"')" 0 "records of other rules"
}

# rule_choice POLICY [OPTIONS]: the rule name of the one nanosleep slow record
rule_choice() {
	policy p.json "$1"
	shift
	rm -f rec.json # -o appends
	sw run --policy p.json "$@" -o rec.json -- "$H/sleeper" 150 out.txt 2>err.txt
	[ "$RC" = 0 ] || {
		show rec.json err.txt
		fail "run exited $RC"
	}
	[ "$(jq_count rec.json 'name == "nanosleep" and slow')" = 1 ] || {
		show rec.json err.txt
		fail "want one nanosleep record"
	}
	jq_get rec.json 'name == "nanosleep" and slow' '"\(.rule.name) \(.log.level)"'
}

# doc/schema.md: command-line rule if it fired; else highest severity; on a
# tie the most specific (path > result > named syscalls > all); then order.
test_rule_choice() {
	local got
	got=$(rule_choice '{"rules":[
		{"name":"any","min_duration":"50ms","severity":"notice"},
		{"name":"named","syscalls":["nanosleep"],"min_duration":"50ms","severity":"critical"},
		{"name":"later","syscalls":["nanosleep"],"min_duration":"50ms","severity":"error"}]}')
	expect_eq "$got" "named critical" "highest severity wins"
	got=$(rule_choice '{"rules":[
		{"name":"any","min_duration":"50ms","severity":"error"},
		{"name":"named","syscalls":["nanosleep"],"min_duration":"50ms","severity":"error"}]}')
	expect_eq "$got" "named error" "tie: named syscalls beat all syscalls"
	got=$(rule_choice '{"rules":[
		{"name":"named","syscalls":["nanosleep"],"min_duration":"50ms","severity":"error"},
		{"name":"ok-only","syscalls":["nanosleep"],"result":"success","min_duration":"50ms",
		 "severity":"error"}]}')
	expect_eq "$got" "ok-only error" "tie: a result filter beats named syscalls"
	got=$(rule_choice '{"rules":[
		{"name":"first","syscalls":["nanosleep"],"min_duration":"50ms","severity":"error"},
		{"name":"second","syscalls":["nanosleep"],"min_duration":"50ms","severity":"error"}]}')
	expect_eq "$got" "first error" "full tie: the earlier rule"
	got=$(rule_choice '{"rules":[
		{"name":"named","syscalls":["nanosleep"],"min_duration":"50ms","severity":"emergency"}]}' \
		-m 100ms)
	expect_eq "$got" "command-line warning" "-m given: the command-line rule wins when it fired"
	got=$(rule_choice '{"rules":[
		{"name":"named","syscalls":["nanosleep"],"min_duration":"50ms","severity":"alert"}]}' \
		-m 1s)
	expect_eq "$got" "named alert" "-m 1s did not fire: the policy rule's record"
	# a higher-threshold rule that fired later still ranks by severity at return
	got=$(rule_choice '{"rules":[
		{"name":"early","syscalls":["nanosleep"],"min_duration":"20ms","severity":"warning"},
		{"name":"late","syscalls":["nanosleep"],"min_duration":"100ms","severity":"critical"}]}')
	expect_eq "$got" "late critical" "the record at return comes from the best rule that fired"
	expect_eq "$(jq_get rec.json stuck .rule.name)" early "the stuck record came from the first rule crossed"
}

# A rule limited to one comm ignores another process of the same run;
# "children": true extends a target to the descendants of its matches.
test_targets() {
	policy p.json '{"targets":{"sl":{"comm":"sleep*"}},
		"rules":[{"name":"sl-only","targets":["sl"],"syscalls":["nanosleep","clock_nanosleep"],
		"min_duration":"50ms"}]}'
	cp "$H/sleeper" ./sleepy
	sw run --policy p.json -o rec.json -- sh -c './sleepy 150 a.txt; cp ./sleepy ./napper;
		./napper 150 b.txt' 2>err.txt
	show rec.json err.txt
	expect_rc 0
	expect_eq "$(jq_count rec.json 'slow and .process.name == "sleepy"')" 1 "records of sleepy"
	expect_eq "$(jq_count rec.json '.process.name == "napper"')" 0 "records of napper (not a target)"

	policy c.json '{"targets":{"shell":{"comm":"sh","exe":"*/dash","children":true},
		"exact":{"comm":"sh"}},
		"rules":[{"name":"tree","targets":["shell"],"syscalls":["nanosleep"],"min_duration":"50ms"},
		{"name":"only-sh","targets":["exact"],"syscalls":["wait4"],"min_duration":"50ms"}]}'
	[ "$(readlink -f /bin/sh)" = /usr/bin/dash ] || skip "/bin/sh is not dash"
	sw run --policy c.json -o rec2.json -- sh -c './sleepy 150 a.txt; ./napper 150 b.txt' 2>err.txt
	show rec2.json err.txt
	expect_rc 0
	expect_eq "$(jq_count rec2.json 'slow and name == "nanosleep"')" 2 \
		"nanosleep records of sh's children (children: true)"
	[ "$(jq_count rec2.json 'slow and name == "wait4" and .process.name == "sh"')" -ge 1 ] ||
		fail "no wait4 record of sh itself"
}

# "override": "append" in a later file extends the rule: syscalls and tags
# append, severity is replaced; a later plain rule of the same name replaces.
test_append_override() {
	policy base.json '{"rules":[{"name":"sleeps","syscalls":["nanosleep"],"min_duration":"50ms",
		"severity":"warning","tags":["a"]},
		{"name":"gone","syscalls":["nanosleep"],"min_duration":"10ms","severity":"emergency"}]}'
	policy site.json '{"rules":[{"name":"sleeps","override":"append",
		"syscalls":["clock_nanosleep"],"severity":"error","tags":["b"]},
		{"name":"gone","syscalls":["wait4"],"min_duration":"10s"}]}'
	sw run --policy base.json --policy site.json -o rec.json -- \
		sh -c '"$0" 150 out.txt; sleep 0.15' "$H/sleeper" 2>err.txt
	show rec.json err.txt
	expect_rc 0
	expect_eq "$(jq_count rec.json 'slow and name == "nanosleep"')" 1 "nanosleep records"
	expect_eq "$(jq_count rec.json 'slow and name == "clock_nanosleep"')" 1 \
		"clock_nanosleep records (appended)"
	expect_eq "$(jq_get rec.json slow '"\(.rule.name) \(.log.level) \(.tags|join(","))"' | sort -u)" \
		"sleeps error a,b" "rule, level, tags after append"
	expect_eq "$(jq_count rec.json '.rule.name == "gone"')" 0 "records of the replaced rule"
}

# A burst beyond the rule's rate limit is cut, and the cut is counted.
test_rate_limit() {
	policy p.json '{"rules":[{"name":"burst","syscalls":["getppid"],"min_duration":"0ns",
		"rate_limit":5}]}'
	sw run --policy p.json -o rec.json -- "$H/fastcalls" 200 out.txt 2>err.txt
	show err.txt
	expect_rc 0
	expect_eq "$(hval out.txt getppid)" 200 "getppid calls made"
	expect_eq "$(jq_count rec.json 'name == "getppid"')" 5 "records (rate_limit 5 per minute)"
	grep -q '^stallwatch: 195 record(s) cut by rule rate limits' err.txt ||
		fail "no count of the 195 cut records on stderr"
	# unlimited without rate_limit
	policy q.json '{"rules":[{"name":"burst","syscalls":["getppid"],"min_duration":"0ns"}]}'
	sw run --policy q.json -o rec2.json -- "$H/fastcalls" 200 out2.txt 2>err2.txt
	expect_eq "$(jq_count rec2.json 'name == "getppid"')" 200 "records without a rate limit"
}

# result filters: only the failed openat with ENOENT fires.
test_result_filter() {
	policy p.json '{"rules":[{"name":"enoent","syscalls":["openat"],"result":"ENOENT",
		"min_duration":"0ns","severity":"notice"}]}'
	sw run --policy p.json -o rec.json -- sh -c 'cat /etc/hostname /nonexistent-sw-$$ 2>/dev/null; true' \
		2>err.txt
	show rec.json err.txt
	expect_rc 0
	[ "$(jq_count rec.json 'name == "openat"')" -ge 1 ] || fail "no record of the ENOENT openat"
	expect_eq "$(jq_count rec.json '.stallwatch.syscall.errno != "ENOENT"')" 0 \
		"records of calls that did not fail with ENOENT"
	expect_eq "$(jq_count rec.json 'stuck')" 0 "stuck records of a result rule"
}

# A stuck call is reported by a path rule while still in flight.
test_stuck_path_rule() {
	mkfifo slow.fifo
	policy p.json '{"rules":[{"name":"fifo","syscalls":["openat"],"paths":["*/slow.fifo"],
		"min_duration":"100ms","severity":"error"}]}'
	# a relative path: the glob matches it made absolute against the cwd
	t_bg "$STALLWATCH" run --policy p.json -o rec.json -- cat slow.fifo 2>err.txt
	local swpid=$BGPID
	wait_for '[ "$(jq_count rec.json stuck)" -ge 1 ]' 10 || {
		show rec.json err.txt
		fail "no stuck record of the blocked open"
	}
	echo hi >slow.fifo
	t_wait "$swpid" 10
	show rec.json err.txt
	expect_rc 0
	expect_eq "$(jq_get rec.json stuck '"\(.rule.name) \(.log.level) \(.stallwatch.syscall.path)"')" \
		"fifo error slow.fifo" "stuck record (path as the program passed it)"
	expect_eq "$(jq_count rec.json 'slow and name == "openat"')" 1 "slow record of the open"
}

# An invalid policy is a usage error said before anything runs.
test_invalid_policy() {
	policy bad.json '{"rules":[{"name":"x","min_duration":"10 parsecs"}]}'
	sw run --policy bad.json -- sh -c 'touch ran.txt' 2>err.txt
	show err.txt
	expect_rc 2
	[ -e ran.txt ] && fail "the command ran despite the invalid policy"
	expect_eq "$(cat err.txt)" \
		"bad.json:1:38: error[bad-duration]: min_duration: bad duration \`10 parsecs\`: unknown unit \` parsecs\` (use ns, us, ms or s)" \
		"the diagnostic"
	sw run --policy missing.json -- true 2>err.txt
	expect_rc 2
	expect_eq "$(cat err.txt)" "stallwatch: missing.json: cannot read: No such file or directory" \
		"the line about the missing file"
	sw attach --policy bad.json -p $$ 2>err.txt
	expect_rc 2
}

# loop_sleeper N MS: a shell that runs the sleeper N times (one tracee throughout)
loop_script='i=0; while [ $i -lt "$1" ]; do "$0" "$2" /dev/null; echo "$i" >>done.txt;
	i=$((i + 1)); done'

# SIGHUP reloads the policy mid-run: a lowered threshold takes effect, the
# command is not disturbed; a broken file is reported in one line and the
# old policy stays.
test_sighup_reload() {
	policy p.json '{"rules":[{"name":"sleeps","syscalls":["nanosleep"],"min_duration":"5s"}]}'
	t_bg "$STALLWATCH" run --policy p.json -o rec.json -- sh -c "$loop_script" "$H/sleeper" 12 150 \
		2>err.txt
	local swpid=$BGPID
	wait_for '[ -s done.txt ]' 10 || fail "the loop did not start"
	policy p.json '{"rules":[{"name":"fast","syscalls":["nanosleep"],"min_duration":"50ms",
		"severity":"error"}]}'
	kill -HUP "$swpid"
	wait_for 'grep -q "policy reloaded" err.txt' 5 || fail "no reload message"
	wait_for '[ "$(jq_count rec.json slow)" -ge 2 ]' 10 || fail "no records after the reload"
	# now a broken file: one line on stderr, the reloaded policy stays
	printf '{"rules": [' >p.json
	kill -HUP "$swpid"
	wait_for 'grep -q "policy not reloaded" err.txt' 5 || fail "no message for the broken reload"
	local before
	before=$(jq_count rec.json slow)
	t_wait "$swpid" 20
	show err.txt
	expect_rc 0
	expect_eq "$(wc -l <done.txt)" 12 "loop iterations completed"
	[ "$(jq_count rec.json slow)" -gt "$before" ] || fail "no records after the broken reload"
	expect_eq "$(jq_count rec.json '.rule.name != "fast"')" 0 "records of other rules"
	expect_eq "$(grep -c 'policy not reloaded' err.txt)" 1 "lines about the broken reload"
	grep -q '^stallwatch: SIGHUP: policy not reloaded, the current one stays: p.json:1:11: error\[syntax\]' err.txt ||
		fail "broken reload line: $(grep 'not reloaded' err.txt)"
}

# run: syscalls outside the seccomp filter installed at start cannot be added.
test_reload_outside_filter() {
	policy p.json '{"rules":[{"name":"sleeps","syscalls":["nanosleep"],"min_duration":"5s"}]}'
	t_bg "$STALLWATCH" run --policy p.json -o rec.json -- sh -c "$loop_script" "$H/sleeper" 6 150 \
		2>err.txt
	local swpid=$BGPID
	wait_for '[ -s done.txt ]' 10 || fail "the loop did not start"
	policy p.json '{"rules":[{"name":"more","syscalls":["nanosleep","wait4"],"min_duration":"50ms"}]}'
	kill -HUP "$swpid"
	t_wait "$swpid" 20
	show err.txt rec.json
	expect_rc 0
	grep -q 'warning: reloaded policy watches 1 syscall(s) the seccomp filter installed at start does not trace (wait4)' err.txt ||
		fail "no warning about wait4"
	expect_eq "$(jq_count rec.json 'name == "wait4"')" 0 "wait4 records"
	[ "$(jq_count rec.json 'name == "nanosleep"')" -ge 1 ] || fail "no nanosleep records after reload"
}

# attach --policy: rules apply; SIGHUP reloads without detaching.
test_attach_reload() {
	policy p.json '{"rules":[{"name":"sleeps","syscalls":["nanosleep"],"min_duration":"5s"}]}'
	t_bg sh -c "$loop_script" "$H/sleeper" 14 150
	local tgt=$BGPID
	wait_for '[ -s done.txt ]' 10 || fail "the loop did not start"
	t_bg "$STALLWATCH" attach -f --policy p.json -o rec.json -p "$tgt" 2>err.txt
	local swpid=$BGPID
	wait_for 'grep -q "attached $tgt" err.txt' 10 || fail "not attached"
	policy p.json '{"rules":[{"name":"fast","syscalls":["nanosleep"],"min_duration":"50ms"}]}'
	kill -HUP "$swpid"
	wait_for '[ "$(jq_count rec.json slow)" -ge 1 ]' 10 || {
		show err.txt
		fail "no records after the reload"
	}
	kill -TERM "$swpid"
	t_wait "$swpid" 10
	expect_rc 0
	t_wait "$tgt" 20
	expect_rc 0
	expect_eq "$(wc -l <done.txt)" 14 "the target's loop completed"
	expect_eq "$(jq_count rec.json '.rule.name != "fast"')" 0 "records of other rules"
}

# t_run_ptrace (lib.sh): pinned to --backend=ptrace where the expectation is
# ptrace's: the seccomp filter a reload cannot widen; rules on fd paths, relative
# paths and parents, which under bpf are read after the call (a process that
# exited by then matches nothing).
t_run_ptrace path_glob test_path_glob
t_run per_rule_thresholds test_per_rule_thresholds
t_run rule_choice test_rule_choice
t_run_ptrace targets test_targets
t_run append_override test_append_override
t_run rate_limit test_rate_limit
t_run result_filter test_result_filter
t_run_ptrace stuck_path_rule test_stuck_path_rule
t_run invalid_policy test_invalid_policy
t_run sighup_reload test_sighup_reload
t_run_ptrace reload_outside_filter test_reload_outside_filter
t_run attach_reload test_attach_reload
t_done
