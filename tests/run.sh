#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/run.sh - the `make check` test runner (after `make check-build`).
#
#   tests/run.sh [FILTER]
#
# Runs, in order:
#   1. every unit test binary: build/tests/test_*, then build/asan/tests/test_*
#      (ASan+UBSan; their lines are labelled "asan/...");
#   2. every tests/e2e/*.sh script against ./stallwatch; the scripts that
#      declare `t_backends ... notify` (lib.sh) again with SW_BACKEND=notify
#      (labelled "notify/e2e/..."), and those that declare bpf with
#      SW_BACKEND=bpf ("bpf/e2e/..."); then every script again against
#      build/asan/stallwatch (labelled "asan/e2e/..."). The run tests of a
#      script that declares ptrace run under ptrace in the plain and the
#      sanitizer pass (lib.sh: auto would be bpf, which has its own pass,
#      and ptrace has the most user-space code for the sanitizers); the
#      rest (attach, records, policy, ...) under the default, auto (bpf
#      where the kernel allows it), but for the tests that pin a backend;
#   3. two lint tests: lint/check-format (make -s check-format) and
#      lint/cppcheck (make -s cppcheck); SKIP if the tool is missing.
# FILTER (a substring) limits the run to units, scripts or lint tests whose
# name contains it, e.g. `tests/run.sh follow` or `tests/run.sh test_policy`.
# E2E_ASAN=0 skips the sanitizer pass of the e2e scripts (development only).
# Time limits: UNIT_TIMEOUT per unit binary, E2E_TIMEOUT per script, and
# RUN_BUDGET for the whole run (scripts not started in time count as FAIL).
#
# RUN_BUDGET (820 s) is what a run alone on a quiet 2-CPU machine may take, so
# that `make check` ends within 15 minutes there (the build before the run
# takes about 60-90 s). On a busy machine the same
# run takes longer without anything being wrong, and beside a second
# `make check` both must pass. So the budget grows by the CPU time that other
# processes took from this run: at each script's start, the host's busy CPU
# time since the run began (/proc/stat: user, nice, system, irq, softirq and
# the hypervisor's steal), less the CPU time of this runner and the children
# it reaped (/proc/self/stat), divided by the number of CPUs. Alone on a quiet
# machine that is a few seconds and the budget stays what it is; a slow test
# still runs out of it there. Beside a second run it grows by about that
# run's CPU time. The last lines say how much it grew.
#
# Every PASS/FAIL/SKIP line is printed as it comes; a program that exits
# non-zero without printing a FAIL line counts as one FAIL (a crash cannot
# pass silently). Last line: "N passed, N failed, N skipped". Exit 1 if
# anything failed.

set -u
cd "$(dirname "$0")/.." || exit 1

FILTER=${1:-}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-120}
E2E_TIMEOUT=${E2E_TIMEOUT:-300}
# make check must end within 15 min on a quiet machine: e2e scripts that
# would start after RUN_BUDGET seconds, plus what other processes took (see
# above), are not run (each counts as a FAIL).
RUN_BUDGET=${RUN_BUDGET:-820}
npass=0
nfail=0
nskip=0

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# ---- the time budget ------------------------------------------------------------

TICKS=$(getconf CLK_TCK 2>/dev/null || echo 100)
NCPU=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)

# cpu_ticks: "HOST OURS", clock ticks: the busy time of all CPUs, and the CPU
# time of this shell plus every child it reaped (which includes their children).
cpu_ticks() {
	local host s
	host=$(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat 2>/dev/null)
	s=$(cat /proc/$$/stat 2>/dev/null)
	s=${s##*) }
	# shellcheck disable=SC2086 # the fields, split
	set -- $s
	echo "${host:-0} $((${12:-0} + ${13:-0} + ${14:-0} + ${15:-0}))"
}

read -r HOST0 OURS0 <<<"$(cpu_ticks)"

# budget_extra: seconds the budget grows by now: other processes' CPU time
# since the start, spread over the CPUs.
budget_extra() {
	local host ours other
	read -r host ours <<<"$(cpu_ticks)"
	other=$(((host - HOST0) - (ours - OURS0)))
	[ "$other" -gt 0 ] || other=0
	echo $((other / TICKS / NCPU))
}

selected() {
	[ -z "$FILTER" ] || [[ $1 == *"$FILTER"* ]]
}

# run_prog LABEL PREFIX CMD...: run CMD, echo its output with PREFIX inserted
# after "PASS: " / "FAIL: " / "SKIP: ", count the lines.
run_prog() {
	local label=$1 prefix=$2 line rc saw_fail=0
	shift 2
	while IFS= read -r line; do
		case $line in
		"__RC__ "*)
			rc=${line#__RC__ }
			continue
			;;
		PASS:\ *)
			npass=$((npass + 1))
			line="PASS: $prefix${line#PASS: }"
			;;
		FAIL:\ *)
			nfail=$((nfail + 1))
			saw_fail=1
			line="FAIL: $prefix${line#FAIL: }"
			;;
		SKIP:\ *)
			nskip=$((nskip + 1))
			line="SKIP: $prefix${line#SKIP: }"
			;;
		esac
		printf '%s\n' "$line"
	done < <(
		"$@" </dev/null 2>&1
		echo "__RC__ $?"
	)
	if [ "${rc:-1}" != 0 ] && [ "$saw_fail" = 0 ]; then
		nfail=$((nfail + 1))
		case ${rc:-1} in
		124) echo "FAIL: $label (timed out)" ;;
		*) echo "FAIL: $label (exited ${rc:-?} without a FAIL line)" ;;
		esac
	fi
}

