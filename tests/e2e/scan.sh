#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scan.sh - `stallwatch scan` against this machine: offline memcgs made and
# freed for real (v1: page cache on tmpfs pins each removed child), negative
# dentries made and pruned, one alert per kind at tight thresholds and none
# at the defaults, growth rates and slab leaks from a crafted --state, the
# state file's life cycle, the cgroup-namespace refusal, a walk racing with
# cgroups that come and go, and the command line.
#
# Cgroups are made only under a parent this script creates in the v1 memory
# hierarchy (sw-test-scan-PID-RANDOM) and removed on every exit path: the
# page-cache files first, then memory.force_empty of that parent, then rmdir.
#
# The counts scan reports are host-wide, and every other process on the host
# moves them: agents and containers make and free cgroups, dentries come and
# go, reclaim prunes, and a second `make check` may be running this very
# script. So no test compares two scans taken seconds apart. A test either
# takes its own reading of the same kernel counter right before and right
# after one scan, and scan's value must lie between the two (what moved in
# between is the only slack), or it bounds a value from the side that only
# this test moves (its own zombies and dentries, which nobody else frees).
. "$(dirname "$0")/lib.sh"

H=$HELPERS

# policy FILE JSON: write a policy file
policy() { printf '%s\n' "$2" >"$1"; }

# The mount point of the whole v1 memory hierarchy (mountinfo root "/"), or nothing.
memcg_v1_mount() {
	awk '{
		for (i = 7; i <= NF && $i != "-"; i++) ;
		if ($(i + 1) != "cgroup" || $4 != "/") next;
		n = split($(i + 3), o, ",");
		for (k = 1; k <= n; k++) if (o[k] == "memory") { print $5; exit }
	}' /proc/self/mountinfo
}

# need_v1: MEMCG = the v1 memory mount, writable; else skip.
need_v1() {
	[ "$(id -u)" = 0 ] || skip "needs root to create cgroups"
	MEMCG=$(memcg_v1_mount)
	[ -n "$MEMCG" ] || skip "no cgroup v1 memory hierarchy is mounted"
	[ -w "$MEMCG" ] || skip "$MEMCG is not writable"
	[ -w /dev/shm ] || skip "no writable /dev/shm (tmpfs)"
}

# num_cgroups: the memory row of /proc/cgroups, column 3.
num_cgroups() { awk '$1 == "memory" { print $3 }' /proc/cgroups; }

min() { echo $(($1 < $2 ? $1 : $2)); }
max() { echo $(($1 > $2 ? $1 : $2)); }

# ---- our own parent cgroup, cleaned up on every exit path ----------------------------

PARENT=
SHM=
KILL_PIDS=
ZN=0

