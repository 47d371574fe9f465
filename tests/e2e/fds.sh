#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fds.sh - doc/transparency.md scenario 29: the command's fd set is the same traced and
# untraced (no log file, seccomp listener or pidfd leaks in; inherited fds
# pass through), and stallwatch does not hold the command's pipes.
. "$(dirname "$0")/lib.sh"
t_backends ptrace notify bpf

H=$HELPERS

fd_lines() { grep '^fd ' "$1"; }

# Both runs get the same redirections, plus an inherited fd 7.
fds_compare() {
	: >extra
	t_bg "$H/sigstate" >base.txt 2>base.err 7<>extra
	t_wait "$BGPID" 10
	t_bg "$STALLWATCH" run "$@" -- "$H/sigstate" >traced.txt 2>err.txt 7<>extra
	t_wait "$BGPID" 20
	show base.txt traced.txt err.txt
	expect_rc 0
	fd_lines base.txt >base.fd
	fd_lines traced.txt >traced.fd
	grep -q '^fd 7 file$' base.fd || fail "baseline lacks the inherited fd 7"
	diff -u base.fd traced.fd || fail "fd set differs from the untraced run"
}

test_fds_unchanged() { fds_compare; }
test_fds_unchanged_with_o() { fds_compare -o rec.json; }
test_fds_unchanged_text() { fds_compare --format text -o rec.txt; }

# { sleep 0.3; yes | head -n 99999; } | stallwatch run -- sh -c 'exec <&-; sleep 3'
# The command closed its stdin: the producer must get EPIPE/SIGPIPE at once,
# not when stallwatch exits 3 s later.
test_pipe_not_held() {
	local start done_ms
	start=$(now_ms)
	t_bg bash -c '{ sleep 0.3; yes | head -n 99999; echo "${PIPESTATUS[*]}" >producer.rc; \
		date +%s%3N >producer.done; } | "$STALLWATCH" run -o rec.json -- sh -c "exec <&-; sleep 3"' \
		2>err.txt
	t_wait "$BGPID" 20
	show producer.rc err.txt
	expect_rc 0
	[ -f producer.done ] || fail "producer never finished"
	done_ms=$(($(cat producer.done) - start))
	[ "$done_ms" -lt 2000 ] || fail "producer finished after $done_ms ms: stallwatch holds the pipe"
}

t_run fds_unchanged test_fds_unchanged
t_run fds_unchanged_with_o test_fds_unchanged_with_o
t_run fds_unchanged_text test_fds_unchanged_text
t_run pipe_not_held test_pipe_not_held
t_done
