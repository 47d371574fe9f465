#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_errors.sh - option errors are one "stallwatch: " line and status 2,
# before anything runs (getopt's own messages are not printed); planned
# subcommands say they are not available; no arguments is a usage error;
# --version succeeds.
. "$(dirname "$0")/lib.sh"

# one_line_error WHAT ARG...: stallwatch ARG... exits 2 with exactly one
# stderr line starting "stallwatch: " and nothing on stdout; `touch ran`
# (when part of ARG) did not run.
one_line_error() {
	local what=$1
	shift
	rm -f ran
	sw "$@" >out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 2 "status of stallwatch $what"
	expect_eq "$(wc -l <err.txt)" 1 "stderr lines of stallwatch $what"
	grep -q '^stallwatch: ' err.txt || fail "stallwatch $what: stderr does not start with 'stallwatch: '"
	[ ! -s out.txt ] || fail "stallwatch $what: stdout not empty"
	[ ! -e ran ] || fail "stallwatch $what: the command ran"
	:
}

test_unknown_short_option() {
	one_line_error "run -x" run -x
	grep -q -- '-x' err.txt || fail "the error does not name -x: $(cat err.txt)"
	one_line_error "run -x -- touch ran" run -x -- touch ran
	one_line_error "run -m 5ms -x -- touch ran" run -m 5ms -x -- touch ran
}

test_missing_value() {
	local opt
	one_line_error "run -e" run -e
	grep -q -- '-e' err.txt || fail "the error does not name -e: $(cat err.txt)"
	for opt in -m -o -u --trace --min-duration --output --format --user; do
		one_line_error "run $opt" run "$opt"
		grep -q -- "$opt" err.txt || fail "the error does not name $opt: $(cat err.txt)"
	done
}

test_watch_not_available() {
	# run, attach, scan and validate exist; watch is the command still to come
	one_line_error "watch" watch
}

test_no_arguments() {
	sw >out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 2 "status of stallwatch without arguments"
	[ -s err.txt ] || fail "nothing on stderr"
	[ ! -s out.txt ] || fail "stdout not empty"
	:
}

test_version_only() {
	sw --version >out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 0
	expect_eq "$(wc -l <out.txt)" 1 "stdout lines"
	grep -q '^stallwatch [0-9]' out.txt || fail "--version line: $(cat out.txt)"
	[ ! -s err.txt ] || fail "stderr not empty"
	:
}

t_run unknown_short_option test_unknown_short_option
t_run missing_value test_missing_value
t_run watch_not_available test_watch_not_available
t_run no_arguments test_no_arguments
t_run version_only test_version_only
t_done
