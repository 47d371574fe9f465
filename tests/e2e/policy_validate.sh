#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# policy_validate.sh - data-driven tests of `stallwatch validate` (in the
# style of libseccomp's tests): every case is a set of files in
# tests/policy/, run from inside that directory so that the diagnostics name
# the files as given on the command line.
#
#   NN-name.expected   the case exists if this file exists: the EXACT stdout
#   NN-name.json       the policy; with NN-name.2.json, NN-name.3.json, ...
#                      (continuations) validated together in that order
#   NN-name.args       optional: the file arguments instead (one line, split
#                      on blanks), e.g. to name a file that does not exist
#   NN-name.jq         optional: run `validate --json` and compare the output
#                      of `jq -c -f NN-name.jq` with NN-name.expected instead
#   NN-name.rc         optional: the expected exit status (first line).
#                      Without it: text cases 1 if the expected output has
#                      ": error[", else 0; jq cases 1 if the document says
#                      "valid": false, else 0.
#   NN-name.stderr     optional: the EXACT stderr (e.g. a file that cannot be
#                      read); without it stderr must be empty
#
# Every NN-name.json that is not a continuation must belong to a case (the
# `layout` test), so a case cannot be skipped by a forgotten .expected.
# Also: usage errors, --help, the shipped policies and the --json shape.
. "$(dirname "$0")/lib.sh"

PDIR=$TOP/tests/policy

# case_args STEM: the file arguments of a case, one per line.
case_args() {
	local stem=$1 n f
	if [ -f "$PDIR/$stem.args" ]; then
		# shellcheck disable=SC2046 # split on blanks on purpose
		printf '%s\n' $(head -n 1 "$PDIR/$stem.args")
		return
	fi
	printf '%s\n' "$stem.json"
	n=2
	while f=$stem.$n.json && [ -f "$PDIR/$f" ]; do
		printf '%s\n' "$f"
		n=$((n + 1))
	done
}

# shellcheck disable=SC2034 # RC is read by expect_rc (lib.sh)
test_case() {
	local stem=$1 want_rc args=()
	mapfile -t args < <(case_args "$stem")
	[ -f "$PDIR/${args[0]}" ] || [ -f "$PDIR/$stem.args" ] ||
		fail "$stem: neither $stem.json nor $stem.args"
	if [ -f "$PDIR/$stem.jq" ]; then
		echo "(cd tests/policy && stallwatch validate --json ${args[*]} | jq -c -f $stem.jq)"
		(cd "$PDIR" && exec "$STALLWATCH" validate --json "${args[@]}") \
			>doc.json 2>err.txt
		RC=$?
		show doc.json err.txt
		jq -e . doc.json >/dev/null 2>&1 || fail "--json output does not parse"
		jq -c -f "$PDIR/$stem.jq" doc.json >out.txt 2>jq-err.txt ||
			fail "jq -f $stem.jq failed: $(head -n 3 jq-err.txt)"
		if [ "$(jq -r .valid doc.json)" = false ]; then want_rc=1; else want_rc=0; fi
	else
		echo "(cd tests/policy && stallwatch validate ${args[*]})"
		(cd "$PDIR" && exec "$STALLWATCH" validate "${args[@]}") >out.txt 2>err.txt
		RC=$?
		show err.txt
		if grep -q ': error\[' "$PDIR/$stem.expected"; then want_rc=1; else want_rc=0; fi
	fi
	[ -f "$PDIR/$stem.rc" ] && want_rc=$(head -n 1 "$PDIR/$stem.rc")
	if ! cmp -s "$PDIR/$stem.expected" out.txt; then
		diff -u --label "$stem.expected" --label "$stem (got)" "$PDIR/$stem.expected" out.txt
		fail "output differs from $stem.expected (diff above)"
	fi
	if [ -f "$PDIR/$stem.stderr" ]; then
		if ! cmp -s "$PDIR/$stem.stderr" err.txt; then
			diff -u --label "$stem.stderr" --label "$stem (got stderr)" \
				"$PDIR/$stem.stderr" err.txt
			fail "stderr differs from $stem.stderr (diff above)"
		fi
	else
		[ ! -s err.txt ] || fail "stderr not empty"
	fi
	expect_rc "$want_rc" "exit status"
}

# Every NN-name.json (not NN-name.N.json) has its NN-name.expected.
test_layout() {
	local f stem orphans=
	for f in "$PDIR"/[0-9][0-9]-*.json; do
		f=$(basename "$f")
		[[ $f =~ \.[0-9]+\.json$ ]] && continue
		stem=${f%.json}
		[ -f "$PDIR/$stem.expected" ] || orphans="$orphans $f"
	done
	[ -z "$orphans" ] || fail "without a .expected:$orphans"
	for f in "$PDIR"/[0-9][0-9]-*.jq "$PDIR"/[0-9][0-9]-*.args "$PDIR"/[0-9][0-9]-*.rc \
		"$PDIR"/[0-9][0-9]-*.stderr; do
		[ -e "$f" ] || continue
		stem=$(basename "${f%.*}")
		[ -f "$PDIR/$stem.expected" ] || orphans="$orphans $(basename "$f")"
	done
	[ -z "$orphans" ] || fail "without a .expected:$orphans"
	:
}

