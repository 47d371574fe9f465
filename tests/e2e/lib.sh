# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# lib.sh - sourced by every tests/e2e/*.sh script.
#
# A script defines test functions and runs each with `t_run NAME FUNC [ARG...]`.
# Every test runs in its own subshell, in its own directory $TD (under the
# script's temp dir, removed on exit), with stdin from /dev/null and a time
# limit (T_TEST_TIMEOUT, default 60 s). Inside a test:
#   fail WHY         the test fails (and stops)
#   skip WHY         the test is skipped (and stops)
#   t_bg CMD...      start CMD in the background; $BGPID; it is killed when
#                    the test ends if still running (by saved pid + start time)
#   t_track PID      the same for a process the test did not start itself
#                    (e.g. the command stallwatch runs)
#   t_wait PID [S]   wait up to S seconds (default 30); exit status in $RC, or
#                    RC=timeout after SIGKILLing it
#   sw ARG...        run $STALLWATCH ARG... (redirect as needed) with t_wait;
#                    status in $RC, duration in $ELAPSED_MS
# Output of a test (its stdout/stderr, plus `show FILE` dumps) is printed,
# indented, only when it fails. Each test prints one automake-style line:
# "PASS: e2e/FILE:NAME", "FAIL: e2e/FILE:NAME (why)", "SKIP: e2e/FILE:NAME (why)".
# A script ends with t_done: exit 1 if any test failed. T_ONLY=REGEX runs only
# matching tests; T_KEEP=1 keeps the temp dir.
#
# Environment: STALLWATCH (binary under test, default ./stallwatch), HELPERS
# (default build/helpers), T_TEST_TIMEOUT, SW_BACKEND (see t_backends below).

set -u

E2E_FILE=$(basename "${BASH_SOURCE[1]:-unknown.sh}")
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)

t__abs() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) if [ -e "$PWD/$1" ]; then printf '%s\n' "$PWD/$1"; else printf '%s\n' "$TOP/$1"; fi ;;
	esac
}

STALLWATCH=$(t__abs "${STALLWATCH:-./stallwatch}")
HELPERS=$(t__abs "${HELPERS:-build/helpers}")
T_TEST_TIMEOUT=${T_TEST_TIMEOUT:-60}
T_ONLY=${T_ONLY:-}
export STALLWATCH HELPERS
# the binary as given, before any backend wrapper (sanitizer_pass below)
T_BINARY=$STALLWATCH

