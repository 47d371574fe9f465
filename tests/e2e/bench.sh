#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench.sh - the benchmark's own tools (bench/workload.c, bench/floor.c and
# the cell order of bench/run.sh) do what doc/performance.md says they do:
# the warm-up runs the same call untimed before the timed calls, the chunk
# notes name real CPUs (the loop's and its tracer's), the enoent workload
# removes its private directory, every rep's cell order is a seeded
# permutation, and the attach latency is read from lines stamped as they
# arrive. `make bench` itself is not run here (minutes, and timing).
. "$(dirname "$0")/lib.sh"

BIN=$T_TMP/bench-bin
mkdir -p "$BIN"
BUILD_ERR=""
cc -O2 -Wall -Wextra -pthread "$TOP/bench/workload.c" -o "$BIN/workload" 2>"$BIN/cc.err" ||
	BUILD_ERR="cannot build bench/workload.c: $(head -c 200 "$BIN/cc.err")"
[ -n "$BUILD_ERR" ] || cc -O2 "$TOP/bench/floor.c" -o "$BIN/floor" -lseccomp 2>"$BIN/cc.err" ||
	BUILD_ERR="cannot build bench/floor.c: $(head -c 200 "$BIN/cc.err")"
W=$BIN/workload
NCPU=$(nproc)

need_build() { [ -z "$BUILD_ERR" ] || fail "$BUILD_ERR"; }

# -u MS: the loop runs at least MS ms before the timed calls, which are
# still exactly N per thread
test_warmup_time() {
	local start elapsed
	need_build
	start=$(now_ms)
	"$W" -u 300 getppid 1000 2 >out.txt 2>err.txt || fail "workload exited $?"
	elapsed=$(($(now_ms) - start))
	show out.txt err.txt
	grep -q '^mode=getppid threads=2 iters=1000 calls=2000 ' out.txt || fail "unexpected output"
	[ "$elapsed" -ge 300 ] || fail "took $elapsed ms with a 300 ms warm-up"
}

# the warm-up makes the same call: a tracer sees more than the N timed calls
test_warmup_is_traced() {
	local calls
	need_build
	"$BIN/floor" -v -e getppid "$W" -u 100 getppid 500 1 >out.txt 2>err.txt ||
		fail "floor exited $?"
	show out.txt err.txt
	calls=$(sed -n 's/^floor: calls=\([0-9]*\).*/\1/p' err.txt)
	[ -n "$calls" ] || fail "no count from the floor"
	[ "$calls" -gt 600 ] || fail "the floor saw $calls getppid calls: the warm-up made none"
	grep -q ' calls=500 ' out.txt || fail "the timed part is not 500 calls"
}

# -t CHUNK: one note per chunk, END_MS:NS:CPU:PARENT_CPU, times rising,
# CPUs that exist; under stallwatch run the parent is stallwatch
check_chunks() { # file chunks
	local line
	line=$(sed -n 's/^chunks=//p' "$1")
	[ -n "$line" ] || fail "no chunks= line"
	tr , '\n' <<<"$line" | awk -F: -v want="$2" -v ncpu="$NCPU" '
		NF != 4 { print "bad note " $0; bad = 1 }
		$1 + 0 < last { print "time went back at " $0; bad = 1 }
		{ last = $1 + 0; n++ }
		$2 + 0 <= 0 { print "no time per call in " $0; bad = 1 }
		$3 < 0 || $3 >= ncpu || $4 < 0 || $4 >= ncpu { print "no such CPU in " $0; bad = 1 }
		END { if (n != want) { print n " notes, not " want; bad = 1 } exit bad }' ||
		fail "chunk notes: $line"
}

test_chunks_untraced() {
	need_build
	"$W" -t 100 read 1000 1 >out.txt 2>err.txt || fail "workload exited $?"
	show out.txt err.txt
	check_chunks out.txt 10
}

test_chunks_under_stallwatch() {
	need_build
	sw run --no-default-policy -e getppid -o rec.json -- "$W" -t 50 getppid 230 1 >out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 0
	# 230 = 4 chunks of 50 + one of 30
	check_chunks out.txt 5
}

# enoent leaves one negative dentry per call in a private directory under
# $TMPDIR, and removes that directory, warm-up names included
test_enoent_cleanup() {
	need_build
	mkdir tmp
	TMPDIR=$PWD/tmp "$W" -u 50 enoent 300 2 >out.txt 2>err.txt || fail "workload exited $?"
	show out.txt err.txt
	grep -q ' calls=600 ' out.txt || fail "unexpected output"
	[ -z "$(ls -A tmp)" ] || fail "left behind: $(ls -A tmp)"
}

# run.sh's shuffle(): a permutation, the same one for the same seed (bash
# reseeds RANDOM in a subshell, so it must not run in one)
test_shuffle_seeded() {
	local a b c sorted order
	eval "$(sed -n '/^shuffle() {/,/^}/p' "$TOP/bench/run.sh")"
	declare -F shuffle >/dev/null || fail "no shuffle() in bench/run.sh"
	RANDOM=7
	shuffle order u s f w fl sw at
	a="${order[*]}"
	RANDOM=7
	shuffle order u s f w fl sw at
	b="${order[*]}"
	RANDOM=8
	shuffle order u s f w fl sw at
	c="${order[*]}"
	echo "seed 7: $a; again: $b; seed 8: $c"
	[ "$a" = "$b" ] || fail "seed 7 gave '$a' then '$b'"
	sorted=$(tr ' ' '\n' <<<"$a" | sort | paste -sd' ')
	[ "$sorted" = "at f fl s sw u w" ] || fail "not a permutation: $a"
	[ "$a" != "$c" ] || fail "seeds 7 and 8 gave the same order"
}

# run.sh's attach latency: stamp_lines() stamps each line as it arrives
# (through a FIFO, as attach_cell feeds it), ready_us() finds the first line
# that matches and gives the microseconds since the start
test_ready_stamp() {
	local t0 us
	eval "$(sed -n '/^stamp_lines() {/,/^}/p; /^ready_us() {/,/^}/p' "$TOP/bench/run.sh")"
	declare -F stamp_lines >/dev/null && declare -F ready_us >/dev/null ||
		fail "no stamp_lines() or ready_us() in bench/run.sh"
	mkfifo f
	stamp_lines <f >stamped.txt &
	local reader=$!
	t0=$EPOCHREALTIME
	{
		echo "stallwatch: attach 1 (x): something first"
		sleep 0.3
		echo "stallwatch: attached 1 (x) with 2 threads"
	} >f
	wait "$reader"
	show stamped.txt
	us=$(ready_us "$t0" '^stallwatch: attached ' stamped.txt)
	echo "ready after $us us"
	[ -n "$us" ] || fail "no ready line found"
	[ "$us" -ge 300000 ] && [ "$us" -lt 3000000 ] || fail "ready after $us us, want 0.3 s or a little more"
	[ -z "$(ready_us "$t0" '^ready$' stamped.txt)" ] || fail "a line that is not there was found"
}

t_run warmup_time test_warmup_time
t_run warmup_is_traced test_warmup_is_traced
t_run chunks_untraced test_chunks_untraced
t_run chunks_under_stallwatch test_chunks_under_stallwatch
t_run enoent_cleanup test_enoent_cleanup
t_run shuffle_seeded test_shuffle_seeded
t_run ready_stamp test_ready_stamp
t_done
