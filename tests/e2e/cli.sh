#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli.sh - usage errors (exit 2, one "stallwatch: " line, nothing run),
# --help/--version, -o FILE (0600, append), --format text, -u USER, the
# JSON record schema, an unprivileged run, and --backend.
. "$(dirname "$0")/lib.sh"

H=$HELPERS

# usage_error ARG...: rc 2, exactly one stderr line "stallwatch: ...", and
# the command (touch ran) did not run.
usage_error() {
	rm -f ran
	sw "$@" 2>err.txt >out.txt
	show err.txt out.txt
	expect_rc 2 "stallwatch $*"
	[ ! -e ran ] || fail "stallwatch $*: the command ran"
}

one_error_line() {
	expect_eq "$(grep -c . err.txt)" 1 "stderr lines for stallwatch $*"
	grep -q '^stallwatch: ' err.txt || fail "stderr does not start with 'stallwatch: '"
}

test_unknown_syscall() {
	usage_error run -e nosuchsyscall -- touch ran
	one_error_line run -e nosuchsyscall
	grep -q nosuchsyscall err.txt || fail "the error does not name the syscall"
	usage_error run -e 'nanosleep,nosuchsyscall' -- touch ran
	one_error_line run -e nanosleep,nosuchsyscall
}

# ?name: ignore a name unknown on this kernel.
test_optional_syscall() {
	sw run -e '?nosuchsyscall,nanosleep' -o rec.json -- "$H/sleeper" 200 2>err.txt >/dev/null
	show err.txt rec.json
	expect_rc 0
	expect_eq "$(jq_count rec.json 'name == "nanosleep" and slow')" 1 "nanosleep records"
}

test_bad_duration() {
	local v
	for v in abc 10xs -5 '' 10msx ms 10ss; do
		usage_error run -m "$v" -- touch ran
		one_error_line run -m "'$v'"
	done
}

test_no_command() {
	usage_error run
	usage_error run --
	usage_error run -m 10ms --
}

test_bad_option() {
	usage_error run --no-such-option -- touch ran
	usage_error run --format yaml -- touch ran
	usage_error no-such-subcommand
}

test_help() {
	sw --help >out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 0
	grep -q USAGE out.txt || fail "--help lacks USAGE"
	grep -q EXAMPLES out.txt || fail "--help lacks EXAMPLES"
	sw run --help >out.txt 2>err.txt
	expect_rc 0 "run --help"
	grep -q . out.txt || fail "run --help printed nothing on stdout"
}

test_version() {
	sw --version >out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 0
	grep -q '[0-9]\.[0-9]' out.txt || fail "--version prints no version number"
}

# -o FILE: created 0600 (whatever the umask), and appended to.
test_output_file() {
	umask 022
	sw run -e nanosleep -o rec.json -- "$H/sleeper" 150 >/dev/null 2>err.txt
	show err.txt
	expect_rc 0
	expect_eq "$(stat -c %a rec.json)" 600 "mode of the created file"
	expect_eq "$(jq_count rec.json 'name == "nanosleep" and slow')" 1 "records after one run"
	sw run -e nanosleep -o rec.json -- "$H/sleeper" 150 >/dev/null 2>err.txt
	expect_eq "$(jq_count rec.json 'name == "nanosleep" and slow')" 2 "records after two runs (append)"
	echo PRE >pre.json
	sw run -e nanosleep -o pre.json -- "$H/sleeper" 150 >/dev/null 2>err.txt
	expect_eq "$(head -n 1 pre.json)" PRE "first line of a file that existed"
	expect_eq "$(jq_count pre.json 'name == "nanosleep" and slow')" 1 "records appended to it"
	[ ! -s err.txt ] || fail "stderr not empty with -o: $(head -n 3 err.txt)"
}

