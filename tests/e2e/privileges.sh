#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# privileges.sh - what the command's credentials look like: as root,
# stallwatch loads its filter without no_new_privs (setuid programs inside
# keep working); unprivileged it has to set it; -u USER runs the command as
# USER, still traced; an unknown USER is a usage error.
. "$(dirname "$0")/lib.sh"

H=$HELPERS

# status_field FILE KEY: the value of "KEY:" in a /proc/PID/status dump.
status_field() { awk -v k="$2:" '$1 == k { print $2; exit }' "$1"; }

need_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }

# Root: the command runs under our seccomp filter (Seccomp: 2, mode filter)
# but without no_new_privs.
test_root_no_nnp() {
	need_root
	sw run -e nanosleep -o rec.json -- grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status \
		>out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 0
	expect_eq "$(status_field out.txt Seccomp)" 2 "the command's Seccomp"
	expect_eq "$(status_field out.txt NoNewPrivs)" 0 "the command's NoNewPrivs (as root)"
}

# as_nobody CMD...: run CMD as uid/gid 65534 without groups (setpriv).
as_nobody() {
	t_bg setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
	t_wait "$BGPID" 20
}

# Unprivileged: the filter needs no_new_privs, which the command inherits;
# auto falls back from bpf to ptrace with one line.
test_unprivileged_nnp() {
	command -v setpriv >/dev/null || skip "setpriv is missing"
	need_root
	local sw=$STALLWATCH d=$TD/nobody
	mkdir -p "$d" && chmod 755 "$d"
	# copy the binary if nobody cannot reach it where it is
	if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$sw"; then
		cp "$sw" "$d/stallwatch" || skip "cannot copy the binary"
		sw=$d/stallwatch
	fi
	as_nobody "$sw" run -e nanosleep -- grep -E '^(NoNewPrivs|Seccomp|Uid):' /proc/self/status \
		>out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 0
	expect_eq "$(status_field out.txt Uid)" 65534 "the command's uid"
	expect_eq "$(status_field out.txt Seccomp)" 2 "the command's Seccomp"
	expect_eq "$(status_field out.txt NoNewPrivs)" 1 "the command's NoNewPrivs (unprivileged)"
	# auto: bpf needs privileges nobody lacks, so ptrace, said in one line
	expect_eq "$(cat err.txt)" \
		"stallwatch: bpf unavailable: cannot load the BPF programs (needs root, or CAP_BPF and CAP_PERFMON): Operation not permitted; using --backend=ptrace" \
		"stderr (auto, unprivileged)"
}

# -u nobody (from root): uid, gid and groups are nobody's; the filter is
# still ours, still without no_new_privs; the records still arrive.
test_user_nobody() {
	need_root
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	local sw=$STALLWATCH h=$H d=$TD/nobody want_g want_gs
	mkdir -p "$d" && chmod 755 "$d"
	if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$h/sleeper" 2>/dev/null; then
		cp "$h/sleeper" "$d/sleeper" || skip "cannot copy the sleeper"
		h=$d
	fi
	want_g=$(id -g nobody)
	want_gs=$(id -G nobody | tr ' ' '\n' | sort -n | tr '\n' ' ')
	sw run -u nobody -m 100ms -e nanosleep -o rec.json -- sh -c \
		'id -u; id -g; id -G | tr " " "\n" | sort -n | tr "\n" " "; echo;
		 grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status; exec "$0" 300' \
		"$h/sleeper" >out.txt 2>err.txt
	show out.txt err.txt rec.json
	expect_rc 0
	expect_eq "$(sed -n 1p out.txt)" 65534 "id -u of the command"
	expect_eq "$(sed -n 2p out.txt)" "$want_g" "id -g of the command"
	expect_eq "$(sed -n 3p out.txt)" "$want_gs" "id -G of the command"
	expect_eq "$(status_field out.txt Seccomp)" 2 "the command's Seccomp"
	expect_eq "$(status_field out.txt NoNewPrivs)" 0 "the command's NoNewPrivs (-u from root)"
	local pid sel
	pid=$(hval out.txt pid)
	[ -n "$pid" ] || fail "the sleeper did not run"
	sel="name == \"nanosleep\" and slow and .process.pid == $pid"
	expect_eq "$(jq_count rec.json "$sel")" 1 "the sleeper's slow nanosleep records"
	expect_eq "$(jq_count rec.json "name == \"nanosleep\" and stuck and .process.pid == $pid")" 1 \
		"the sleeper's stuck nanosleep records"
	expect_tol "$(jq_get rec.json "$sel" .event.duration)" "$(hval out.txt nanosleep)" "duration"
}

# -u with an unknown user: usage error, one line, nothing runs.
test_user_unknown() {
	sw run -u nosuchuser-stallwatch-e2e -o rec.json -- touch ran >out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 2
	expect_eq "$(grep -c . err.txt)" 1 "stderr lines"
	grep -q '^stallwatch: ' err.txt || fail "stderr does not start with 'stallwatch: '"
	grep -q 'nosuchuser-stallwatch-e2e' err.txt || fail "the error does not name the user"
	[ ! -e ran ] || fail "the command ran"
	[ ! -s out.txt ] || fail "stdout not empty"
	:
}

# t_run_ptrace: the prefilter's Seccomp and no_new_privs are ptrace's (bpf loads no filter)
t_run_ptrace root_no_nnp test_root_no_nnp
t_run unprivileged_nnp test_unprivileged_nnp
t_run_ptrace user_nobody test_user_nobody
t_run user_unknown test_user_unknown
t_done