parent_cleanup() {
	local pid d i
	for pid in $KILL_PIDS; do
		kill -TERM "$pid" 2>/dev/null && t_wait "$pid" 5
	done
	KILL_PIDS=
	# 1. the page cache that pins the zombies
	[ -n "$SHM" ] && rm -rf -- "$SHM"
	SHM=
	if [ -z "$PARENT" ] || [ ! -d "$PARENT" ]; then
		PARENT=
		return 0
	fi
	for d in "$PARENT"/*/; do
		[ -d "$d" ] && rmdir -- "$d" 2>/dev/null
	done
	# 2. reclaim what is still charged below our parent (never anyone else's)
	echo 0 >"$PARENT/memory.force_empty" 2>/dev/null
	# 3. the parent itself
	for i in 1 2 3 4 5 6 7 8 9 10; do
		rmdir -- "$PARENT" 2>/dev/null && break
		sleep 0.1
	done
	[ -d "$PARENT" ] && echo "cleanup: could not remove $PARENT"
	PARENT=
	return 0
}

make_parent() {
	PARENT=$MEMCG/sw-test-scan-$BASHPID-$RANDOM
	SHM=/dev/shm/sw-test-scan-$BASHPID-$RANDOM
	trap parent_cleanup EXIT
	mkdir "$PARENT" || fail "mkdir $PARENT"
	mkdir -m 700 "$SHM" || fail "mkdir $SHM"
}

# make_zombies N: N children of $PARENT; in each a subshell joins, writes
# 16 KiB to a tmpfs file (page cache charged to that memcg) and exits; then
# rmdir: each child stays offline until the file goes.
make_zombies() {
	local n=$1 i c bad=0
	for ((i = 0; i < n; i++)); do
		ZN=$((ZN + 1))
		c=$PARENT/z$ZN
		mkdir "$c" || {
			bad=$((bad + 1))
			continue
		}
		(echo "$BASHPID" >"$c/cgroup.procs" && printf '%16384s' '' >"$SHM/$ZN") || bad=$((bad + 1))
		rmdir "$c" 2>/dev/null || { sleep 0.01 && rmdir "$c"; } || bad=$((bad + 1))
	done
	[ "$bad" = 0 ] || fail "making $n zombies: $bad failures"
}

# make_negative DIR N: N failed lookups of unique names in DIR (bash's test -e is a stat()).
make_negative() {
	local dir=$1 n=$2 i
	for ((i = 0; i < n; i++)); do
		[ -e "$dir/missing-name-$i" ] && fail "$dir/missing-name-$i exists"
	done
	return 0
}

# ---- running scan ----------------------------------------------------------------------

# scan_to OUT [ARG...]: one `stallwatch scan ARG... -o OUT` (OUT replaced), stderr in OUT.err.
scan_to() {
	local out=$1
	shift
	rm -f "$out"
	sw scan "$@" -o "$out" 2>"$out.err"
	[ "$RC" = 0 ] || {
		show "$out" "$out.err"
		fail "scan $* exited $RC"
	}
}

# hs FILE EXPR: EXPR of the (first) host-scan record in FILE.
hs() { jq_get "$1" '.event.action == "host-scan"' "$2" | head -n 1; }

# alert_of FILE ACTION: "kind level rule reason? next_step?" of each ACTION record.
alert_of() {
	jq_get "$1" ".event.action == \"$2\"" '[.event.kind, .log.level, .rule.name,
		((.stallwatch.alert.reason // "") | length > 0),
		((.stallwatch.alert.next_step // "") | length > 0)] | map(tostring) | join(" ")'
}

# in_range VALUE LO HI (integers or decimals)
in_range() {
	awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v != "" && v != "null" &&
		v + 0 >= lo + 0 && v + 0 <= hi + 0) }'
}

now_minus() { awk -v n="$EPOCHREALTIME" -v d="$1" 'BEGIN { printf "%.6f", n - d }'; }

boot_id() { cat /proc/sys/kernel/random/boot_id; }

# ---- scan against this script's own readings, taken at the same moment ----------------

# A counter that went up and back down between our two readings can put scan's
# value outside them; such a check is tried again, 5 times in all. With four
# copies of this script running at once, 9 of 48 dentry checks needed a
# second try and one a third (the others' make_negative and rmdir bursts),
# and 1 of 48 memcg checks a second (a directory come and gone meanwhile).
CHECK_TRIES=5

# cg_reading: "NUM_CGROUPS DIRS" now: /proc/cgroups, and the directories of
# the v1 memory mount $MEMCG counted by find (the root included), as scan counts them.
cg_reading() {
	local n d
	n=$(num_cgroups)
	d=$(find "$MEMCG" -type d 2>/dev/null | wc -l)
	echo "$n $d"
}

# memcg_scan_checked OUT [ARG...]: scan_to OUT between two cg_readings, until
# scan's memcg.online lies within the two directory counts and memcg.offline
# (num_cgroups - directories) within what the two readings allow. Sets
# OFFLINE, ONLINE (scan's) and CG_READ (ours).
memcg_scan_checked() {
	local out=$1 try r1 r2 n1 d1 n2 d2 lo hi why=
	shift
	for ((try = 1; try <= CHECK_TRIES; try++)); do
		r1=$(cg_reading)
		scan_to "$out" "$@"
		r2=$(cg_reading)
		read -r n1 d1 <<<"$r1"
		read -r n2 d2 <<<"$r2"
		ONLINE=$(hs "$out" .stallwatch.memcg.online)
		OFFLINE=$(hs "$out" .stallwatch.memcg.offline)
		CG_READ="num_cgroups $n1..$n2, dirs $d1..$d2"
		lo=$(($(min "$n1" "$n2") - $(max "$d1" "$d2")))
		hi=$(($(max "$n1" "$n2") - $(min "$d1" "$d2")))
		echo "$out try $try: scan online $ONLINE offline $OFFLINE; ours $CG_READ" \
			"(offline $lo..$hi)"
		[[ $ONLINE =~ ^[0-9]+$ && $OFFLINE =~ ^[0-9]+$ ]] || {
			show "$out"
			fail "$out: no memcg.online/offline"
		}
		if [ "$ONLINE" -lt "$(min "$d1" "$d2")" ] || [ "$ONLINE" -gt "$(max "$d1" "$d2")" ]; then
			why="online $ONLINE, but this script counted $d1 then $d2 directories in $MEMCG"
		elif [ "$OFFLINE" -lt "$lo" ] || [ "$OFFLINE" -gt "$hi" ]; then
			why="offline $OFFLINE, but this script's $CG_READ allow only $lo..$hi"
		else
			return 0
		fi
	done
	show "$out"
	fail "$why ($CHECK_TRIES tries)"
}

# dentry_reading: "NR_DENTRY NR_NEGATIVE" now (fields 1 and 5 of dentry-state).
dentry_reading() {
	local tot neg
	read -r tot _ _ _ neg _ </proc/sys/fs/dentry-state
	echo "$tot $neg"
}

# The scan's own process has dentries (its /proc/PID and the files it opens)
# that exist only while it runs: dentry.total may exceed both our readings by that.
OWN_DENTRIES=100

# dentry_scan_checked OUT [ARG...]: scan_to OUT between two dentry_readings,
# until scan's dentry.negative lies within them and dentry.total within them
# plus OWN_DENTRIES. Sets NEGATIVE (scan's).
dentry_scan_checked() {
	local out=$1 try t1 g1 t2 g2 tot why=
	shift
	for ((try = 1; try <= CHECK_TRIES; try++)); do
		read -r t1 g1 <<<"$(dentry_reading)"
		scan_to "$out" "$@"
		read -r t2 g2 <<<"$(dentry_reading)"
		NEGATIVE=$(hs "$out" .stallwatch.dentry.negative)
		tot=$(hs "$out" .stallwatch.dentry.total)
		echo "$out try $try: scan negative $NEGATIVE total $tot; ours negative $g1..$g2," \
			"total $t1..$t2"
		[[ $NEGATIVE =~ ^[0-9]+$ && $tot =~ ^[0-9]+$ ]] || {
			show "$out"
			fail "$out: no dentry.negative/total"
		}
		if [ "$NEGATIVE" -lt "$(min "$g1" "$g2")" ] || [ "$NEGATIVE" -gt "$(max "$g1" "$g2")" ]; then
			why="negative $NEGATIVE, but this script read $g1 then $g2"
		elif [ "$tot" -lt "$(min "$t1" "$t2")" ] ||
			[ "$tot" -gt $(($(max "$t1" "$t2") + OWN_DENTRIES)) ]; then
			why="total $tot, but this script read $t1 then $t2 (+ $OWN_DENTRIES of scan's own)"
		else
			return 0
		fi
	done
	show "$out"
	fail "$why ($CHECK_TRIES tries)"
}

# ---- offline memcgs, made and freed for real -------------------------------------------

# 300 zombies. Each scan (before, with them, after freeing them) agrees with
# this script's own count of /proc/cgroups and the memory mount's directories
# taken right around it; with them, offline holds at least our 300 (nobody else
# frees them), and the v1 range holds the estimate.
test_zombies() {
	local a_min a_max warn
	need_v1
	make_parent
	memcg_scan_checked a.json
	[ "$(hs a.json .stallwatch.memcg.hierarchy)" = v1 ] || {
		show a.json
		fail "hierarchy is not v1 although $MEMCG is mounted"
	}
	make_zombies 300
	memcg_scan_checked b.json
	a_min=$(hs b.json .stallwatch.memcg.offline_min)
	a_max=$(hs b.json .stallwatch.memcg.offline_max)
	echo "with 300 zombies of ours: offline $OFFLINE (min $a_min max $a_max), online $ONLINE"
	[ "$OFFLINE" -ge 300 ] || fail "offline $OFFLINE with 300 zombies of ours in the count"
	[ "$a_min" -le "$OFFLINE" ] && [ "$OFFLINE" -le "$a_max" ] ||
		fail "offline $OFFLINE outside [$a_min, $a_max]"
	# default thresholds: warning above 1000 and above 2 x online, critical above 10000
	warn=0
	if [ "$OFFLINE" -gt 1000 ] && [ "$OFFLINE" -gt $((2 * ONLINE)) ] || [ "$OFFLINE" -gt 10000 ]; then
		warn=1
	fi
	expect_eq "$(jq_count b.json '.event.action == "memcg-offline"')" "$warn" \
		"memcg-offline alerts at offline $OFFLINE, online $ONLINE (default thresholds)"

	# free them: files, force_empty, rmdir; scan still agrees with the kernel's count
	parent_cleanup
	memcg_scan_checked c.json
	echo "after cleanup: offline $OFFLINE"
}

# ---- negative dentries -------------------------------------------------------------------

# 100000 failed lookups in a directory of ours, then its rmdir. Each scan agrees
# with dentry-state read by this script right around it; after the lookups the
# count holds (nearly all of) our 100000, which only reclaim could take away.
test_negative_dentries() {
	local dir
	dir=$(mktemp -d "$TD/neg.XXXXXX") || fail "mktemp -d"
	scan_to a.json
	[ "$(hs a.json '.stallwatch.dentry | has("negative")')" = true ] ||
		skip "no nr_negative in dentry-state (kernel < 5.0)"
	dentry_scan_checked a.json
	make_negative "$dir" 100000
	dentry_scan_checked b.json
	echo "negative with 100000 of ours: $NEGATIVE"
	[ "$NEGATIVE" -ge 80000 ] ||
		fail "negative $NEGATIVE with 100000 of ours in $dir, want >= 80000"
	rmdir "$dir" || fail "rmdir $dir"
	dentry_scan_checked c.json
	echo "after rmdir (prunes ours): $NEGATIVE"
	expect_eq "$(hs b.json '.stallwatch.dentry.total > 0')" true "dentry.total > 0"
}

# ---- one alert per kind, and none at the defaults ------------------------------------

test_alert_memcg_offline() {
	local off
	# three zombies of ours keep offline above 0 whatever others free meanwhile
	MEMCG=$(memcg_v1_mount)
	if [ "$(id -u)" = 0 ] && [ -n "$MEMCG" ] && [ -w "$MEMCG" ] && [ -w /dev/shm ]; then
		make_parent
		make_zombies 3
	fi
	scan_to base.json
	off=$(hs base.json .stallwatch.memcg.offline)
	[ -n "$off" ] && [ "$off" != null ] ||
		skip "memcg not counted here: $(hs base.json .stallwatch.memcg.unavailable)"
	[ "$off" -gt 0 ] || skip "no offline memcg on this machine now"
	policy pw.json '{"scan":{"memcg_offline_warning":0,"memcg_offline_warning_ratio":0,
		"memcg_offline_critical":1000000000}}'
	scan_to w.json --policy pw.json
	show w.json
	expect_eq "$(alert_of w.json memcg-offline)" "alert warning scan.memcg_offline_warning true true" \
		"memcg-offline at warning 0, ratio 0"
	jq_get w.json '.event.action == "memcg-offline"' .stallwatch.alert.next_step | grep -Eq "memory\.(force_empty|reclaim)" ||
		fail "next step does not mention memory.force_empty"
	expect_eq "$(jq_get w.json '.event.action == "memcg-offline"' \
		'.stallwatch.memcg.offline > 0')" true "the alert carries the memcg fields"
	policy pc.json '{"scan":{"memcg_offline_critical":0}}'
	scan_to c.json --policy pc.json
	show c.json
	expect_eq "$(alert_of c.json memcg-offline)" "alert critical scan.memcg_offline_critical true true" \
		"memcg-offline at critical 0"
}

test_alert_memcg_stat_slow() {
	scan_to base.json
	[ "$(hs base.json '.stallwatch.memcg.stat_reads // 0')" -gt 0 ] || skip "no memory.stat read here"
	policy pw.json '{"scan":{"memcg_stat_read_warning":"1us","memcg_stat_read_critical":"1000s"}}'
	scan_to w.json --policy pw.json
	show w.json
	expect_eq "$(alert_of w.json memcg-stat-slow)" \
		"alert warning scan.memcg_stat_read_warning true true" "memcg-stat-slow at 1us"
	jq_get w.json '.event.action == "memcg-stat-slow"' .stallwatch.alert.reason |
		grep -q 'memory\.stat' || fail "reason does not name the memory.stat file"
	policy pc.json '{"scan":{"memcg_stat_read_warning":"1us","memcg_stat_read_critical":"1us"}}'
	scan_to c.json --policy pc.json
	show c.json
	expect_eq "$(alert_of c.json memcg-stat-slow)" \
		"alert critical scan.memcg_stat_read_critical true true" "memcg-stat-slow critical at 1us"
}

test_alert_negative_dentries() {
	# ten of ours keep the count above 1 whatever others prune meanwhile
	mkdir neg || fail "mkdir neg"
	make_negative "$TD/neg" 10
	scan_to base.json
	[ "$(hs base.json '.stallwatch.dentry | has("negative")')" = true ] ||
		skip "no nr_negative in dentry-state (kernel < 5.0)"
	[ "$(hs base.json .stallwatch.dentry.negative)" -gt 1 ] || skip "no negative dentries here"
	policy pw.json '{"scan":{"dentry_negative_warning":1,"dentry_negative_critical":1000000000000}}'
	scan_to w.json --policy pw.json
	show w.json
	expect_eq "$(alert_of w.json negative-dentries)" \
		"alert warning scan.dentry_negative_warning true true" "negative-dentries at warning 1"
	policy pc.json '{"scan":{"dentry_negative_critical":1}}'
	scan_to c.json --policy pc.json
	show c.json
	expect_eq "$(alert_of c.json negative-dentries)" \
		"alert critical scan.dentry_negative_critical true true" "negative-dentries at critical 1"
}

test_alert_slab_growth() {
	scan_to base.json
	[ "$(hs base.json '.stallwatch.slab.unreclaimable_bytes // 0')" -gt 0 ] ||
		skip "no SUnreclaim in /proc/meminfo"
	policy pw.json '{"scan":{"slab_unreclaimable_warning_pct":0.0001,
		"slab_unreclaimable_critical_pct":100}}'
	scan_to w.json --policy pw.json
	show w.json
	expect_eq "$(alert_of w.json slab-growth)" \
		"alert warning scan.slab_unreclaimable_warning_pct true true" "slab-growth at 0.0001 %"
	policy pc.json '{"scan":{"slab_unreclaimable_warning_pct":0.0001,
		"slab_unreclaimable_critical_pct":0.0001}}'
	scan_to c.json --policy pc.json
	show c.json
	expect_eq "$(alert_of c.json slab-growth)" \
		"alert critical scan.slab_unreclaimable_critical_pct true true" "slab-growth critical"
}

# Default thresholds on an idle machine: no alert of any kind. If this machine is
# not idle (a value above a default), that kind is skipped with the value.
test_defaults_quiet() {
	local why='' off on stat neg tot sun mem
	scan_to d.json
	show d.json
	off=$(hs d.json '.stallwatch.memcg.offline // 0')
	on=$(hs d.json '.stallwatch.memcg.online // 0')
	stat=$(hs d.json '.stallwatch.memcg.stat_read_ns // 0')
	neg=$(hs d.json '.stallwatch.dentry.negative // 0')
	tot=$(hs d.json '.stallwatch.dentry.total // 0')
	sun=$(hs d.json '.stallwatch.slab.unreclaimable_bytes // 0')
	mem=$(hs d.json '.stallwatch.slab.mem_total_bytes // 1')
	if [ "$off" -gt 1000 ] && [ "$off" -gt $((2 * on)) ] || [ "$off" -gt 10000 ]; then
		why+=" offline=$off"
	else
		expect_eq "$(jq_count d.json '.event.action == "memcg-offline"')" 0 "memcg-offline alerts"
	fi
	if [ "$stat" -ge 10000000 ]; then
		why+=" stat_read_ns=$stat"
	else
		expect_eq "$(jq_count d.json '.event.action == "memcg-stat-slow"')" 0 "memcg-stat-slow alerts"
	fi
	if [ "$neg" -gt 1000000 ] || { [ "$tot" -gt 1000000 ] && [ $((neg * 10)) -gt $((tot * 9)) ]; }; then
		why+=" negative=$neg"
	else
		expect_eq "$(jq_count d.json '.event.action == "negative-dentries"')" 0 \
			"negative-dentries alerts"
	fi
	if [ $((sun * 10)) -gt "$mem" ]; then
		why+=" unreclaimable=$sun"
	else
		expect_eq "$(jq_count d.json '.event.action == "slab-growth"')" 0 "slab-growth alerts"
	fi
	expect_eq "$(jq_count d.json '.event.kind == "alert" and ((.event.action |
		IN("memcg-offline","memcg-stat-slow","negative-dentries","slab-growth")) | not)')" 0 \
		"alerts of unknown kinds"
	[ -z "$why" ] || skip "machine not idle, those kinds not checked:$why"
}

# ---- rates and history from --state -------------------------------------------------

# state_with_sample FILE BOOT_ID T OFFLINE NEGATIVE: a state holding one old sample.
state_with_sample() {
	printf '{"version":1,"boot_id":"%s","samples":[{"t":%s,"offline":%s,"negative":%s}]}\n' \
		"$2" "$3" "$4" "$5" >"$1"
}

# An old sample 295 s back (inside the 300 s window: the window ends "now", a
# little after the file is written) with offline 0 and negative 0. The rates
# scan reports must be the slope from that sample to the one it adds (both
# read back from the state file it writes), whatever the host's counts are.
# The alerts need rates above thresholds that this test's own 100 zombies and
# 60000 negative dentries reach on their own (>= 100 per 300 s = 20/min, >=
# 60000 per 300 s = 200/s), so nothing that others free can keep them quiet.
test_rates_from_state() {
	local dir t off neg rate want
	need_v1
	make_parent
	scan_to a.json
	[ "$(hs a.json .stallwatch.memcg.offline)" != null ] || skip "memcg not counted here"
	[ "$(hs a.json .stallwatch.dentry.negative)" != null ] || skip "no nr_negative here"
	make_zombies 100
	dir=$(mktemp -d "$TD/neg.XXXXXX") || fail "mktemp -d"
	make_negative "$dir" 60000
	t=$(now_minus 295)
	state_with_sample st.json "$(boot_id)" "$t" 0 0
	policy p.json '{"scan":{"growth_window":"300s","memcg_offline_growth_per_min":15,
		"dentry_negative_growth_per_s":150,"memcg_offline_warning":1000000000,
		"memcg_offline_critical":1000000000,
		"dentry_negative_warning":1000000000000,"dentry_negative_critical":1000000000000}}'
	scan_to c.json --state st.json --policy p.json
	rmdir "$dir"
	show st.json c.json c.json.err
	expect_eq "$(jq -c '[.version, (.samples | length)]' st.json)" "[1,2]" \
		"state after the scan: version, samples"
	off=$(hs c.json .stallwatch.memcg.offline)
	neg=$(hs c.json .stallwatch.dentry.negative)
	expect_eq "$(jq -r '.samples[1] | "\(.offline) \(.negative)"' st.json)" "$off $neg" \
		"the sample added to the state (offline, negative) is the record's"
	rate=$(hs c.json .stallwatch.memcg.offline_growth_per_min)
	want=$(jq '.samples | (.[1].offline - .[0].offline) * 60 / (.[1].t - .[0].t)' st.json)
	echo "offline $off, rate $rate/min (slope of the state's samples $want)"
	in_range "$rate" "$(awk -v w="$want" 'BEGIN { print w * 0.999 - 0.05 }')" \
		"$(awk -v w="$want" 'BEGIN { print w * 1.001 + 0.05 }')" ||
		fail "memcg.offline_growth_per_min $rate, want $want (the state's slope)"
	rate=$(hs c.json .stallwatch.dentry.negative_rate_per_s)
	want=$(jq '.samples | (.[1].negative - .[0].negative) / (.[1].t - .[0].t)' st.json)
	echo "negative $neg, rate $rate/s (slope of the state's samples $want)"
	in_range "$rate" "$(awk -v w="$want" 'BEGIN { print w * 0.999 - 0.05 }')" \
		"$(awk -v w="$want" 'BEGIN { print w * 1.001 + 0.05 }')" ||
		fail "dentry.negative_rate_per_s $rate, want $want (the state's slope)"
	expect_eq "$(alert_of c.json memcg-offline)" \
		"alert critical scan.memcg_offline_growth_per_min true true" "memcg-offline from the rate"
	expect_eq "$(alert_of c.json negative-dentries)" \
		"alert warning scan.dentry_negative_growth_per_s true true" "negative-dentries from the rate"
	jq_get c.json '.event.action == "memcg-offline"' .stallwatch.alert.reason | grep -q 'per minute' ||
		fail "the memcg-offline reason does not give the rate"
}

# History from another boot is dropped: no rate. The same file with this boot's id has one.
test_state_other_boot() {
	local t
	scan_to a.json
	[ "$(hs a.json .stallwatch.memcg.offline)" != null ] || skip "memcg not counted here"
	t=$(now_minus 200)
	state_with_sample same.json "$(boot_id)" "$t" 0 0
	state_with_sample other.json 00000000-0000-4000-8000-000000000000 "$t" 0 0
	scan_to s.json --state same.json
	scan_to o.json --state other.json
	show s.json o.json o.json.err
	expect_eq "$(hs s.json '.stallwatch.memcg | has("offline_growth_per_min")')" true \
		"a rate from this boot's history"
	expect_eq "$(hs o.json '[(.stallwatch.memcg | has("offline_growth_per_min")),
		(.stallwatch.dentry | has("negative_rate_per_s"))] | map(tostring) | join(" ")')" \
		"false false" "rates from another boot's history"
	expect_eq "$(jq_count o.json '.rule.name | test("growth")')" 0 "growth alerts"
	expect_eq "$(cat o.json.err)" "" "stderr"
	expect_eq "$(jq -r '"\(.boot_id) \(.samples | length)"' other.json)" "$(boot_id) 1" \
		"the rewritten state: this boot, one sample"
}

test_state_corrupt() {
	printf 'garbage{"version":' >st.json
	scan_to c.json --state st.json
	show c.json.err st.json
	expect_eq "$(wc -l <c.json.err)" 1 "stderr lines"
	grep -q 'st.json' c.json.err || fail "the stderr line does not name the file"
	expect_eq "$(jq_count c.json '.event.action == "host-scan"')" 1 "host-scan records"
	expect_eq "$(jq -r '"\(.version) \(.boot_id) \(.samples | length)"' st.json 2>&1)" \
		"1 $(boot_id) 1" "the rewritten state file"
	# and a JSON file that is not a state
	printf '[1,2,3]\n' >st2.json
	scan_to d.json --state st2.json
	expect_eq "$(wc -l <d.json.err)" 1 "stderr lines (not a state)"
	expect_eq "$(jq -r .version st2.json 2>&1)" 1 "version of the rewritten state"
}

test_state_created_0600() {
	mkdir sub
	scan_to a.json --state sub/st.json
	[ -f sub/st.json ] || fail "no state file created"
	expect_eq "$(stat -c %a sub/st.json)" 600 "mode of the new state file"
	expect_eq "$(cat a.json.err)" "" "stderr"
	expect_eq "$(jq -r '"\(.version) \(.samples | length)"' sub/st.json)" "1 1" "state content"
	expect_eq "$(find sub -name 'st.json.tmp*' | wc -l)" 0 "temporary files left"
	scan_to b.json --state sub/st.json
	expect_eq "$(jq '.samples | length' sub/st.json)" 2 "samples after a second scan"
}

# --state naming something that is not a regular file (here a private
# character device with /dev/null's numbers, in the test's own directory):
# the scan runs, and the node is not replaced by a regular file. (A temp file
# renamed over it would do that; as root `--state /dev/null` would replace
# the system's /dev/null.)
test_state_not_regular() {
	[ "$(id -u)" = 0 ] || skip "mknod needs root"
	mknod -m 600 nulldev c 1 3 || skip "cannot mknod in $TD"
	# bad input: refused in one line before scanning (saving would replace it)
	sw scan --state nulldev -o r.json 2>err.txt
	show err.txt
	expect_rc 2
	expect_eq "$(grep -c . err.txt)" 1 "stderr lines"
	grep -q 'not a regular file' err.txt || fail "no reason on stderr"
	expect_eq "$(jq_count r.json '.event.action == "host-scan"')" 0 "host-scan records"
	expect_eq "$(stat -c '%F %t:%T' nulldev)" "character special file 1:3" \
		"what --state nulldev is after the scan"
	ln -s "$TD/elsewhere.state" link.state
	sw scan --state link.state -o r.json 2>err.txt
	expect_rc 2
	[ -L link.state ] || fail "the symlink was replaced"
	rm -f nulldev
}

# slab_state FILE SHAPE: 7 h of history (43 points, 10 min apart, the last 60 s
# ago) of kmalloc-sw-test, a family no kernel has, 100 MiB growing 2 MiB/h.
# SHAPE linear: a straight line; breathing: every third point 10 % lower.
slab_state() {
	awk -v now="$EPOCHREALTIME" -v boot="$(boot_id)" -v shape="$2" 'BEGIN {
		printf "{\"version\":1,\"boot_id\":\"%s\",\"samples\":[],", boot;
		printf "\"slab\":{\"families\":{\"kmalloc-sw-test\":[";
		for (k = 0; k <= 42; k++) {
			t = now - 60 - 25200 + k * 600;
			b = 104857600 + 2097152 * (k * 600 / 3600);
			if (shape == "breathing" && k % 3 == 2) b = b * 0.9;
			printf "%s[%.6f,%d]", k ? "," : "", t, b;
		}
		printf "]}}}\n";
	}' >"$1"
}

test_slab_leak_from_state() {
	local leak='.event.action == "slab-growth" and .stallwatch.slab.cache == "kmalloc-sw-test"'
	local level=warning
	slab_state st.json linear
	scan_to a.json --state st.json
	show a.json a.json.err
	# critical when the family (114 MiB now) is more than 5 % of MemTotal
	[ "$(hs a.json '.stallwatch.slab.mem_total_bytes // 0')" -lt $((20 * 114 * 1048576)) ] &&
		level=critical
	expect_eq "$(jq_get a.json "$leak" '[.event.kind, .log.level, .rule.name] | join(" ")')" \
		"alert $level scan.slab_leak_min_bytes_per_hour" "slab-growth alert of kmalloc-sw-test"
	jq_get a.json "$leak" .stallwatch.alert.next_step | grep -q 'slub_debug=U,kmalloc-sw-test' ||
		fail "next step does not mention slub_debug for the cache"
	jq_get a.json "$leak" .stallwatch.alert.reason | grep -q 'kmalloc-sw-test grows 2.0 MiB/h' ||
		fail "reason does not name the cache and its 2 MiB/h"
	expect_eq "$(hs a.json '[.stallwatch.slab.top_growing[]? | select(.cache == "kmalloc-sw-test")
		| .slope_bytes_per_hour / 1048576 | . * 10 | round / 10] | first')" 2 \
		"top_growing slope of kmalloc-sw-test in MiB/h"

	slab_state br.json breathing
	scan_to b.json --state br.json
	show b.json
	expect_eq "$(jq_count b.json '.event.action == "slab-growth" and
		.stallwatch.slab.cache == "kmalloc-sw-test"')" 0 "slab-growth alerts of a breathing cache"
}

# ---- where the count cannot be trusted ---------------------------------------------

test_cgroup_namespace() {
	command -v unshare >/dev/null || skip "no unshare(1)"
	[ "$(id -u)" = 0 ] || skip "unshare -C needs root"
	[ -e /proc/self/ns/cgroup ] || skip "no cgroup namespaces (kernel < 4.6)"
	t_bg unshare -C "$STALLWATCH" scan -o ns.json 2>err.txt
	t_wait "$BGPID" 30
	show ns.json err.txt
	[ "$RC" = 0 ] || {
		grep -q 'unshare failed' err.txt && skip "unshare -C failed: $(head -n 1 err.txt)"
		fail "scan in a cgroup namespace exited $RC"
	}
	hs ns.json .stallwatch.memcg.unavailable | grep -q 'cgroup namespace' ||
		fail "memcg.unavailable does not mention the cgroup namespace"
	expect_eq "$(hs ns.json '.stallwatch.memcg | [has("offline"), has("online"), has("hierarchy")]
		| map(tostring) | join(" ")')" "false false true" "memcg offline, online, hierarchy"
	expect_eq "$(hs ns.json '[(.stallwatch.dentry.total > 0), (.stallwatch.slab | type),
		(.stallwatch.self.scan_ns > 0), .stallwatch.schema] | map(tostring) | join(" ")')" \
		"true object true 1" "the rest of the record"
	expect_eq "$(jq_count ns.json '.event.action == "memcg-offline"')" 0 "memcg-offline alerts"
}

# Children of our parent come and go as fast as they can while scan walks
# every 100 ms: no error, and every record's range holds its estimate.
test_vanishing_cgroups() {
	local churn
	need_v1
	make_parent
	t_bg "$H/cgchurn" "$PARENT" 30000 4 churn.txt
	churn=$BGPID
	KILL_PIDS=$churn
	wait_for '[ -s churn.txt ]' 5 || fail "cgchurn did not start"
	sw scan --interval 100ms --count 20 -o r.json 2>err.txt
	kill -TERM "$churn"
	t_wait "$churn" 5
	KILL_PIDS=
	echo "cgchurn: $(tail -n 1 churn.txt)"
	show err.txt churn.txt
	expect_rc 0
	expect_eq "$(jq_count r.json '.event.action == "host-scan"')" 20 "host-scan records"
	expect_eq "$(cat err.txt)" "" "stderr"
	expect_eq "$(jq_count r.json '.event.action == "host-scan" and (.stallwatch.memcg |
		.offline_min <= .offline and .offline <= .offline_max)')" 20 \
		"records with offline_min <= offline <= offline_max"
	[ "$(hval churn.txt cycles)" -gt 0 ] || fail "cgchurn made no cycle"
	expect_eq "$(hval churn.txt cycles 4)" 0 "cgchurn mkdir/rmdir errors"
}

# This machine's v2 mount (/sys/fs/cgroup/unified) has no memory controller:
# the memory hierarchy is v1 (a hybrid host).
test_hybrid_v1() {
	local v2 mem
	v2=$(awk '{ for (i = 7; i <= NF && $i != "-"; i++) ;
		if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
	mem=$(memcg_v1_mount)
	[ -n "$v2" ] && [ -n "$mem" ] || skip "not a hybrid host (v2: ${v2:-none}, v1 memory: ${mem:-none})"
	grep -qw memory "$v2/cgroup.controllers" && skip "memory is enabled on $v2"
	scan_to a.json
	show a.json
	expect_eq "$(hs a.json .stallwatch.memcg.hierarchy)" v1 "memcg.hierarchy"
	expect_eq "$(hs a.json '.stallwatch.memcg | has("offline")')" true "memcg.offline counted"
	hs a.json .stallwatch.memcg.stat_read_path | grep -q "^$mem/" ||
		fail "memory.stat timed outside $mem"
}

# ---- the command line ----------------------------------------------------------------------

test_count_interval() {
	sw scan --count 3 --interval 200ms -o c.json 2>err.txt
	show c.json err.txt
	expect_rc 0
	expect_eq "$(jq_count c.json '.event.action == "host-scan"')" 3 "host-scan records"
	[ "$ELAPSED_MS" -ge 380 ] || fail "3 scans 200 ms apart took only $ELAPSED_MS ms"
	[ "$ELAPSED_MS" -lt 10000 ] || fail "3 scans 200 ms apart took $ELAPSED_MS ms"
	expect_eq "$(cat err.txt)" "" "stderr"
}

# SIGTERM between scans ends the wait at once: with a 10 s interval, 5 s (room
# for a busy host) is still far less than waiting for the next scan.
test_sigterm() {
	local pid start
	t_bg "$STALLWATCH" scan --interval 10s -o s.json 2>err.txt
	pid=$BGPID
	wait_for '[ "$(jq_count s.json ".event.action == \"host-scan\"")" -ge 1 ]' 10 ||
		fail "no first record"
	sleep 0.2
	start=$(now_ms)
	kill -TERM "$pid"
	t_wait "$pid" 5
	echo "exit $RC after $(($(now_ms) - start)) ms"
	show err.txt
	expect_rc 0
	[ $(($(now_ms) - start)) -le 5000 ] || fail "took more than 5 s to stop"
	expect_eq "$(cat err.txt)" "" "stderr"
}

test_usage_errors() {
	local args
	for args in "--count 3" "--interval 5" "--interval 1ms" "--bogus" "--interval" \
		"--count 0 --interval 1s" "--count -1 --interval 1s" "extra" "--format yaml" \
		"-e openat" "-m 10ms" "-u root" "-p 1" "--no-default-policy"; do
		# shellcheck disable=SC2086 # word splitting wanted
		sw scan $args >out.txt 2>err.txt
		show err.txt
		[ "$RC" = 2 ] || fail "scan $args: exit $RC, want 2"
		[ "$(wc -l <err.txt)" = 1 ] || fail "scan $args: $(wc -l <err.txt) stderr lines, want 1"
		[ ! -s out.txt ] || fail "scan $args wrote records"
	done
}

# -o that cannot be opened: a fatal error (1), one line.
test_output_unopenable() {
	sw scan -o "$TD/no-such-dir/out.json" >out.txt 2>err.txt
	show err.txt
	expect_rc 1
	expect_eq "$(wc -l <err.txt)" 1 "stderr lines"
	[ ! -s out.txt ] || fail "records on stdout"
}

# Between scans of --interval: SIGUSR2 is ignored, SIGUSR1 reopens -o,
# SIGHUP reloads the policy's thresholds, SIGTERM stops with 0.
test_signals_between_scans() {
	local pid
	policy p.json '{"scan":{"memcg_stat_read_warning":"1000s","memcg_stat_read_critical":"1000s"}}'
	t_bg "$STALLWATCH" scan --interval 200ms --policy p.json -o a.json 2>err.txt
	pid=$BGPID
	wait_for '[ "$(jq_count a.json ".event.action == \"host-scan\"")" -ge 1 ]' 10 ||
		fail "no first record"
	kill -USR2 "$pid"
	sleep 0.5
	proc_alive "$pid" || fail "SIGUSR2 ended scan"
	mv a.json a.old
	kill -USR1 "$pid"
	wait_for '[ "$(jq_count a.json ".event.action == \"host-scan\"")" -ge 1 ]' 5 ||
		fail "no records in the reopened -o file after SIGUSR1"
	expect_eq "$(jq_count a.json '.event.action == "memcg-stat-slow"')" 0 "alerts before SIGHUP"
	policy p.json '{"scan":{"memcg_stat_read_warning":"1us","memcg_stat_read_critical":"1000s"}}'
	kill -HUP "$pid"
	wait_for '[ "$(jq_count a.json ".event.action == \"memcg-stat-slow\"")" -ge 1 ]' 5 || {
		show err.txt
		fail "the reloaded threshold (1us) made no memcg-stat-slow alert"
	}
	grep -q 'SIGHUP: policy reloaded' err.txt || fail "no reload line on stderr"
	kill -TERM "$pid"
	t_wait "$pid" 3
	show err.txt
	expect_rc 0
	[ "$(jq_count a.old true)" -ge 1 ] || fail "the old file lost its records"
}

# SIGUSR1/SIGUSR2 arriving all the time, also during the last scan of
# --count: never their default (fatal) action once scanning started.
test_signal_storm() {
	local pid n=0
	t_bg "$STALLWATCH" scan --interval 100ms --count 8 -o s.json 2>err.txt
	pid=$BGPID
	wait_for '[ "$(jq_count s.json ".event.action == \"host-scan\"")" -ge 1 ]' 10 ||
		fail "no first record"
	while proc_alive "$pid"; do
		kill -USR2 "$pid" 2>/dev/null
		kill -USR1 "$pid" 2>/dev/null
		n=$((n + 1))
		sleep 0.005
	done
	t_wait "$pid" 5
	echo "$n signal pairs sent"
	show err.txt
	expect_rc 0
	expect_eq "$(jq_count s.json '.event.action == "host-scan"')" 8 "host-scan records"
	expect_eq "$(cat err.txt)" "" "stderr"
}

test_bad_policy() {
	policy syn.json '{"scan": {'
	policy val.json '{"scan":{"memcg_offline_warning":-1}}'
	policy typ.json '{"scan":{"memcg_stat_read_warning":10}}'
	for p in syn.json val.json typ.json missing.json; do
		sw scan --policy "$p" -o out.json 2>err.txt
		show err.txt
		[ "$RC" = 2 ] || fail "--policy $p: exit $RC, want 2"
		grep -q "$p" err.txt || fail "--policy $p: stderr does not name the file"
		[ ! -s out.json ] || fail "--policy $p: records written"
	done
	# a policy that warns is still used
	policy warn.json '{"scan":{"no_such_key":1,"memcg_stat_read_warning":"1us"}}'
	sw scan --policy warn.json -o w.json 2>err.txt
	expect_rc 0
	grep -q unknown-key err.txt || fail "no unknown-key warning"
	expect_eq "$(jq_count w.json '.event.action == "memcg-stat-slow"')" 1 \
		"the warned policy's thresholds apply"
}

# Every record: schema 1, @timestamp, scan_ns > 0, kind metric (host-scan) or alert.
test_record_fields() {
	local n bad
	policy p.json '{"scan":{"memcg_stat_read_warning":"1us","slab_unreclaimable_warning_pct":0.0001,
		"dentry_negative_warning":1}}'
	scan_to r.json --policy p.json
	show r.json
	n=$(jq_count r.json true)
	[ "$n" -ge 2 ] || fail "want a host-scan record and alerts, got $n records"
	expect_eq "$(jq_count r.json '.event.action == "host-scan"')" 1 "host-scan records"
	bad=$(jq_count r.json '(.stallwatch.schema == 1) and (.stallwatch.self.scan_ns > 0) and
		(."@timestamp" | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}Z$"))
		and (.event.duration == .stallwatch.self.scan_ns) and (.host.name | length > 0)
		and (.event.kind == (if .event.action == "host-scan" then "metric" else "alert" end))
		| not')
	expect_eq "$bad" 0 "records without schema 1, scan_ns, @timestamp or the right kind"
	expect_eq "$(hs r.json '"\(.log.level) \(.rule.name)"')" "informational host-scan" \
		"host-scan level and rule"
	expect_eq "$(jq -r '.["@timestamp"]' r.json | sort -u | wc -l)" 1 \
		"one @timestamp for a scan's records"
	echo "scan_ns $(hs r.json .stallwatch.self.scan_ns) walk_ns $(hs r.json .stallwatch.memcg.walk_ns)" \
		"slab read_ns $(hs r.json .stallwatch.slab.read_ns)"
}

test_output_append() {
	scan_to o1.json
	cp o1.json out.json
	chmod 644 out.json
	rm -f new.json
	sw scan -o new.json 2>err.txt
	expect_rc 0
	expect_eq "$(stat -c %a new.json)" 600 "mode of a new -o file"
	sw scan -o new.json 2>>err.txt
	expect_rc 0
	expect_eq "$(jq_count new.json '.event.action == "host-scan"')" 2 "host-scan records after two runs"
	sw scan -o out.json 2>>err.txt
	expect_eq "$(head -n 1 out.json)" "$(head -n 1 o1.json)" "the first line kept"
	expect_eq "$(jq_count out.json '.event.action == "host-scan"')" 2 "records after appending"
	expect_eq "$(stat -c %a out.json)" 644 "mode of an existing -o file (kept)"
	expect_eq "$(cat err.txt)" "" "stderr"
}

test_format_text() {
	local n
	policy p.json '{"scan":{"memcg_stat_read_warning":"1us","slab_unreclaimable_warning_pct":0.0001}}'
	scan_to t.txt --format text --policy p.json
	scan_to j.json --format json --policy p.json
	show t.txt
	n=$(jq_count j.json true)
	# host records have their own columns (not the syscall ones), levels as JSON names them
	expect_eq "$(head -n 1 t.txt)" \
		'TIME            LEVEL         EVENT MEMCGS(on/off) STAT_READ(ms) NEG_DENTRIES UNRECL_SLAB(MiB)    PSI10(cpu/mem/io) DETAIL' \
		"header line"
	expect_eq "$(tail -n +2 t.txt | wc -l)" "$n" \
		"text lines after the header (one per record, as many as JSON records)"
	expect_eq "$(tail -n +2 t.txt | grep -cvE '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6} (informational|notice|warning|critical|error|alert|emergency) +(SCAN|ALERT) +([0-9]+/[0-9]+|-) +([0-9]+\.[0-9]{3}|-) +([0-9]+|-) +([0-9]+\.[0-9]|-) +[-0-9./]+ (v1|v2|none)?.*(scan [0-9.]+ ms|(memcg-offline|memcg-stat-slow|negative-dentries|slab-growth): .+)$')" \
		0 "lines not in the text format"
	expect_eq "$(sed -n 2p t.txt | awk '{ print $2, $3 }')" "informational SCAN" "first record"
	grep -q '^{' t.txt && fail "JSON in text output"
	return 0
}

# ---- host context of syscall records (stallwatch.host) ---------------------------------
#
# `run` puts the host signals that bear on a slow call into its record
# (cgroupscan/hostctx.h). The calls here are fast (a 1 us rule reports them
# all): what is tested is that each record carries the right host numbers,
# checked against this script's (or the helper's) own readings of the same
# kernel files right before and after, as above. Each runs under the backend
# given, explicitly.

# need_backend_here B: `run --backend=B` starts here, else skip with its reason.
need_backend_here() {
	"$STALLWATCH" run --backend="$1" -e getppid -- true >/dev/null 2>probe.txt ||
		skip "--backend=$1 unavailable here: $(head -n 1 probe.txt)"
}

# in_readings VALUE KIND COL FILE: VALUE lies between the helper's "KIND before"
# and "KIND after" readings of column COL (2 = the first number) in FILE.
in_readings() {
	local b a
	b=$(awk -v k="$2" -v c="$3" '$1 == k && $2 == "before" { print $(c + 2); exit }' "$4")
	a=$(awk -v k="$2" -v c="$3" '$1 == k && $2 == "after" { print $(c + 2); exit }' "$4")
	echo "$2 column $3: record $1, helper before $b after $a"
	[ "$b" = - ] && [ "$a" = - ] && [ "$1" = null ] && return 0
	in_range "$1" "$(awk -v x="$b" -v y="$a" 'BEGIN { print (x < y ? x : y) }')" \
		"$(awk -v x="$b" -v y="$a" 'BEGIN { print (x > y ? x : y) }')"
}

# The GitHub case: 300 offline memcgs of ours, then a reader of the root's and
# our parent's memory.stat under a 1 us rule. Every record of a read of a
# memory.stat carries stallwatch.host.memcg from stallwatch's latest host
# sample: v1, online and offline within what this script's /proc/cgroups and
# directory counts right before and after the run allow, offline at least our
# 300, and the self-timed memory.stat read.
host_context_memcg() {
	local backend=$1 try r1 r2 n1 d1 n2 d2 lo hi sel n bad why=
	need_v1
	need_backend_here "$backend"
	make_parent
	make_zombies 300
	sel='slow and (name == "read" or name == "pread64") and
		(sc.fd_path // "" | endswith("/memory.stat"))'
	for ((try = 1; try <= 3; try++)); do
		rm -f rec.json out.txt
		r1=$(cg_reading)
		# 500 ms: the first host sample is taken when the loop starts
		sw run --backend="$backend" -e read,pread64 -m 1us -o rec.json -- \
			"$H/hostcalls" 500 100 out.txt "read:$MEMCG/memory.stat" "read:$PARENT/memory.stat"
		r2=$(cg_reading)
		[ "$RC" = 0 ] || {
			show rec.json out.txt
			fail "run exited $RC"
		}
		read -r n1 d1 <<<"$r1"
		read -r n2 d2 <<<"$r2"
		lo=$(($(min "$n1" "$n2") - $(max "$d1" "$d2")))
		hi=$(($(max "$n1" "$n2") - $(min "$d1" "$d2")))
		n=$(jq_count rec.json "$sel")
		# each file: its read with text (the read at EOF may take less than 1 us)
		expect_eq "$(jq_get rec.json "$sel" 'sc.fd_path' | sort -u | wc -l)" 2 \
			"memory.stat files with a read record ($n records)"
		jq_get rec.json "$sel" '[sc.fd_path, .stallwatch.host.memcg] | tostring'
		echo "try $try: ours num_cgroups $n1..$n2 dirs $d1..$d2 (offline $lo..$hi)"
		bad=$(jq_count rec.json "$sel and (.stallwatch.host.memcg.hierarchy != \"v1\" or
			(.stallwatch.host.memcg.offline | type) != \"number\" or
			(.stallwatch.host.memcg.stat_read_ns // 0) <= 0 or
			(.stallwatch.host.memcg.sample_age_ns | type) != \"number\")")
		[ "$bad" = 0 ] || {
			show rec.json
			fail "$bad of $n memory.stat read records lack hierarchy v1, offline, stat_read_ns or sample_age_ns"
		}
		bad=$(jq_count rec.json "$sel and (.stallwatch.host.memcg.offline < 300)")
		[ "$bad" = 0 ] || {
			show rec.json
			fail "$bad records with fewer offline memcgs than our 300"
		}
		bad=$(jq_count rec.json "$sel and (.stallwatch.host.memcg.offline < $lo or
			.stallwatch.host.memcg.offline > $hi or
			.stallwatch.host.memcg.online < $(min "$d1" "$d2") or
			.stallwatch.host.memcg.online > $(max "$d1" "$d2"))")
		[ "$bad" = 0 ] && return 0
		why="$bad records with offline outside $lo..$hi or online outside $d1..$d2"
	done
	show rec.json
	fail "$why (3 tries)"
}
test_host_context_memcg_ptrace() { host_context_memcg ptrace; }
test_host_context_memcg_bpf() {
	sanitizer_pass && skip "300 cgroups again: the plain pass runs it, ptrace's case covers the code"
	host_context_memcg bpf
}

# The PagerDuty case, small: 3000 negative dentries in a directory of ours,
# then an inotify_add_watch with child events on it under a 1 us rule. Its
# record carries dentry-state's negative count, within the helper's readings
# right before the call and right after the record (HOLD_MS later), and PSI
# some avg10 within the helper's PSI readings (or none without PSI).
host_context_dentry() {
	local backend=$1 dir try sel v ok res col why=
	need_backend_here "$backend"
	dir=$(mktemp -d "$TD/neg.XXXXXX") || fail "mktemp -d"
	sel='slow and name == "inotify_add_watch"'
	for ((try = 1; try <= CHECK_TRIES; try++)); do
		rm -f rec.json out.txt
		sw run --backend="$backend" -e inotify_add_watch -m 1us -o rec.json -- \
			"$H/hostcalls" 100 200 out.txt "neg:$dir:3000" "inotify:$dir"
		[ "$RC" = 0 ] || {
			show rec.json out.txt
			fail "run exited $RC"
		}
		expect_eq "$(jq_count rec.json "$sel")" 1 "slow inotify_add_watch records"
		jq_get rec.json "$sel" '.stallwatch.host | tostring'
		expect_eq "$(jq_get rec.json "$sel" '.stallwatch.host.dentry | has("total") and has("unused")')" \
			true "dentry.total and dentry.unused in the record"
		ok=1
		v=$(jq_get rec.json "$sel" .stallwatch.host.dentry.negative)
		in_readings "$v" dentry 2 out.txt || {
			ok=0
			why="dentry.negative $v outside the helper's readings"
		}
		col=1
		for res in cpu memory io; do
			v=$(jq_get rec.json "$sel" ".stallwatch.host.pressure.$res.some_avg10")
			in_readings "$v" psi "$col" out.txt || {
				ok=0
				why="pressure.$res.some_avg10 $v outside the helper's readings"
			}
			col=$((col + 1))
		done
		[ "$ok" = 1 ] && return 0
	done
	show rec.json out.txt
	fail "$why ($CHECK_TRIES tries)"
}
test_host_context_dentry_ptrace() { host_context_dentry ptrace; }
test_host_context_dentry_bpf() { host_context_dentry bpf; }

# A network call: sendto and recvfrom of one datagram over loopback. Each
# record carries softnet_stat's time_squeeze and dropped sums, within the
# helper's readings around the calls; an inotify watch (not a network call)
# carries no softnet, and a memory.stat read no dentries.
host_context_softnet() {
	local backend=$1 try sel v ok col why=
	need_backend_here "$backend"
	sel='slow and (name == "sendto" or name == "recvfrom")'
	for ((try = 1; try <= CHECK_TRIES; try++)); do
		rm -f rec.json out.txt
		sw run --backend="$backend" -e sendto,recvfrom,inotify_add_watch -m 1us -o rec.json -- \
			"$H/hostcalls" 100 200 out.txt udp "inotify:$TD"
		[ "$RC" = 0 ] || {
			show rec.json out.txt
			fail "run exited $RC"
		}
		expect_eq "$(jq_count rec.json "$sel")" 2 "slow sendto and recvfrom records"
		expect_eq "$(jq_count rec.json "$sel and (.stallwatch.host.softnet | has(\"time_squeeze\") and has(\"dropped\"))")" \
			2 "records with softnet"
		expect_eq "$(jq_count rec.json 'name == "inotify_add_watch" and (.stallwatch.host | has("softnet"))')" \
			0 "an inotify watch with softnet"
		ok=1
		for col in 1 2; do
			for v in $(jq_get rec.json "$sel" "[.stallwatch.host.softnet.time_squeeze,
				.stallwatch.host.softnet.dropped][$((col - 1))]"); do
				in_readings "$v" softnet "$col" out.txt || {
					ok=0
					why="softnet column $col: $v outside the helper's readings"
				}
			done
		done
		[ "$ok" = 1 ] && return 0
	done
	show rec.json out.txt
	fail "$why ($CHECK_TRIES tries)"
}
test_host_context_softnet_ptrace() { host_context_softnet ptrace; }
test_host_context_softnet_bpf() { host_context_softnet bpf; }

t_run zombies test_zombies
t_run negative_dentries test_negative_dentries
t_run alert_memcg_offline test_alert_memcg_offline
t_run alert_memcg_stat_slow test_alert_memcg_stat_slow
t_run alert_negative_dentries test_alert_negative_dentries
t_run alert_slab_growth test_alert_slab_growth
t_run defaults_quiet test_defaults_quiet
t_run rates_from_state test_rates_from_state
t_run state_other_boot test_state_other_boot
t_run state_corrupt test_state_corrupt
t_run state_created_0600 test_state_created_0600
t_run state_not_regular test_state_not_regular
t_run slab_leak_from_state test_slab_leak_from_state
t_run cgroup_namespace test_cgroup_namespace
t_run vanishing_cgroups test_vanishing_cgroups
t_run hybrid_v1 test_hybrid_v1
t_run count_interval test_count_interval
t_run sigterm test_sigterm
t_run usage_errors test_usage_errors
t_run output_unopenable test_output_unopenable
t_run signals_between_scans test_signals_between_scans
t_run signal_storm test_signal_storm
t_run bad_policy test_bad_policy
t_run record_fields test_record_fields
t_run output_append test_output_append
t_run format_text test_format_text
t_run host_context_memcg_ptrace test_host_context_memcg_ptrace
t_run host_context_memcg_bpf test_host_context_memcg_bpf
t_run host_context_dentry_ptrace test_host_context_dentry_ptrace
t_run host_context_dentry_bpf test_host_context_dentry_bpf
t_run host_context_softnet_ptrace test_host_context_softnet_ptrace
t_run host_context_softnet_bpf test_host_context_softnet_bpf
t_done