# usage_error WHAT ARG...: exit 2, one stderr line "stallwatch: ...", no stdout.
usage_error() {
	local what=$1
	shift
	sw "$@" >out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 2 "status of stallwatch $what"
	expect_eq "$(wc -l <err.txt)" 1 "stderr lines of stallwatch $what"
	grep -q '^stallwatch: ' err.txt || fail "stallwatch $what: stderr does not start with 'stallwatch: '"
	[ ! -s out.txt ] || fail "stallwatch $what: stdout not empty"
	:
}

test_usage() {
	usage_error "validate" validate
	usage_error "validate --json" validate --json
	usage_error "validate --bogus x" validate --bogus x
	usage_error "validate -x x" validate -x "$PDIR/01-minimal.json"
	usage_error "validate --max-errors=x" validate --max-errors=x "$PDIR/01-minimal.json"
	usage_error "validate --max-errors=-1" validate --max-errors=-1 "$PDIR/01-minimal.json"
	usage_error "validate --max-errors ' 5'" validate --max-errors ' 5' "$PDIR/01-minimal.json"
	usage_error "validate --json --max-errors=5" validate --json --max-errors=5 \
		"$PDIR/01-minimal.json"
	sw validate --max-errors=x "$PDIR/01-minimal.json" 2>err.txt
	expect_eq "$(cat err.txt)" \
		'stallwatch: validate: --max-errors `x`: a number of errors, 0 for no limit' "message"
}

# run stops its report of a broken policy after 100 errors, like validate
test_run_error_limit() {
	sw run --policy "$PDIR/81-max-errors.json" -- true >out.txt 2>err.txt
	show err.txt
	expect_rc 2
	expect_eq "$(grep -c ': error\[' err.txt)" 100 "error lines"
	expect_eq "$(grep -v ': error\[' err.txt | grep -v ': warning\[')" \
		'stallwatch: and 5 more errors, 2 more warnings (`stallwatch validate --max-errors=0` shows every one)' \
		"the line after them"
}

test_help() {
	sw validate --help >out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 0
	grep -q '^USAGE: stallwatch validate' out.txt || fail "no USAGE line on stdout"
	[ ! -s err.txt ] || fail "stderr not empty"
	sw validate -h >out2.txt 2>err.txt
	expect_rc 0 "status of validate -h"
	cmp -s out.txt out2.txt || fail "-h and --help differ"
}

# The shipped policies are valid, alone and all together.
test_contrib() {
	local f files=()
	for f in "$TOP"/contrib/policy/default.json "$TOP"/contrib/policy/*.json; do
		[ -f "$f" ] || continue
		[[ " ${files[*]} " == *" $f "* ]] && continue
		files+=("$f")
	done
	[ "${#files[@]}" -gt 0 ] || skip "no contrib/policy/*.json yet"
	for f in "${files[@]}"; do
		sw validate "$f" >out.txt 2>err.txt
		show out.txt err.txt
		expect_rc 0 "status of validate ${f#"$TOP"/}"
		grep -q ': error\[' out.txt && fail "${f#"$TOP"/} has errors"
		expect_eq "$(tail -n 1 out.txt)" "$f: ok" "last line for ${f#"$TOP"/}"
	done
	sw validate "${files[@]}" >out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 0 "status of validate with every contrib policy"
}

# --json: one document with .valid, .files, .diagnostics and .rules (also
# .targets and .lists), for a valid and an invalid policy.
test_json_shape() {
	local f
	for f in "$TOP"/contrib/policy/default.json "$PDIR/02-full.json" "$PDIR/04-warnings.json" \
		"$PDIR/25-bad-value.json" "$PDIR/10-syntax-trailing-comma.json"; do
		[ -f "$f" ] || continue
		sw validate --json "$f" >doc.json 2>err.txt
		show doc.json err.txt
		jq -e . doc.json >/dev/null 2>&1 || fail "--json output of $f does not parse"
		expect_eq "$(jq -s length doc.json)" 1 "JSON documents for $f"
		jq -e '(.valid | type == "boolean") and (.files | type == "array")
			and (.diagnostics | type == "array") and (.rules | type == "array")
			and (.targets | type == "array") and (.lists | type == "array")
			and (.files | length == 1) and .files[0].file == $f
			and ([.diagnostics[] | keys] | all(. == ["code","column","file","line","message","severity"]))
			and ([.rules[] | keys] | all(. == ["enabled","file","line","min_duration_ns","name",
				"paths","rate_limit","result","severity","syscalls","tags","targets"]))
			and (.valid == ([.diagnostics[] | select(.severity == "error")] | length == 0))
			and (.valid or (.rules == [] and .targets == [] and .lists == []))' \
			--arg f "$f" doc.json >/dev/null || fail "unexpected JSON shape for $f"
		if [ "$(jq -r .valid doc.json)" = true ]; then expect_rc 0; else expect_rc 1; fi
	done
	f=$TOP/contrib/policy/default.json
	if [ -f "$f" ]; then
		sw validate --json "$f" >doc.json 2>err.txt
		jq -e '.valid and (.rules | length > 0)' doc.json >/dev/null ||
			fail "the default policy has no rules in --json"
	fi
	:
}

t_run layout test_layout
for exp in "$PDIR"/[0-9][0-9]-*.expected; do
	[ -f "$exp" ] || continue
	stem=$(basename "$exp" .expected)
	t_run "$stem" test_case "$stem"
done
t_run usage test_usage
t_run run_error_limit test_run_error_limit
t_run help test_help
t_run contrib_policies test_contrib
t_run json_shape test_json_shape
t_done