# --format text: one human line per record, not JSON.
test_text_format() {
	local n
	sw run --format=json -e nanosleep -o rec.json -- "$H/sleeper" 200 >/dev/null 2>err.txt
	expect_rc 0
	expect_eq "$(jq_count rec.json 'name == "nanosleep" and slow')" 1 "--format=json slow records"
	n=$(grep -c . rec.json)
	sw run --format text -e nanosleep -o rec.txt -- "$H/sleeper" 200 >/dev/null 2>err.txt
	show rec.txt rec.json err.txt
	expect_rc 0
	head -n 1 rec.txt | grep -q '^TIME  *LEVEL  *EVENT COMM  *PID/TID  *SYSCALL  *LAT(ms)  *RET DETAIL$' ||
		fail "no header line first"
	expect_eq "$(tail -n +2 rec.txt | grep -c .)" "$n" \
		"text lines after the header (one per record, as many as JSON records)"
	grep -q '^{' rec.txt && fail "text format wrote JSON"
	expect_eq "$(tail -n +2 rec.txt | grep -cvE '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6} warning       (SLOW |STUCK) sleeper +[0-9]+/[0-9]+ +nanosleep +>?[0-9]+\.[0-9]{3} +(0|\?) \[command-line\]( .+)?$')" \
		0 "lines not in the text columns"
	# under bpf, DETAIL ends with the evidence: where the sleep's time went
	if backend_is bpf; then
		expect_eq "$(tail -n +2 rec.txt | grep -cE ' blocked [0-9]+% in [a-z_]*nanosleep')" "$n" \
			"text lines with the evidence (bpf)"
	fi
	# LAT(ms) values end under the header's LAT(ms)
	expect_eq "$(awk 'NR == 1 { e = index($0, "LAT(ms)") + 6; next }
		substr($0, e, 1) !~ /[0-9]/ || substr($0, e + 1, 1) != " " { bad++ }
		END { print bad + 0 }' rec.txt)" 0 "lines with LAT(ms) out of its column"
}