# ---- unit tests -----------------------------------------------------------------

for tree in build build/asan; do
	prefix=
	[ "$tree" = build/asan ] && prefix=asan/
	for t in "$tree"/tests/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		selected "$name" || selected "$prefix$name" || continue
		run_prog "$prefix$name" "$prefix" timeout -k 10 "$UNIT_TIMEOUT" "$t"
	done
done

# ---- end-to-end tests -------------------------------------------------------------

e2e_pass() {
	local binary=$1 prefix=$2 backend=${3:-} script name left extra
	for script in tests/e2e/*.sh; do
		name=$(basename "$script")
		[ "$name" = lib.sh ] && continue
		# a backend pass runs the scripts that declare it (t_backends, lib.sh)
		[ -z "$backend" ] || grep -Eq "^t_backends( .*)? $backend( |\$)" "$script" || continue
		# the sanitizer pass keeps to one backend: signal storms under every
		# backend are timing, not memory, and their code paths run in notify.sh
		if [ "$prefix" = asan/ ] && [ "$name" = notify_signals.sh ]; then
			echo "SKIP: asan/e2e/$name (the sanitizer pass keeps one backend; notify.sh covers this code)"
			nskip=$((nskip + 1))
			continue
		fi
		selected "e2e/$name" || selected "${prefix}e2e/$name" || continue
		extra=$(budget_extra)
		left=$((RUN_BUDGET + extra - SECONDS))
		if [ "$left" -le 10 ]; then
			echo "FAIL: ${prefix}e2e/$name (not run: the budget of ${RUN_BUDGET} s" \
				"+ $extra s that other processes took is used up after $SECONDS s)"
			nfail=$((nfail + 1))
			continue
		fi
		[ "$left" -gt "$E2E_TIMEOUT" ] && left=$E2E_TIMEOUT
		if [ ! -x "$binary" ]; then
			echo "FAIL: ${prefix}e2e/$name ($binary is missing: make check-build)"
			nfail=$((nfail + 1))
			continue
		fi
		run_prog "${prefix}e2e/$name" "$prefix" env STALLWATCH="$binary" HELPERS=build/helpers \
			SW_BACKEND="$backend" timeout -k 10 "$left" bash "$script"
	done
}

e2e_pass ./stallwatch ""
# the run tests meant to behave the same under every backend, again under notify and bpf
e2e_pass ./stallwatch notify/ notify
e2e_pass ./stallwatch bpf/ bpf
if [ "${E2E_ASAN:-1}" != 0 ]; then
	e2e_pass build/asan/stallwatch asan/
fi

# ---- lint -------------------------------------------------------------------------

lint() {
	local name=$1 tool=$2 target=$3 out
	selected "lint/$name" || return 0
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: lint/$name ($tool is not installed)"
		nskip=$((nskip + 1))
		return
	fi
	if out=$(make -s "$target" 2>&1); then
		echo "PASS: lint/$name"
		npass=$((npass + 1))
	else
		echo "FAIL: lint/$name"
		printf '%s\n' "$out" | head -n 40 | sed 's/^/  | /'
		nfail=$((nfail + 1))
	fi
}

lint check-format clang-format check-format
lint cppcheck cppcheck cppcheck

echo "run: $SECONDS s; budget $RUN_BUDGET s + $(budget_extra) s that other processes took from the CPUs"
echo "$npass passed, $nfail failed, $nskip skipped"
[ "$nfail" -eq 0 ]