# sanitizer_pass: this run is tests/run.sh's ASan+UBSan pass (build/asan).
# A test whose cost is a host-scale workload (a million dentries, hundreds
# of cgroups) or kernel work (BPF verification per attach), not stallwatch's
# own code, may skip there: `sanitizer_pass && skip "why"`. The plain passes
# run it; lighter tests cover the same code under the sanitizers.
sanitizer_pass() {
	[[ $T_BINARY == */asan/* ]]
}
# Most tests ask for JSON explicitly with -o; keep the environment neutral.
unset STALLWATCH_FORMAT 2>/dev/null || true

T_NFAIL=0
T_TMP=$(mktemp -d /tmp/sw-e2e.XXXXXX) || exit 1
chmod 755 "$T_TMP"
# Only the script itself removes it: bash also runs an EXIT trap in a forked
# child that a signal kills before its exec (t_bg "$@" & then an early kill),
# which removed T_TMP under the tests still running (seen as "can't read
# .../.log" failures when the host was busy).
t__on_exit() {
	[ "$BASHPID" = "$$" ] || return 0
	[ -n "${T_KEEP:-}" ] || rm -rf "$T_TMP"
}
trap t__on_exit EXIT

# ---- backends ------------------------------------------------------------------
#
# SW_BACKEND=NAME (empty: stallwatch's default) runs a script's `run` tests
# under `stallwatch run --backend=NAME`. A script opts in with one line right
# after sourcing this file, naming the backends its run tests hold under:
#   t_backends ptrace notify
# With SW_BACKEND set to one of them, STALLWATCH becomes a wrapper
# (tests/helpers/backend_exec.c) that puts --backend=$SW_BACKEND right after
# `run` and execs the binary (same pid; other subcommands pass through as
# they are), so `sw run ...`, `"$STALLWATCH" run ...` and programs that exec
# it (launcher, setpriv, sh -c) all honour it. Without SW_BACKEND, a script
# that declares ptrace runs its run tests under ptrace (SW_BACKEND=ptrace):
# auto means bpf where the kernel allows it, and tests/run.sh has a pass of
# its own for bpf, so the plain pass is ptrace's (SW_BACKEND=auto: auto).
# With SW_BACKEND set, a script that did not opt in, or not for that
# backend, prints one SKIP line and exits 0. Inside a test, `needs_backend
# B...` skips it unless the backend in use is one of B (auto: the one
# stallwatch chooses here, bpf or ptrace).
SW_BACKEND=${SW_BACKEND:-}
t__backends_declared=0

# STALLWATCH becomes $T_TMP/bin/stallwatch, a link to the backend_exec
# helper (same comm): it execs the binary with --backend=$SW_BACKEND after
# `run`. Not a shell script: dash resets an ignored SIGCHLD (signals.sh).
t__backend_wrapper() {
	[ -x "$HELPERS/backend_exec" ] || {
		t_fail setup "$HELPERS/backend_exec is missing (make helpers)"
		exit 1
	}
	mkdir -p "$T_TMP/bin" && chmod 755 "$T_TMP/bin" &&
		ln -sf "$HELPERS/backend_exec" "$T_TMP/bin/stallwatch" || exit 1
	SW_BACKEND_EXEC=$STALLWATCH
	STALLWATCH=$T_TMP/bin/stallwatch
	export SW_BACKEND SW_BACKEND_EXEC STALLWATCH
}

t_backends() {
	local b
	t__backends_declared=1
	if [ -z "$SW_BACKEND" ]; then
		for b in "$@"; do
			[ "$b" = ptrace ] && SW_BACKEND=ptrace
		done
		[ -n "$SW_BACKEND" ] || return 0
	fi
	for b in "$@"; do
		if [ "$b" = "$SW_BACKEND" ]; then
			t__backend_wrapper
			return 0
		fi
	done
	t_skip backend "SW_BACKEND=$SW_BACKEND: the run tests of this script are for: $*"
	exit 0
}

# t_run_ptrace NAME FUNC [ARG...]: t_run for a test whose expectations hold
# only under ptrace (TracerPid of the target, ptrace stops, the seccomp
# prefilter, EXITKILL, ptrace's refusals): its `run` and `attach` get
# --backend=ptrace whatever the default is (auto: bpf where it loads), by
# the backend_exec wrapper. In a pass for another backend it is skipped.
t_run_ptrace() {
	local saved_sw=$STALLWATCH saved_b=$SW_BACKEND saved_exec=${SW_BACKEND_EXEC:-}
	local saved_declared=$t__backends_declared
	if [ -n "$SW_BACKEND" ] && [ "$SW_BACKEND" != ptrace ]; then
		[ -n "$T_ONLY" ] && ! [[ $1 =~ $T_ONLY ]] && return 0
		t_skip "$1" "pinned to --backend=ptrace (this pass: $SW_BACKEND)"
		return 0
	fi
	[ -x "$HELPERS/backend_exec" ] || {
		t_fail "$1" "$HELPERS/backend_exec is missing (make helpers)"
		return 0
	}
	mkdir -p "$T_TMP/pin" && chmod 755 "$T_TMP/pin" &&
		ln -sf "$HELPERS/backend_exec" "$T_TMP/pin/stallwatch" || exit 1
	SW_BACKEND_EXEC=${SW_BACKEND_EXEC:-$STALLWATCH}
	STALLWATCH=$T_TMP/pin/stallwatch
	SW_BACKEND=ptrace
	SW_BACKEND_ATTACH=1
	t__backends_declared=1
	export STALLWATCH SW_BACKEND SW_BACKEND_EXEC SW_BACKEND_ATTACH
	t_run "$@"
	STALLWATCH=$saved_sw
	SW_BACKEND=$saved_b
	SW_BACKEND_EXEC=$saved_exec
	t__backends_declared=$saved_declared
	unset SW_BACKEND_ATTACH
}

# t__backend_used: the backend this run's `stallwatch run` uses; auto (or
# none) is what stallwatch chooses here: bpf if it loads, else ptrace (the
# notify fallback needs ptrace refused, which no plain run here is).
t__backend_used() {
	local bin=${SW_BACKEND_EXEC:-$STALLWATCH}
	case ${SW_BACKEND:-auto} in
	auto)
		[ -n "${T__AUTO_BACKEND:-}" ] || {
			T__AUTO_BACKEND=ptrace
			"$bin" run --backend=bpf -e getppid -- true >/dev/null 2>&1 && T__AUTO_BACKEND=bpf
		}
		echo "$T__AUTO_BACKEND"
		;;
	*) echo "$SW_BACKEND" ;;
	esac
}

# backend_is NAME: this run's `stallwatch run` uses backend NAME.
backend_is() {
	[ "$(t__backend_used)" = "$1" ]
}

# expect_result FILE SELECT RET [ERRNO]: the selected record's syscall.ret
# (and errno name, or none). Under notify, which never sees a return, the
# record must carry neither: no made-up result.
expect_result() {
	local file=$1 sel=$2 ret=$3 errno=${4:-}
	if backend_is notify; then
		expect_eq "$(jq_get "$file" "$sel" '.stallwatch.syscall | has("ret") or has("errno")')" \
			false "ret or errno under notify (it sees no return)"
		return 0
	fi
	expect_eq "$(jq_get "$file" "$sel" .stallwatch.syscall.ret)" "$ret" "syscall.ret"
	if [ -n "$errno" ]; then
		expect_eq "$(jq_get "$file" "$sel" .stallwatch.syscall.errno)" "$errno" "syscall.errno"
	else
		expect_eq "$(jq_get "$file" "$sel" '.stallwatch.syscall | has("errno")')" false \
			"errno present"
	fi
}

needs_backend() {
	local b used
	used=$(t__backend_used)
	for b in "$@"; do
		[ "$b" = "$used" ] && return 0
	done
	skip "needs --backend=$* (this run: $used)"
}

t_pass() { echo "PASS: e2e/$E2E_FILE:$1"; }
t_skip() { echo "SKIP: e2e/$E2E_FILE:$1 (${2:-no reason given})"; }
t_fail() {
	echo "FAIL: e2e/$E2E_FILE:$1 (${2:-no reason given})"
	T_NFAIL=$((T_NFAIL + 1))
}

t__setup_ok=1
t__setup_why=
if [ ! -x "$STALLWATCH" ]; then
	t__setup_ok=0
	t__setup_why="$STALLWATCH is not an executable"
elif [ ! -x "$HELPERS/sleeper" ]; then
	t__setup_ok=0
	t__setup_why="helpers not built in $HELPERS (make helpers)"
elif ! command -v jq >/dev/null 2>&1; then
	t__setup_ok=0
	t__setup_why="jq is missing (make deps-check)"
fi
if [ "$t__setup_ok" = 0 ]; then
	t_fail setup "$t__setup_why"
	exit 1
fi

# ---- inside a test ----------------------------------------------------------

fail() {
	printf '%s\n' "$*" >"$TD/.reason"
	exit 1
}

skip() {
	printf '%s\n' "$*" >"$TD/.reason"
	exit 77
}

# Print a file (evidence) into the test's log, shown if the test fails.
show() {
	local f
	for f in "$@"; do
		echo "--- $(basename "$f"):"
		if [ -f "$f" ]; then head -c 4000 "$f"; else echo "(missing)"; fi
	done
}

now_ms() {
	local t=$EPOCHREALTIME
	echo $((${t/./} / 1000))
}

proc_starttime() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	set -- $s
	echo "${20}"
}

# State letter of /proc/PID/stat (empty if gone).
proc_state() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	s=${s##*) }
	echo "${s%% *}"
}

proc_alive() {
	local st
	st=$(proc_state "$1")
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

t_track() {
	local st
	st=$(proc_starttime "$1") || return 0
	echo "$1 $st" >>"$TD/.pids"
}

t_bg() {
	"$@" &
	BGPID=$!
	t_track "$BGPID"
}

# t__dump_tree PID: PID and its descendants, with state and where they wait
# (printed on a time-out, so a hang says where it was).
t__dump_tree() {
	ps -eo pid=,ppid=,stat=,wchan:32=,args= 2>/dev/null | awk -v root="$1" '
		{ line[$1] = $0; parent[$1] = $2 }
		END {
			for (p in line) {
				for (q = p; q != "" && q != 0 && q != root; q = parent[q])
					;
				if (q == root)
					print "  | ps: " line[p]
			}
		}'
}

t_wait() {
	local pid=$1 limit=$((${2:-30} * 1000)) start
	start=$(now_ms)
	while proc_alive "$pid"; do
		if [ $(($(now_ms) - start)) -ge "$limit" ]; then
			echo "timed out; the processes left:"
			t__dump_tree "$pid"
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			RC=timeout
			return 1
		fi
		sleep 0.02
	done
	wait "$pid"
	RC=$?
	return 0
}

# sw ARG...: run stallwatch (time limit $SW_TIMEOUT s, default 30).
sw() {
	local start
	start=$(now_ms)
	t_bg "$STALLWATCH" "$@"
	SWPID=$BGPID
	t_wait "$SWPID" "${SW_TIMEOUT:-30}"
	ELAPSED_MS=$(($(now_ms) - start))
	[ "$RC" = timeout ] && echo "stallwatch $* timed out after ${SW_TIMEOUT:-30} s"
	return 0
}

# wait_for 'SHELL CONDITION' TIMEOUT_S: poll every 20 ms.
wait_for() {
	local limit=$((${2:-10} * 1000)) start
	start=$(now_ms)
	until eval "$1"; do
		[ $(($(now_ms) - start)) -ge "$limit" ] && return 1
		sleep 0.02
	done
	return 0
}

# The ids of the BPF programs process PID holds (its fdinfo's prog_id lines).
prog_ids() {
	local f
	for f in /proc/"$1"/fdinfo/*; do
		awk '$1 == "prog_id:" { print $2 }' "$f" 2>/dev/null
	done | sort -u
}

# ---- a cgroup of our own ---------------------------------------------------------

# cg_make: make stallwatch-test-PID in the v1 pids hierarchy (else v2);
# $CG is its path as /proc/PID/cgroup shows it, $CG_ENTRY what --dry-run
# prints for it, $CGDIR its directory, $CGROOT the hierarchy's root (where
# a process moves out to). Removed when the test ends.
cg_make() {
	local root
	[ "$(id -u)" = 0 ] || skip "needs root (to make a cgroup)"
	CG=/stallwatch-test-$BASHPID
	CGDIR=
	for root in /sys/fs/cgroup/pids /sys/fs/cgroup/unified /sys/fs/cgroup; do
		[ -f "$root/cgroup.procs" ] && mkdir "$root$CG" 2>/dev/null || continue
		CGDIR=$root$CG
		CGROOT=$root
		case $root in
		*/pids) CG_ENTRY="pids:$CG" ;;
		*) CG_ENTRY=$CG ;;
		esac
		break
	done
	[ -n "$CGDIR" ] || skip "cannot make a cgroup (no v1 pids or v2 hierarchy)"
	trap cg_remove EXIT
}