# Every record is one compact JSON object with the common fields.
test_json_schema() {
	local t0 t1 host bad
	t0=$(date -u +%Y-%m-%dT%H:%M:%S)
	sw run -m 0 -o rec.json -- "$H/pipe_late" 100 out.txt 2>err.txt
	t1=$(date -u +%Y-%m-%dT%H:%M:%S)
	show err.txt
	expect_rc 0
	host=$(uname -n)
	[ "$(grep -c . rec.json)" -ge 10 ] || fail "too few records with -m 0: $(grep -c . rec.json)"
	jq -e . rec.json >/dev/null || fail "a line does not parse as JSON"
	bad=$(jq -r --arg t0 "$t0" --arg t1 "$t1" --arg host "$host" '
		def ts: type == "string" and test("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z$");
		def int: type == "number" and . == floor;
		def str: type == "string" and length > 0;
		[["@timestamp", (.["@timestamp"] | ts)],
		 ["@timestamp in run", (.["@timestamp"][0:19] as $s | $s >= $t0 and $s <= $t1)],
		 ["message", (.message | str)],
		 ["event.kind", (.event.kind == "alert")],
		 ["event.action", (.event.action == "slow-syscall" or .event.action == "stuck-syscall")],
		 ["event.duration", (.event.duration | int and . >= 0)],
		 ["event.start", (.event.start | ts)],
		 ["log.level", (.log.level == "warning")],
		 ["rule.name", (.rule.name == "command-line")],
		 ["host.name", (.host.name == $host)],
		 ["stallwatch.schema", (.stallwatch.schema == 1)],
		 ["stallwatch.mono_ns", (.stallwatch.mono_ns | int and . > 0)],
		 ["stallwatch.threshold_ns", (.stallwatch.threshold_ns == 0)],
		 ["process.pid", (.process.pid | int and . > 0)],
		 ["process.vpid", (.process.vpid == .process.pid)],
		 ["process.thread.id", (.process.thread.id | int and . > 0)],
		 ["process.name", (.process.name | str)],
		 ["process.executable", (.process.executable | str)],
		 ["process.command_line", (.process.command_line | str)],
		 ["process.cgroup", (.process.cgroup | type == "array" and length > 0)],
		 ["syscall.name", (.stallwatch.syscall.name | str)],
		 ["syscall.nr", (.stallwatch.syscall.nr | int)],
		 ["syscall.args", (.stallwatch.syscall.args | type == "array" and length == 6 and all(.[]; int))],
		 ["syscall.ret", (if .event.action == "stuck-syscall" then (.stallwatch.syscall | has("ret") | not)
				 elif (.stallwatch.syscall.name | test("^exit(_group)?$")) then true
				 else (.stallwatch.syscall.ret | int) end)],
		 ["syscall.errno", (if (.stallwatch.syscall.ret // 0) < 0
				   then (.stallwatch.syscall.errno | str and startswith("E"))
				   else (.stallwatch.syscall | has("errno") | not) end)],
		 ["no dotted keys", ([paths | .[] | strings | select(contains("."))] | length == 0)]]
		| map(select(.[1] != true) | .[0]) | select(length > 0)
		| "line \(input_line_number): \(join(", "))"' rec.json)
	[ -z "$bad" ] || {
		echo "$bad" | head -n 20
		head -n 3 rec.json
		fail "records with bad fields: $(echo "$bad" | head -n 1)"
	}
	# compact: one object per line, no pretty-printing
	[ "$(grep -c . rec.json)" = "$(jq -c . rec.json | wc -l)" ] || fail "records span several lines"
}

# -u USER: the command runs as USER, traced.
test_run_as_user() {
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	[ "$(id -u)" = 0 ] || skip "needs root"
	sw run -u nobody -m 10ms -o rec.json -- sh -c 'id -u; exec "$0" 200' "$H/sleeper" >out.txt 2>err.txt
	show out.txt err.txt rec.json
	expect_rc 0
	expect_eq "$(head -n 1 out.txt)" "$(id -u nobody)" "uid of the command"
	expect_eq "$(jq_count rec.json 'name == "nanosleep" and slow')" 1 "nanosleep records"
}

# Unprivileged: stallwatch itself run as nobody works (no_new_privs path).
test_unprivileged() {
	command -v setpriv >/dev/null || skip "setpriv is missing"
	[ "$(id -u)" = 0 ] || skip "needs root to switch to nobody"
	local sw=$STALLWATCH h=$H d
	d=$TD/nobody
	mkdir -p "$d" && chmod 755 "$d"
	# Copy the binaries if nobody cannot reach them where they are.
	if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$sw" -a -x "$h/sleeper"; then
		cp "$sw" "$d/stallwatch" && cp "$h/sleeper" "$d/sleeper" || skip "cannot copy binaries"
		sw=$d/stallwatch
		h=$d
	fi
	t_bg setpriv --reuid=65534 --regid=65534 --clear-groups "$sw" run -e nanosleep -- "$h/sleeper" 200 \
		>out.txt 2>err.txt
	t_wait "$BGPID" 20
	show out.txt err.txt
	expect_rc 0
	expect_eq "$(jq_count err.txt 'name == "nanosleep" and slow')" 1 "nanosleep records"
	expect_tol "$(jq_get err.txt 'name == "nanosleep" and slow' .event.duration)" "$(hval out.txt nanosleep)" \
		"duration"
}

# --backend=bpf: one line that says what to use instead, exit 2, nothing run or attached.
test_backend_bpf() {
	# works where the kernel allows BPF
	sw run --backend=bpf -e nanosleep -m 50ms -o rec.json -- "$H/sleeper" 100 >/dev/null 2>err.txt
	show err.txt rec.json
	if [ "$RC" = 125 ] && grep -q 'backend=bpf' err.txt; then
		skip "BPF is refused here: $(head -n1 err.txt)"
	fi
	expect_rc 0 "run --backend=bpf"
	expect_eq "$(jq_count rec.json 'name == "nanosleep" and slow and .stallwatch.backend == "bpf"
		and sc.ret == 0')" 1 "bpf nanosleep records"
	# refused (a seccomp filter that denies bpf()): one line, 125 for run, 1 for attach
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		t_bg "$H/noptrace" "$STALLWATCH" run --backend=bpf -- touch ran 2>err2.txt
	t_wait "$BGPID" 20
	show err2.txt
	expect_rc 125 "run --backend=bpf where bpf() is refused"
	[ ! -e ran ] || fail "the command ran"
	expect_eq "$(grep -c . err2.txt)" 1 "stderr lines"
	grep -q '^stallwatch: --backend=bpf: cannot load the BPF programs' err2.txt ||
		fail "the line does not say bpf could not be loaded"
	t_bg sleep 10
	local target=$BGPID
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		t_bg "$H/noptrace" "$STALLWATCH" attach --backend=bpf -p "$target" 2>err3.txt
	t_wait "$BGPID" 20
	show err3.txt
	expect_rc 1 "attach --backend=bpf where bpf() is refused"
	# the last --backend counts, as for every option that takes one value
	sw run --backend=bpf --backend=ptrace -e nanosleep -o rec2.json -- "$H/sleeper" 100 >/dev/null 2>err.txt
	show err.txt rec2.json
	expect_rc 0 "run --backend=bpf --backend=ptrace"
	expect_eq "$(jq_count rec2.json 'name == "nanosleep" and slow and .stallwatch.backend == "ptrace"')" 1 \
		"nanosleep records"
}

# attach --backend=notify: a usage error (no filter goes into a running process).
test_backend_attach_notify() {
	local target
	t_bg sleep 10
	target=$BGPID
	usage_error attach --backend=notify -p "$target"
	one_error_line attach --backend=notify
	grep -q 'run only' err.txt || fail "the line does not say notify is for run only"
	grep -q -- '--backend=ptrace' err.txt || fail "the line does not suggest --backend=ptrace"
	expect_eq "$(awk '$1 == "TracerPid:" { print $2 }' "/proc/$target/status")" 0 "TracerPid of the target"
	# ptrace and auto are what attach has
	sw attach --backend=ptrace --dry-run -p "$target" >out.txt 2>err.txt
	show out.txt err.txt
	expect_rc 0 "attach --backend=ptrace --dry-run"
	sw attach --backend=auto --dry-run -p "$target" >out.txt 2>err.txt
	expect_rc 0 "attach --backend=auto --dry-run"
	grep -q "^$target " out.txt || fail "the dry run does not list the target"
}

# An unknown --backend: exit 2, the valid names, and the near one if there is one.
test_backend_unknown() {
	usage_error run --backend=ptrce -- touch ran
	one_error_line run --backend=ptrce
	grep -q "did you mean \`ptrace\`?" err.txt || fail "no suggestion for ptrce"
	grep -q 'auto, ptrace, notify, bpf' err.txt || fail "the valid names are not listed"
	usage_error run --backend=seccomp -- touch ran
	one_error_line run --backend=seccomp
	grep -q 'did you mean' err.txt && fail "a suggestion for a word near no backend"
	grep -q 'auto, ptrace, notify, bpf' err.txt || fail "the valid names are not listed"
	usage_error run --backend= -- touch ran
	one_error_line run --backend=
	usage_error run --backend -- touch ran
	one_error_line run --backend
	t_bg sleep 10
	usage_error attach --backend=notfy -p "$BGPID"
	one_error_line attach --backend=notfy
	grep -q "did you mean \`notify\`?" err.txt || fail "attach: no suggestion for notfy"
}

# The ptrace backend where ptrace is refused (a seccomp filter answers EPERM):
# stallwatch fails (125) with one line that says so, and the command never runs.
test_backend_ptrace_refused() {
	"$H/noptrace" sh -c 'grep -q "^Seccomp:[[:space:]]*2" /proc/self/status' ||
		fail "noptrace did not put a seccomp filter in place"
	if command -v strace >/dev/null; then
		"$H/noptrace" strace -o /dev/null true 2>/dev/null && fail "strace worked under noptrace"
	fi
	rm -f ran
	# LeakSanitizer (the ASan build) stops threads with ptrace, which noptrace refuses too
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		t_bg "$H/noptrace" "$STALLWATCH" run --backend=ptrace -- touch ran >out.txt 2>err.txt
	t_wait "$BGPID" 20
	show err.txt out.txt
	expect_rc 125
	one_error_line run --backend=ptrace under noptrace
	grep -q 'Operation not permitted' err.txt || fail "the line does not say EPERM"
	grep -qi 'ptrace' err.txt || fail "the line does not name ptrace"
	[ ! -e ran ] || fail "the command ran"
}

# --help of run and attach documents --backend.
test_backend_help() {
	sw run --help >out.txt 2>err.txt
	expect_rc 0 "run --help"
	grep -q -- '--backend=NAME' out.txt || fail "run --help lacks --backend"
	grep -q 'notify' out.txt || fail "run --help does not name notify"
	sw attach --help >out.txt 2>err.txt
	expect_rc 0 "attach --help"
	grep -q -- '--backend=NAME' out.txt || fail "attach --help lacks --backend"
}

# t_run_ptrace (lib.sh): pinned to --backend=ptrace where the expectation is
# ptrace's: every record complete: under bpf a process gone before its record
# is made has no executable or command line.
t_run unknown_syscall test_unknown_syscall
t_run optional_syscall test_optional_syscall
t_run bad_duration test_bad_duration
t_run no_command test_no_command
t_run bad_option test_bad_option
t_run help test_help
t_run version test_version
t_run output_file test_output_file
t_run text_format test_text_format
t_run_ptrace json_schema test_json_schema
t_run run_as_user test_run_as_user
t_run unprivileged test_unprivileged
t_run backend_bpf test_backend_bpf
t_run backend_attach_notify test_backend_attach_notify
# auto: bpf where it loads, without a word (run and attach); where bpf() is
# refused and ptrace is not (noptrace --bpf-only), ptrace, with one stderr
# line before the command's own (run) or the attach line (attach), and
# nothing of stallwatch's left loaded.
test_backend_auto() {
	"$STALLWATCH" run --backend=bpf -e getppid -- true >/dev/null 2>probe.txt ||
		skip "bpf backend unavailable here: $(head -n1 probe.txt)"
	sw run -e nanosleep -m 50ms -o rec.json -- "$H/sleeper" 100 >/dev/null 2>err.txt
	show err.txt rec.json
	expect_rc 0 "run (auto)"
	[ ! -s err.txt ] || fail "stderr not empty when auto could use bpf"
	expect_eq "$(jq_count rec.json 'name == "nanosleep" and slow and .stallwatch.backend == "bpf"')" 1 \
		"bpf nanosleep records (auto)"
	local want="stallwatch: bpf unavailable: cannot load the BPF programs (stallwatch has CAP_BPF and CAP_PERFMON, so a seccomp filter or an LSM refuses bpf()): Operation not permitted; using --backend=ptrace"
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		t_bg "$H/noptrace" --bpf-only "$STALLWATCH" run -e nanosleep -m 50ms -o rec2.json -- \
		sh -c 'echo started >&2; exec "$0" 100' "$H/sleeper" >/dev/null 2>err2.txt
	t_wait "$BGPID" 20
	show err2.txt rec2.json
	expect_rc 0 "run (auto) where bpf() is refused"
	expect_eq "$(sed -n 1p err2.txt)" "$want" "first stderr line (before the command's own)"
	expect_eq "$(sed -n 2p err2.txt)" started "the command's line, after the fallback line"
	expect_eq "$(grep -c . err2.txt)" 2 "stderr lines"
	expect_eq "$(jq_count rec2.json 'name == "nanosleep" and slow and .stallwatch.backend == "ptrace"
		and sc.ret == 0')" 1 "ptrace nanosleep records (auto, bpf refused)"
	# attach: bpf, the target never traced; then ptrace where bpf() is refused
	t_bg "$H/sleeper" 1500 out.txt
	local tgt=$BGPID swpid
	wait_for '[ -n "$(hval out.txt pid)" ]' 5 || fail "the sleeper did not start"
	t_bg "$STALLWATCH" attach -e nanosleep -m 100ms -o rec3.json -p "$tgt" 2>err3.txt
	swpid=$BGPID
	wait_for "grep -q '^stallwatch: attached $tgt ' err3.txt" 10 || fail "no attached line (auto)"
	expect_eq "$(awk '$1 == "TracerPid:" { print $2 }' "/proc/$tgt/status")" 0 "TracerPid under auto"
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		t_bg "$H/noptrace" --bpf-only "$STALLWATCH" attach -e nanosleep -m 100ms -o rec4.json \
		-p "$tgt" 2>err4.txt
	local swpid4=$BGPID
	t_wait "$tgt" 10
	t_wait "$swpid" 10
	expect_rc 0 "attach (auto)"
	t_wait "$swpid4" 10
	show err3.txt rec3.json err4.txt rec4.json
	expect_rc 0 "attach (auto) where bpf() is refused"
	expect_eq "$(grep -c . err3.txt)" 1 "stderr lines of attach (auto)"
	expect_eq "$(jq_count rec3.json 'name == "nanosleep" and slow and .stallwatch.backend == "bpf"')" 1 \
		"bpf nanosleep records of attach (auto)"
	expect_eq "$(sed -n 1p err4.txt)" "$want" "first stderr line of attach where bpf() is refused"
	grep -q "^stallwatch: attached $tgt " err4.txt || fail "no attached line (auto, bpf refused)"
	expect_eq "$(grep -c . err4.txt)" 2 "stderr lines of attach where bpf() is refused"
	expect_eq "$(jq_count rec4.json 'name == "nanosleep" and slow and .stallwatch.backend == "ptrace"')" 1 \
		"ptrace nanosleep records of attach (auto, bpf refused)"
}

# auto where ptrace is refused: one line, said before the command runs; notify records.
test_backend_auto_fallback() {
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		t_bg "$H/noptrace" "$STALLWATCH" run -e nanosleep -m 50ms -o rec.json -- \
		sh -c 'echo started >&2; exec "$0" 200 out.txt' "$H/sleeper" >/dev/null 2>err.txt
	t_wait "$BGPID" 20
	show err.txt rec.json out.txt
	expect_rc 0
	# one line for both: bpf and ptrace are refused, root's capabilities notwithstanding
	expect_eq "$(sed -n 1p err.txt)" \
		"stallwatch: bpf unavailable: cannot load the BPF programs (stallwatch has CAP_BPF and CAP_PERFMON, so a seccomp filter or an LSM refuses bpf()): Operation not permitted; ptrace refused: EPERM from PTRACE_SEIZE: Operation not permitted; using --backend=notify" \
		"first stderr line (before the command's own)"
	expect_eq "$(sed -n 2p err.txt)" started "the command's line, after the fallback line"
	expect_eq "$(grep -c . err.txt)" 2 "stderr lines"
	expect_eq "$(jq_count rec.json 'name == "nanosleep" and slow and .stallwatch.backend == "seccomp-notify"
		and (sc | has("ret") | not)
		and .stallwatch.duration_max_ns >= dur and (.stallwatch.end_seen | type == "string")')" 1 \
		"notify slow records"
	expect_tol "$(jq_get rec.json 'name == "nanosleep" and slow' dur)" "$(hval out.txt nanosleep)"
	# explicit notify: no fallback line at all
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		t_bg "$H/noptrace" "$STALLWATCH" run --backend=notify -e nanosleep -m 50ms -o rec2.json -- \
		"$H/sleeper" 100 >/dev/null 2>err2.txt
	t_wait "$BGPID" 20
	show err2.txt
	expect_rc 0
	[ ! -s err2.txt ] || fail "stderr not empty with an explicit --backend=notify"
}

t_run backend_auto test_backend_auto
t_run backend_unknown test_backend_unknown
t_run backend_ptrace_refused test_backend_ptrace_refused
t_run backend_help test_backend_help
t_run backend_auto_fallback test_backend_auto_fallback
t_done
