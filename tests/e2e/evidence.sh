#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# evidence.sh - stallwatch.evidence (doc/schema.md) under every backend: a
# read blocked on a pipe and a getrandom(2) burning CPU in the kernel say
# where their time went. bpf accounts the whole call in the kernel; ptrace
# and notify sample /proc from the threshold crossing on, so their times
# cover a window inside the call (window_ns), never more.
. "$(dirname "$0")/lib.sh"
t_backends ptrace notify bpf

H=$HELPERS
EV='.stallwatch.evidence'

# jq: the times add up. bpf: to the duration within 5% (loose: the kernel
# timestamps the last interval at sys_exit, the event at the same moment).
# ptrace, notify: to window_ns exactly, a window no longer than the call,
# and no count of sleeps (/proc has none).
ev_sum() {
	if backend_is bpf; then
		echo "($EV | .on_cpu_ns + .runq_ns + .blocked_ns) as \$s
			| (\$s - dur | if . < 0 then -. else . end) * 20 <= dur
			and ($EV.blocks | type) == \"number\""
	else
		echo "($EV | .on_cpu_ns + .runq_ns + .blocked_ns) == $EV.window_ns
			and $EV.window_ns <= dur and ($EV | has(\"blocks\") | not)"
	fi
}

# A read blocked on a pipe until its writer writes (~300 ms): asleep nearly
# all the time, where the pipe waits (anon_pipe_read on 6.18, pipe_read
# before); its stuck record (at 50 ms) already says so, with the state and
# wchan /proc shows at that moment. Every record says how much of it could
# be stallwatch's own delay (sched_delay_ns; 0 under bpf).
test_evidence_blocked() {
	sw run -m 50ms -e read -o rec.json -- "$H/pipe_late" 300 out.txt 2>err.txt
	show err.txt out.txt rec.json
	expect_rc 0
	# ptrace measures its own delay against a sample of its own from before
	# the call (absent when it has none: not known); notify's lower bound
	# and bpf's kernel timestamps hold none of it
	local sum from=proc window=true delay='(.stallwatch.sched_delay_ns // 0) <= dur'
	local slow_delay=$delay
	sum=$(ev_sum)
	# ptrace: from its first crossing to the exit stop; notify: to its last poll
	backend_is bpf || window="$EV.window_ns * 2 >= dur"
	backend_is bpf && from=block && delay='.stallwatch.sched_delay_ns == 0' && slow_delay=$delay
	backend_is notify && slow_delay='.stallwatch.sched_delay_ns == 0'
	expect_eq "$(jq_count rec.json "slow and name == \"read\" and dur >= 250000000
		and $EV.blocked_ns * 100 >= ($EV.window_ns // dur) * 80 and $EV.on_cpu_ns * 10 < dur
		and $EV.state == \"S\" and ($EV.wchan | test(\"pipe\"))
		and ($EV.kernel_stack | any(test(\"pipe_read\"))) and $EV.kernel_stack_from == \"$from\"
		and $window and $slow_delay and $sum")" 1 "slow read, blocked in the pipe"
	expect_eq "$(jq_count rec.json "stuck and name == \"read\"
		and $EV.state == \"S\" and ($EV.wchan | test(\"pipe\"))
		and ($EV.kernel_stack | any(test(\"pipe_read\"))) and $delay")" 1 \
		"stuck read with state, wchan and stack"
}

# getrandom(2) of 64 MiB burns CPU in the kernel (~150 ms here): on a CPU or
# waiting for one all the time (a busy host steals some), never asleep.
# bpf's cpu-clock sampler, where perf events are allowed, finds the
# generator; /proc has no stack of a running thread: its state says R.
test_evidence_cpu() {
	sw run -m 20ms -e getrandom -o rec.json -- "$H/cpucall" 64 out.txt 2>err.txt
	show err.txt out.txt rec.json
	expect_rc 0
	local sum big='name == "getrandom" and sc.args[1] == 67108864'
	sum=$(ev_sum)
	# notify may learn of a call spinning in the kernel only when it ends
	# (cpu-time polling, 20 ms apart; doc/stallwatch.8): never sampled in
	# flight, it has no evidence, and says nothing it did not measure
	if backend_is notify && [ "$(jq_count rec.json "stuck and $big")" = 0 ]; then
		expect_eq "$(jq_count rec.json "slow and $big and (.stallwatch | has(\"evidence\") | not)")" 1 \
			"slow getrandom never seen in flight (notify): no evidence"
		return 0
	fi
	expect_eq "$(jq_count rec.json "slow and $big
		and ($EV.on_cpu_ns + $EV.runq_ns) * 100 >= ($EV.window_ns // dur) * 80
		and $EV.blocked_ns * 10 < dur and $sum")" 1 "slow getrandom, on a CPU"
	if backend_is bpf; then
		if [ "$(jq_count rec.json "slow and $big and ($EV | has(\"cpu_samples\"))")" = 1 ]; then
			expect_eq "$(jq_count rec.json "slow and $big and $EV.cpu_samples >= 1
				and $EV.kernel_stack_from == \"cpu-sample\"
				and ($EV.kernel_stack | any(test(\"random|chacha\")))")" 1 \
				"a sampled stack in the generator"
		fi
		return 0
	fi
	# the thread may be seen between two of its slices: asleep it is not
	expect_eq "$(jq_count rec.json "stuck and $big
		and ($EV.state == \"R\" or $EV.kernel_stack_unavailable == \"running\")")" 1 \
		"stuck getrandom, running"
}

t_run evidence_blocked test_evidence_blocked
t_run evidence_cpu test_evidence_cpu
t_done