# Kill what is in our cgroup (only processes this test started), remove it.
cg_remove() {
	local p
	[ -d "$CGDIR" ] || return 0
	for p in $(cat "$CGDIR/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	wait_for '! grep -q . "$CGDIR/cgroup.procs"' 5
	rmdir "$CGDIR" 2>/dev/null || echo "could not remove $CGDIR"
}

# jq definitions shared by the filters below.
JQ_DEFS='def sc: .stallwatch.syscall; def name: .stallwatch.syscall.name;
def slow: .event.action == "slow-syscall"; def stuck: .event.action == "stuck-syscall";
def dur: .event.duration;'

# jq_count FILE FILTER: records (lines that parse) for which FILTER is true.
jq_count() {
	[ -f "$1" ] || {
		echo 0
		return
	}
	jq -R -c "$JQ_DEFS fromjson? | select($2)" "$1" | wc -l
}

# jq_get FILE SELECT EXPR: EXPR of each record matching SELECT, one per line.
jq_get() {
	[ -f "$1" ] || return 0
	jq -R -r "$JQ_DEFS fromjson? | select($2) | $3" "$1"
}

# Value after KEY on the first line of a helper report starting with KEY.
hval() {
	awk -v k="$2" -v f="${3:-2}" '$1 == k { print $f; exit }' "$1"
}

# within_tol MEASURED_NS EXPECTED_NS: |m - e| <= max(10% of e, 20 ms).
within_tol() {
	local m=$1 e=$2 tol d
	case "$m$e" in *[!0-9-]* | "") return 1 ;; esac
	tol=$((e / 10))
	[ "$tol" -lt 20000000 ] && tol=20000000
	d=$((m - e))
	[ "$d" -lt 0 ] && d=$((-d))
	[ "$d" -le "$tol" ]
}

expect_eq() {
	[ "$1" = "$2" ] || fail "${3:-value}: got '$1', want '$2'"
}

expect_tol() {
	within_tol "$1" "$2" || fail "${3:-duration}: $1 ns not within max(10%,20ms) of $2 ns"
}

expect_rc() {
	[ "$RC" = "$1" ] || fail "${2:-exit status}: got $RC, want $1"
}

# ---- running tests ------------------------------------------------------------

t__cleanup_pids() {
	local pid st
	[ -f "$1" ] || return 0
	while read -r pid st; do
		[ "$(proc_starttime "$pid")" = "$st" ] && kill -KILL "$pid" 2>/dev/null
	done <"$1"
	return 0
}

t_run() {
	local name=$1 func=$2 pid rc start why
	shift 2
	if [ -n "$SW_BACKEND" ] && [ "$t__backends_declared" = 0 ]; then
		t_skip backend "SW_BACKEND=$SW_BACKEND: this script does not say its run tests hold under other backends (t_backends)"
		exit 0
	fi
	if [ -n "$T_ONLY" ] && ! [[ $name =~ $T_ONLY ]]; then
		return 0
	fi
	TD=$T_TMP/$name
	mkdir -p "$TD"
	start=$(now_ms)
	(
		cd "$TD" || exit 1
		trap 'exit 143' TERM
		"$func" "$@"
	) </dev/null >"$TD/.log" 2>&1 &
	pid=$!
	while proc_alive "$pid"; do
		if [ $(($(now_ms) - start)) -ge $((T_TEST_TIMEOUT * 1000)) ]; then
			echo "test timed out after $T_TEST_TIMEOUT s" >"$TD/.reason"
			kill -TERM "$pid" 2>/dev/null
			sleep 1
			kill -KILL "$pid" 2>/dev/null
			break
		fi
		sleep 0.05
	done
	wait "$pid"
	rc=$?
	t__cleanup_pids "$TD/.pids"
	why=$(cat "$TD/.reason" 2>/dev/null)
	if [ "$rc" = 0 ] && [ ! -s "$TD/.reason" ]; then
		t_pass "$name"
	elif [ "$rc" = 77 ]; then
		t_skip "$name" "$why"
	else
		t_fail "$name" "${why:-exit status $rc}"
		sed -e 's/^/  | /' "$TD/.log" | tail -n 60
	fi
	return 0
}

t_done() {
	[ "$T_NFAIL" -eq 0 ] && exit 0
	exit 1
}
