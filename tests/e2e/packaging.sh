#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# packaging.sh - what ships next to the binary (doc/deployment.md): the
# systemd units (systemd-analyze verify, their system call filters against
# the calls stallwatch really makes, the settings the deployment depends on), the
# logrotate file (logrotate -d, and a real rotation of an attach -o file),
# the Kubernetes DaemonSet (and its readiness probe on a real metrics file),
# the Prometheus alerting rules (promtool check and test, the test input from
# a real run), the Vector and Fluent Bit snippets, the man page
# (renders without warnings, names every long option of the --help texts),
# and make install / make uninstall into a DESTDIR under the test's temp dir.
#
# Nothing here starts a service or writes outside $TD: the units are checked
# offline (systemd-analyze works without systemd as PID 1), logrotate gets its
# own state file and a copy of the config pointing into $TD.
#
# Only in the non-ASan pass: the files are the same for both binaries.
case ${STALLWATCH:-} in
*build/asan/stallwatch) exit 0 ;;
esac
. "$(dirname "$0")/lib.sh"

H=$HELPERS
UNITS="stallwatch.service stallwatch@.service"

find_python() {
	local p
	for p in python3 /usr/bin/python3; do
		"$p" -c 'import yaml, tomllib' >/dev/null 2>&1 && echo "$p" && return 0
	done
	return 1
}
PY=$(find_python)

need_sa() {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is missing (Debian package systemd)"
}

need_py() {
	[ -n "$PY" ] || skip "no python3 with yaml and tomllib (python3 >= 3.11, python3-yaml)"
}

# units_for_test DIR: the units in DIR with ExecStart= pointing at the binary
# under test, and the man page where Documentation=man:stallwatch(8) finds it.
units_for_test() {
	local u
	mkdir -p "$1" man/man8
	cp "$TOP/doc/stallwatch.8" man/man8/
	for u in $UNITS; do
		sed "s|/usr/bin/stallwatch|$STALLWATCH|g" "$TOP/contrib/systemd/$u" >"$1/$u"
	done
}

# verify DIR UNIT...: systemd-analyze verify in DIR; output in verify.out, status in $RC.
verify() {
	local dir=$1
	shift
	(cd "$dir" && MANPATH=$TD/man SYSTEMD_LOG_COLOR=0 systemd-analyze verify "$@") >verify.out 2>&1
	RC=$?
}

# Both units verify cleanly: no warning at all, exit status 0. The template is
# verified as an instance (systemd-analyze loads stallwatch@.service for it).
test_units_verify() {
	need_sa
	units_for_test units
	verify units ./stallwatch.service ./stallwatch@cadvisor.service
	show verify.out
	expect_rc 0
	[ -s verify.out ] && fail "systemd-analyze verify reported: $(head -c 300 verify.out)"
	# the check bites: the template's instance really loads the template
	sed 's/^ProtectClock=/ProtectClok=/' units/stallwatch@.service >broken.tmp
	mkdir -p broken && mv broken.tmp broken/stallwatch@.service
	sed 's/^Restart=on-failure/Restart=sometimes/' units/stallwatch.service \
		>broken/stallwatch.service
	verify broken ./stallwatch@cadvisor.service ./stallwatch.service
	show verify.out
	grep -q "Unknown key 'ProtectClok'" verify.out ||
		fail "a misspelled directive in the template went unreported"
	grep -q "restart specifier.*sometimes" verify.out ||
		fail "a bad Restart= value went unreported"
	# and an ExecStart= binary that does not exist fails verify outright
	sed "s|$STALLWATCH|/nonexistent/stallwatch|" units/stallwatch.service \
		>broken/stallwatch.service
	verify broken ./stallwatch.service
	show verify.out
	[ "$RC" != 0 ] || fail "a missing ExecStart= binary passed verify"
	# Exposure as systemd rates it (offline mode, systemd >= 250): keep it low.
	local u score
	for u in stallwatch.service stallwatch@cadvisor.service; do
		(cd units && systemd-analyze security --offline=yes "./$u") >security.out 2>&1 || true
		score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' security.out)
		[ -n "$score" ] || continue
		awk -v s="$score" 'BEGIN { exit !(s < 3.0) }' ||
			fail "$u: systemd-analyze security exposure $score, want < 3.0"
		echo "$u: exposure $score"
	done
}

# unit_value FILE KEY: every value of KEY= in FILE, one per line.
unit_value() { sed -n "s/^$2=//p" "$1"; }

expect_setting() {
	local got
	got=$(unit_value "$1" "$2" | tr '\n' '|')
	[ "$got" = "$3|" ] || fail "$(basename "$1"): $2=${got%|}, want $2=$3"
}

# The settings the deployment depends on, exactly as documented.
test_units_settings() {
	local s=$TOP/contrib/systemd/stallwatch.service t=$TOP/contrib/systemd/stallwatch@.service u
	[ -e "$TOP/contrib/systemd/stallwatch-scan.service" ] &&
		fail "stallwatch-scan.service is back: watch runs the host scans"
	expect_setting "$s" ExecStart "/usr/bin/stallwatch watch --policy /etc/stallwatch/default.json -o /var/log/stallwatch/watch.jsonl --metrics-file /var/lib/prometheus/node-exporter/stallwatch.prom"
	expect_setting "$t" ExecStart "/usr/bin/stallwatch attach --name %i -o /var/log/stallwatch/%i.jsonl --metrics-file /var/lib/prometheus/node-exporter/stallwatch-%i.prom"
	# watch: sd_notify readiness, from the main process only
	expect_setting "$s" Type notify
	expect_setting "$s" NotifyAccess main
	expect_setting "$t" Type exec
	expect_setting "$s" ExecReload '/bin/kill -HUP $MAINPID'
	expect_setting "$t" ExecReload 'kill -HUP $MAINPID'
	# bpf (CAP_BPF + CAP_PERFMON), ptrace, the proc connector (CAP_NET_ADMIN)
	expect_setting "$s" CapabilityBoundingSet "CAP_BPF CAP_PERFMON CAP_SYS_PTRACE CAP_NET_ADMIN CAP_DAC_READ_SEARCH"
	expect_setting "$t" CapabilityBoundingSet "CAP_SYS_PTRACE CAP_DAC_READ_SEARCH CAP_BPF CAP_PERFMON"
	# AF_UNIX: sd_notify, /dev/log; AF_NETLINK: the proc connector, which a
	# private network namespace cannot reach (ECONNREFUSED)
	expect_setting "$s" RestrictAddressFamilies "AF_UNIX AF_NETLINK"
	grep -q '^PrivateNetwork=yes' "$s" && fail "stallwatch.service: PrivateNetwork=yes cuts off the proc connector"
	expect_setting "$s" ExecStopPost "+/bin/rm -f /var/lib/prometheus/node-exporter/stallwatch.prom"
	for u in "$s" "$t"; do
		expect_setting "$u" LogsDirectory stallwatch
		expect_setting "$u" KillSignal SIGTERM
		expect_setting "$u" Restart on-failure
		expect_setting "$u" RestartSec 15s
		expect_setting "$u" UMask 0077
		expect_setting "$u" SyslogIdentifier stallwatch
		expect_setting "$u" ProtectControlGroups yes
		expect_setting "$u" ProtectSystem strict
		expect_setting "$u" NoNewPrivileges yes
		expect_setting "$u" ReadWritePaths -/var/lib/prometheus/node-exporter
		grep -q '^ProcSubset=' "$u" && fail "$(basename "$u") sets ProcSubset="
		grep -q '^PrivatePIDs=\|^DynamicUser=yes\|^ProtectProc=invisible' "$u" &&
			fail "$(basename "$u") hides processes or /proc"
		unit_value "$u" SystemCallFilter | grep -q '@debug' || fail "$(basename "$u"): the filter lacks @debug (ptrace)"
		# bpf() is in @privileged, which the units deny: an allow line after
		# the deny line must bring it back (systemd applies the lines in order)
		unit_value "$u" SystemCallFilter | tail -n 1 | grep -qw bpf ||
			fail "$(basename "$u"): the last SystemCallFilter= line does not allow bpf"
		grep -q '^AmbientCapabilities=' "$u" &&
			fail "$(basename "$u") runs as root: AmbientCapabilities= would be a no-op"
	done
	:
}

# allowed_calls UNIT: the system calls UNIT's SystemCallFilter= lines allow,
# one per line. As systemd does (systemd.exec(5), SystemCallFilter=): the
# first line is an allow list, and each later line adds its calls (allow) or
# takes them away (~), in the order of the lines.
allowed_calls() {
	"$PY" - "$1" <<-'EOF'
		import subprocess, sys
		cache = {}
		def expand(name):
		    if not name.startswith("@"):
		        return {name}
		    if name not in cache:
		        out = subprocess.run(["systemd-analyze", "syscall-filter", name],
		                             capture_output=True, text=True, check=True).stdout
		        s = set()
		        for line in out.splitlines()[1:]:
		            t = line.strip()
		            if t and not t.startswith("#"):
		                s |= expand(t)
		        cache[name] = s
		    return cache[name]
		allow, first = set(), True
		for line in open(sys.argv[1]):
		    if line.startswith("SystemCallFilter="):
		        v = line.split("=", 1)[1].split()
		        if v and v[0].startswith("~"):
		            if first:
		                sys.exit("a deny list first: not the allow-list unit this helper reads")
		            v[0] = v[0][1:]
		            for n in v:
		                allow -= expand(n)
		        else:
		            for n in v:
		                allow |= expand(n)
		        first = False
		print("\n".join(sorted(allow)))
	EOF
}

# used_calls STRACE_OUT: the system calls in an strace -f log, one per line.
used_calls() {
	sed -E 's/^[0-9]+ +//; s/^<\.\.\. ([a-z0-9_]+) resumed>.*/\1(/' "$1" |
		grep -oE '^[a-z_][a-z0-9_]*\(' | tr -d '(' | sort -u
}

need_strace() {
	command -v strace >/dev/null || skip "strace is missing (make deps-check)"
	need_sa
	need_py
}

# strace_child STRACE_PID: the traced stallwatch (strace's child).
strace_child() {
	STRACE_PID=$1
	wait_for '[ -n "$(pgrep -P "$STRACE_PID")" ]' 10 || return 1
	pgrep -P "$STRACE_PID" | head -1
}

# expect_calls_allowed UNIT STRACE_OUT MUST_SEE WHAT: every call in the
# strace log is allowed by contrib/systemd/UNIT's filter (MUST_SEE proves the
# log is real).
expect_calls_allowed() {
	local missing
	allowed_calls "$TOP/contrib/systemd/$1" >allowed.txt
	[ -s allowed.txt ] || fail "harness: no allowed calls computed"
	used_calls "$2" >used.txt
	grep -qx "$3" used.txt || fail "harness: the strace log has no $3"
	missing=$(comm -23 used.txt allowed.txt | tr '\n' ' ')
	[ -z "$missing" ] || fail "$4 makes calls its unit's SystemCallFilter= denies: $missing"
	echo "used: $(tr '\n' ' ' <used.txt)"
}

# has_watch: the binary under test has the watch command.
has_watch() { "$STALLWATCH" watch --help >/dev/null 2>&1; }

# notify_listener SOCK LOG: a $NOTIFY_SOCKET stand-in (systemd's is an
# AF_UNIX datagram socket): every datagram, one line each, into LOG.
notify_listener() {
	t_bg "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as log:
    while True:
        log.write(s.recv(4096).decode(errors="replace").replace("\n", " ") + "\n")
        log.flush()
' "$1" "$2"
}

# What stallwatch.service runs: every call of `watch` with the unit's options
# plus --syslog (its policy with a target and a 1 s scan interval), run as
# root with only the unit's bounding set (setpriv, as systemd starts it), a
# target picked up at exec, READY=1 on $NOTIFY_SOCKET, SIGHUP, SIGUSR1 and
# SIGTERM (exit 0), is allowed by the unit's filter. Until the binary has
# watch, the host scan it runs (scan, the same code) is checked against
# stallwatch.service's filter instead.
test_units_syscalls_watch() {
	need_strace
	mkdir -p textfile
	if ! has_watch; then
		t_bg strace -f -qq -o scan.tr "$STALLWATCH" scan --interval 200ms --count 6 \
			--metrics-file "$TD/textfile/sw.prom" --syslog -o scan.jsonl 2>scan.err
		local st=$BGPID sw
		sw=$(strace_child "$st") || fail "no stallwatch under strace"
		wait_for '[ -s scan.jsonl ]' 10 || fail "no scan record"
		kill -HUP "$sw"
		sleep 0.3
		kill -USR1 "$sw"
		t_wait "$st" 20
		show scan.err
		expect_rc 0
		expect_calls_allowed stallwatch.service scan.tr openat "scan (watch's host scan; no watch command in this binary yet)"
		return 0
	fi
	command -v setpriv >/dev/null || skip "setpriv is missing (Debian package util-linux)"
	local caps
	caps=$(unit_value "$TOP/contrib/systemd/stallwatch.service" CapabilityBoundingSet |
		tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
	cat >watch.json <<-'JSON'
		{"version": 1,
		 "targets": {"slow": {"comm": "slowcalls"}},
		 "rules": [{"name": "unit-test", "targets": ["slow"], "syscalls": ["nanosleep", "clock_nanosleep"],
		            "min_duration": "5ms", "severity": "warning"}],
		 "scan": {"interval": "1s"}}
	JSON
	notify_listener "$TD/notify.sock" notify.log
	wait_for '[ -S "$TD/notify.sock" ]' 10 || fail "harness: no notify socket"
	NOTIFY_SOCKET=$TD/notify.sock t_bg setpriv --bounding-set="-all,$caps" --inh-caps=-all \
		strace -f -qq -o watch.tr "$STALLWATCH" watch --policy "$TOP/contrib/policy/default.json" \
		--policy watch.json -o w.jsonl --metrics-file "$TD/textfile/stallwatch.prom" --syslog 2>watch.err
	local st=$BGPID sw
	sw=$(strace_child "$st") || fail "no stallwatch under strace"
	wait_for 'grep -q "^READY=1" notify.log' 30 || {
		show watch.err
		fail "no READY=1 on \$NOTIFY_SOCKET (Type=notify would time out)"
	}
	t_bg "$H/slowcalls" 20 20000
	local tgt=$BGPID
	wait_for '[ "$(jq_count w.jsonl slow)" -ge 3 ]' 20 || {
		show watch.err
		fail "no slow-syscall records of a target picked up at exec"
	}
	kill -HUP "$sw"
	sleep 0.3
	kill -USR1 "$sw"
	sleep 0.3
	kill -TERM "$sw"
	t_wait "$st" 20
	show watch.err
	expect_rc 0
	t_wait "$tgt" 20
	grep -q 'stallwatch_info{[^}]*mode="watch"' textfile/stallwatch.prom ||
		fail "no stallwatch_info{mode=\"watch\"} in the metrics file"
	expect_calls_allowed stallwatch.service watch.tr socket "watch"
}

# The same for attach and stallwatch@.service: seize, slow calls with a
# record file and a metrics file, SIGHUP, SIGUSR1, SIGUSR2, SIGTERM (detach).
test_units_syscalls_attach() {
	need_strace
	mkdir -p textfile
	t_bg "$H/slowcalls" 200 20000
	local tgt=$BGPID
	t_bg strace -f -qq -o attach.tr "$STALLWATCH" attach -p "$tgt" -m 5ms -o a.jsonl \
		--metrics-file "$TD/textfile/sw.prom" --summary --rate-limit 50 2>attach.err
	local st=$BGPID sw
	sw=$(strace_child "$st") || fail "no stallwatch under strace"
	wait_for 'grep -q "attached $tgt" attach.err' 10 || {
		show attach.err
		fail "not attached"
	}
	wait_for '[ "$(jq_count a.jsonl slow)" -ge 3 ]' 10 || fail "no slow-syscall records"
	kill -HUP "$sw"
	sleep 0.2
	kill -USR1 "$sw"
	sleep 0.2
	kill -USR2 "$sw"
	sleep 0.2
	kill -TERM "$sw"
	t_wait "$st" 20
	show attach.err
	expect_rc 0
	proc_alive "$tgt" || fail "the target did not survive the detach"
	expect_calls_allowed stallwatch@.service attach.tr ptrace attach
	# watch attaches with the same code (stallwatch.service)
	expect_calls_allowed stallwatch.service attach.tr ptrace attach
}

# The same with --backend=bpf (the unit's own command chooses no backend; auto
# may pick bpf): the loading of the programs (bpf(), BTF) is allowed too, and
# the bounding set of the unit is enough for it.
test_units_syscalls_attach_bpf() {
	need_strace
	"$STALLWATCH" run --backend=bpf -e getppid -- true >/dev/null 2>probe.txt ||
		skip "bpf backend unavailable here: $(head -n1 probe.txt)"
	command -v setpriv >/dev/null || skip "setpriv is missing (Debian package util-linux)"
	local caps
	caps=$(unit_value "$TOP/contrib/systemd/stallwatch@.service" CapabilityBoundingSet |
		tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
	mkdir -p textfile
	t_bg "$H/slowcalls" 200 20000
	local tgt=$BGPID
	# root with only the unit's capabilities, as systemd starts it (setpriv
	# execs strace, so that its own calls are not in the log)
	t_bg setpriv --bounding-set="-all,$caps" --inh-caps=-all strace -f -qq -o attach.tr \
		"$STALLWATCH" attach --backend=bpf -p "$tgt" -m 5ms -o a.jsonl \
		--metrics-file "$TD/textfile/sw.prom" 2>attach.err
	local st=$BGPID sw
	sw=$(strace_child "$st") || fail "no stallwatch under strace"
	wait_for 'grep -q "attached $tgt" attach.err' 10 || {
		show attach.err
		fail "not attached with the bounding set -all,$caps"
	}
	wait_for '[ "$(jq_count a.jsonl slow)" -ge 3 ]' 10 || fail "no slow-syscall records"
	kill -HUP "$sw"
	sleep 0.2
	kill -TERM "$sw"
	t_wait "$st" 20
	show attach.err
	expect_rc 0
	proc_alive "$tgt" || fail "the target did not survive the detach"
	expect_calls_allowed stallwatch@.service attach.tr bpf "attach --backend=bpf"
	expect_calls_allowed stallwatch.service attach.tr bpf "attach --backend=bpf"
}

# The DaemonSet: kinds, namespace, host namespaces, capabilities, no
# privileged container, mounts; the ConfigMap's policy is valid; the
# readiness probe, run on real metrics files, tells a live watch file from a
# stale or a non-watch one.
test_kubernetes() {
	need_py
	"$PY" - "$TOP/contrib/kubernetes/stallwatch-daemonset.yaml" policy.json probe.sh <<-'EOF' || fail "$(tail -1 py.err)"
		import sys, yaml
		docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
		def need(cond, why):
		    if not cond:
		        print(why, file=open("py.err", "a"))
		        sys.exit(1)
		kinds = [d["kind"] for d in docs]
		need(kinds == ["Namespace", "ServiceAccount", "ConfigMap", "DaemonSet"], f"kinds {kinds}")
		ns = docs[0]["metadata"]["name"]
		need(all(d["metadata"].get("namespace") == ns for d in docs[1:]), "objects outside the namespace")
		open(sys.argv[2], "w").write(docs[2]["data"]["policy.json"])
		d = docs[3]
		need(d["metadata"]["name"] == "stallwatch" and d["apiVersion"] == "apps/v1", "the DaemonSet")
		spec = d["spec"]["template"]["spec"]
		sel = d["spec"]["selector"]["matchLabels"]
		labels = d["spec"]["template"]["metadata"]["labels"]
		need(all(labels.get(k) == v for k, v in sel.items()), "selector does not match")
		need({"operator": "Exists"} in spec.get("tolerations", []), "no toleration for all taints")
		# the targets are host processes; the proc connector answers only the
		# initial PID and network namespaces
		need(spec.get("hostPID") is True, "hostPID")
		need(spec.get("hostNetwork") is True, "hostNetwork (the proc connector)")
		need(len(spec["containers"]) == 1, "one container")
		vols = {v["name"]: v for v in spec["volumes"]}
		need(vols["policy"]["configMap"]["name"] == docs[2]["metadata"]["name"], "configmap")
		for c in spec["containers"] + spec.get("initContainers", []):
		    sc = c["securityContext"]
		    need(sc.get("privileged") is False, f"{c['name']}: privileged")
		    need(sc.get("allowPrivilegeEscalation") is False, f"{c['name']}: privilege escalation")
		    need(sc.get("readOnlyRootFilesystem") is True, f"{c['name']}: writable root")
		    need(sc["capabilities"]["drop"] == ["ALL"], f"{c['name']}: drop")
		    need(c["image"] == "stallwatch:0.1.0", f"{c['name']}: image {c['image']}")
		    need("memory" in c["resources"]["limits"], f"{c['name']}: no memory limit")
		c = spec["containers"][0]
		need(c["args"][:1] == ["watch"], "args: not watch")
		need("--policy=/etc/stallwatch/policy.json" in c["args"], "no policy")
		need("--metrics-file=/textfile/stallwatch.prom" in c["args"], "metrics file")
		need(set(c["securityContext"]["capabilities"]["add"]) ==
		     {"BPF", "PERFMON", "SYS_PTRACE", "NET_ADMIN", "DAC_READ_SEARCH"}, "capabilities")
		need(c["securityContext"]["runAsUser"] == 0, "uid 0 reads /proc/slabinfo")
		need("cpu" not in c["resources"]["limits"], "a CPU limit would throttle the tracer and the timed reads")
		m = {m["mountPath"]: m for m in c["volumeMounts"]}
		need(m["/etc/stallwatch"].get("readOnly") is True, "policy mount")
		need(m["/sys/fs/cgroup"].get("readOnly") is True, "/sys/fs/cgroup not read-only")
		need(vols[m["/sys/fs/cgroup"]["name"]]["hostPath"]["path"] == "/sys/fs/cgroup", "cgroup hostPath")
		need(m.get("/sys/kernel/btf", {}).get("readOnly") is True, "/sys/kernel/btf not mounted read-only")
		need(vols[m["/sys/kernel/btf"]["name"]].get("hostPath", {}).get("path") == "/sys/kernel/btf",
		     "/sys/kernel/btf is not the host's")
		need(vols[m["/textfile"]["name"]]["hostPath"]["path"] == "/var/lib/prometheus/node-exporter", "textfile")
		ic = spec["initContainers"][0]
		need(ic["command"] == ["/bin/rm", "-f", "/textfile/stallwatch.prom"], "init: removes the old file")
		p = c["readinessProbe"]["exec"]["command"]
		need(p[:2] == ["/bin/sh", "-c"], "readiness: not a shell command")
		open(sys.argv[3], "w").write(p[2])
	EOF
	sw validate policy.json >validate.out 2>&1
	show validate.out
	expect_rc 0
	# The probe, on a real metrics file under /textfile's stand-in.
	mkdir -p tf
	sed "s|/textfile/|$TD/tf/|g" probe.sh >probe.run
	grep -q "$TD/tf/stallwatch.prom" probe.run || fail "harness: probe path not replaced"
	if has_watch; then
		t_bg "$STALLWATCH" watch --policy "$TOP/contrib/policy/default.json" -o /dev/null \
			--metrics-file "$TD/tf/stallwatch.prom" 2>watch.err
		wait_for '[ -s tf/stallwatch.prom ]' 20 || fail "watch wrote no metrics file"
		kill -TERM "$BGPID"
		t_wait "$BGPID" 20
	else
		# until the binary has watch: scan's file, its mode renamed
		sw scan --metrics-file "$TD/tf/stallwatch.prom" -o /dev/null
		expect_rc 0
		sh -c "$(cat probe.run)" && fail "readiness: a scan file (mode=\"scan\") passed"
		sed -i 's/mode="scan"/mode="watch"/' tf/stallwatch.prom
	fi
	sh -c "$(cat probe.run)" || fail "readiness: a fresh watch file failed the probe"
	touch -d '-181 seconds' tf/stallwatch.prom
	sh -c "$(cat probe.run)" && fail "readiness: a file 181 s old passed"
	rm tf/stallwatch.prom
	sh -c "$(cat probe.run)" 2>/dev/null && fail "readiness: no file passed"
	:
}

# The alerting rules: promtool accepts them; the committed unit test passes;
# and a test written now from a real run of this binary passes too, so the
# rules name series and labels that stallwatch really writes.
test_prometheus_rules() {
	command -v promtool >/dev/null || skip "promtool is missing (make deps-check installs prometheus)"
	need_py
	[ "$(id -u)" = 0 ] || skip "the real run attaches to a process: root"
	local p=$TOP/contrib/prometheus
	promtool check rules "$p/stallwatch-alerts.yml" >check.out 2>&1 || {
		show check.out
		fail "promtool check rules"
	}
	(cd "$p" && promtool test rules stallwatch-alerts.test.yml) >test.out 2>&1 || {
		show test.out
		fail "promtool test rules on the committed test"
	}
	STALLWATCH=$STALLWATCH HELPERS=$H "$PY" "$p/gen-alerts-test.py" "$TD/fresh.test.yml" \
		"$p/stallwatch-alerts.yml" >gen.out 2>&1 || {
		show gen.out
		fail "gen-alerts-test.py (a real run)"
	}
	promtool test rules fresh.test.yml >fresh.out 2>&1 || {
		show fresh.out
		fail "promtool test rules on a test from a real run now"
	}
	# it bites: a rule that names a series stallwatch does not write fails it
	sed 's/stallwatch_memcg_offline > 10000/stallwatch_memcg_offlines > 10000/' \
		"$p/stallwatch-alerts.yml" >broken.yml
	sed "s|$p/stallwatch-alerts.yml|$TD/broken.yml|" fresh.test.yml >broken.test.yml
	promtool test rules broken.test.yml >broken.out 2>&1 && fail "a misspelt series name passed promtool test"
	grep -q 'StallwatchZombieMemcgsCritical' broken.out || fail "harness: the broken rule was not the one reported"
	:
}

# Vector and Fluent Bit: valid TOML/YAML, the record time with nanoseconds.
test_pipelines() {
	need_py
	local p=$TOP/contrib/pipelines
	"$PY" - "$p/vector.toml" "$p/fluent-bit.yaml" <<-'EOF' || fail "$(tail -1 py.err)"
		import sys, tomllib, yaml
		def need(cond, why):
		    if not cond:
		        print(why, file=open("py.err", "a"))
		        sys.exit(1)
		v = tomllib.load(open(sys.argv[1], "rb"))
		src = v["sources"]
		need(src["stallwatch_files"]["type"] == "file", "vector: file source")
		need(src["stallwatch_files"]["include"] == ["/var/log/stallwatch/*.jsonl"], "vector: include")
		need(src["stallwatch_journal"]["type"] == "journald", "vector: journald source")
		need(src["stallwatch_journal"]["include_matches"]["SYSLOG_IDENTIFIER"] == ["stallwatch"],
		     "vector: journald match")
		r = v["transforms"]["stallwatch_records"]
		need(r["type"] == "remap" and set(r["inputs"]) == set(src), "vector: remap inputs")
		need("parse_json(.message)" in r["source"], "vector: parse_json")
		need('parse_timestamp!(."@timestamp", "%+")' in r["source"], "vector: timestamp format")
		for name, sink in v["sinks"].items():
		    need(sink["inputs"] == ["stallwatch_records"], f"vector: sink {name} inputs")
		f = yaml.safe_load(open(sys.argv[2]))
		ins = f["pipeline"]["inputs"]
		tail = [i for i in ins if i["name"] == "tail"]
		need(tail and tail[0]["path"] == "/var/log/stallwatch/*.jsonl", "fluent-bit: tail path")
		need(tail[0]["parser"] == "stallwatch_json", "fluent-bit: tail parser")
		sd = [i for i in ins if i["name"] == "systemd"]
		need(sd and sd[0]["systemd_filter"] == "SYSLOG_IDENTIFIER=stallwatch", "fluent-bit: systemd input")
		fl = [x for x in f["pipeline"]["filters"] if x["name"] == "parser"]
		need(fl and fl[0]["key_name"] == "MESSAGE" and fl[0]["parser"] == "stallwatch_json",
		     "fluent-bit: parser filter")
		need(f["service"]["parsers_file"].endswith("stallwatch-parsers.conf"), "fluent-bit: parsers_file")
		need(f["pipeline"]["outputs"], "fluent-bit: no output")
	EOF
	# parsers.conf: one [PARSER] with the record's time, kept in the record
	awk '
		/^\[PARSER\]/ { n++ }
		n == 1 && NF == 2 && $1 !~ /^#/ { kv[$1] = $2 }
		END {
			ok = kv["Name"] == "stallwatch_json" && kv["Format"] == "json" &&
			     kv["Time_Key"] == "@timestamp" && kv["Time_Format"] == "%Y-%m-%dT%H:%M:%S.%L%z" &&
			     kv["Time_Keep"] == "On"
			exit !(n == 1 && ok)
		}' "$p/parsers.conf" || fail "parsers.conf: not the stallwatch_json parser with Time_Key @timestamp, %L%z, Time_Keep On"
	# a real record has the shape both formats expect: ...T..:..:..\.[0-9]{9}Z
	sw scan -o rec.json
	expect_rc 0
	jq -r '."@timestamp"' rec.json | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$' ||
		fail "@timestamp is not RFC 3339 UTC with 9 digits: $(jq -r '."@timestamp"' rec.json)"
}

# logrotate -d accepts the file as shipped.
test_logrotate_debug() {
	command -v logrotate >/dev/null || skip "logrotate is missing (make deps-check)"
	cp "$TOP/contrib/logrotate/stallwatch" lr.conf
	chmod 0644 lr.conf
	logrotate -d -s "$TD/lr.state" lr.conf >lr.out 2>&1
	RC=$?
	show lr.out
	expect_rc 0
	grep -qi 'error' lr.out && fail "logrotate -d: $(grep -i error lr.out | head -1)"
	grep -q 'rotating pattern: /var/log/stallwatch/\*.jsonl' lr.out || fail "logrotate -d: pattern not read"
	grep -q "^[[:space:]]*copytruncate" lr.conf && fail "copytruncate loses lines"
	grep -q "^[[:space:]]*create 0600 root root$" lr.conf || fail "no create 0600 root root"
	:
}

# A real rotation of a running attach's -o file, with the config as shipped
# except the path (into $TD) and the postrotate signal (to this stallwatch
# instead of systemctl): no record lost, none written twice, the new file is
# 0600, the older one compressed at the next rotation.
test_logrotate_run() {
	command -v logrotate >/dev/null || skip "logrotate is missing (make deps-check)"
	[ "$(id -u)" = 0 ] || skip "create 0600 root root needs root"
	mkdir -p log
	# the calls start only once stallwatch has seized the target
	SLOWCALLS_START=$TD/start t_bg "$H/slowcalls" 20 20000 "$TD/gate" 10 >target.out
	local tgt=$BGPID
	t_bg "$STALLWATCH" attach -p "$tgt" -e nanosleep -m 5ms -o "$TD/log/t.jsonl" \
		--metrics-file "$TD/m.prom" 2>attach.err
	local swpid=$BGPID
	echo "$swpid" >sw.pid
	wait_for 'grep -q "attached $tgt" attach.err' 20 || fail "stallwatch did not attach"
	touch "$TD/start"
	sed -e "s|/var/log/stallwatch/|$TD/log/|" \
		-e "s|systemctl kill -s USR1 --kill-whom=main stallwatch.service 'stallwatch@\*.service'|kill -USR1 \$(cat $TD/sw.pid)|" \
		"$TOP/contrib/logrotate/stallwatch" >lr.conf
	grep -q "kill -USR1" lr.conf || fail "harness: postrotate not replaced"
	chmod 0644 lr.conf
	wait_for 'grep -q "^waiting 10" target.out' 20 || fail "the target did not reach the gate"
	# the first records: a call stallwatch's own CPU wait explains is not reported (suppressed)
	wait_for '[ "$(jq_count log/t.jsonl slow)" -ge 8 ]' 10 || fail "the first slow records not written"
	sleep 0.2
	logrotate -v -f -s "$TD/lr.state" lr.conf >lr1.out 2>&1 || {
		show lr1.out
		fail "logrotate failed"
	}
	[ -f log/t.jsonl.1 ] || fail "no log/t.jsonl.1 after the rotation"
	[ -f log/t.jsonl ] || fail "no new log/t.jsonl (create)"
	expect_eq "$(stat -c %a log/t.jsonl)" 600 "mode of the new file"
	touch gate
	t_wait "$tgt" 20
	t_wait "$swpid" 20
	show attach.err lr1.out
	expect_rc 0
	local before after supp
	before=$(jq_count log/t.jsonl.1 slow)
	after=$(jq_count log/t.jsonl slow)
	supp=$(sed -n 's/^stallwatch_calls_suppressed_total{[^}]*} //p' m.prom)
	[ -n "$supp" ] || fail "no stallwatch_calls_suppressed_total in m.prom"
	expect_eq "$((before + after + supp))" 20 "slow records before ($before) + after ($after) the rotation + suppressed ($supp)"
	[ "$before" -ge 8 ] && [ "$after" -ge 1 ] || fail "records on both sides of the rotation: $before, $after"
	expect_eq "$(cat log/t.jsonl.1 log/t.jsonl | jq -r 'select(.event.action == "slow-syscall") | .stallwatch.mono_ns' | sort -u | wc -l)" \
		"$((before + after))" "distinct slow records in both files"
	# the next rotation compresses the older file (delaycompress)
	logrotate -f -s "$TD/lr.state" lr.conf >lr2.out 2>&1 || {
		show lr2.out
		fail "second logrotate failed"
	}
	[ -f log/t.jsonl.2.gz ] || fail "no log/t.jsonl.2.gz after the second rotation"
	expect_eq "$(gzip -dc log/t.jsonl.2.gz | jq -c 'select(.event.action == "slow-syscall")' | wc -l)" \
		"$before" "slow records in t.jsonl.2.gz"
}

# render_man: the page as man shows it, ASCII, no hyphenation or justification.
render_man() {
	MANWIDTH=250 LC_ALL=C MANPAGER=cat PAGER=cat man --nh --nj -l "$TOP/doc/stallwatch.8" 2>/dev/null |
		col -b
}

# The man page renders without a warning and documents every long option.
test_man() {
	command -v man >/dev/null || skip "man is missing (make deps-check installs man-db)"
	command -v groff >/dev/null || skip "groff is missing (make deps-check installs groff-base)"
	local w
	w=$(MANWIDTH=80 MANPAGER=cat PAGER=cat man --warnings -l "$TOP/doc/stallwatch.8" 2>&1 >/dev/null)
	[ -z "$w" ] || fail "man --warnings: $(printf '%s' "$w" | head -3)"
	w=$(groff -man -ww -z "$TOP/doc/stallwatch.8" 2>&1)
	[ -z "$w" ] || fail "groff -ww: $(printf '%s' "$w" | head -3)"
	render_man >page.txt
	[ "$(wc -l <page.txt)" -gt 500 ] || fail "the rendered page is too short"
	local sec
	for sec in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS RECORDS "SINKS AND BACKPRESSURE" \
		SIGNALS ENVIRONMENT FILES "EXIT STATUS" EXAMPLES "SEE ALSO"; do
		grep -qx "$sec" page.txt || fail "no section $sec"
	done
	# OPTIONS: from its heading to the next section heading; its entries are
	# the tag lines (indented 7) followed by an indented body
	awk '/^OPTIONS$/ { on = 1; next } on && /^[A-Z][A-Z ]+$/ { exit } on' page.txt >options.txt
	awk 'prev ~ /^       [^ \t]/ && /^(        |\t)/ { print prev } { prev = $0 }' options.txt >tags.txt
	[ "$(wc -l <tags.txt)" -ge 20 ] || fail "harness: only $(wc -l <tags.txt) option entries found"
	local c o missing=
	for c in run attach scan; do
		sw "$c" --help >"help-$c.txt" 2>&1
		expect_rc 0 "$c --help"
		for o in $(grep -oE -- '--[a-z][a-z-]*[a-z]' "help-$c.txt" | sort -u); do
			grep -qE -- "$o([^a-z-]|\$)" tags.txt || missing="$missing $c:$o"
		done
	done
	[ -z "$missing" ] || fail "long options of --help without an entry in OPTIONS:$missing"
	sw validate --help >help-validate.txt 2>&1
	for o in $(grep -oE -- '--[a-z][a-z-]*[a-z]' help-validate.txt | sort -u); do
		grep -qF -- "$o" page.txt || missing="$missing validate:$o"
	done
	[ -z "$missing" ] || fail "long options of validate --help missing:$missing"
	# SYNOPSIS names every command of the interface
	awk '/^SYNOPSIS$/ { on = 1; next } on && /^[A-Z][A-Z ]+$/ { exit } on' page.txt >synopsis.txt
	for c in run attach scan watch validate; do
		grep -q "stallwatch $c" synopsis.txt || fail "SYNOPSIS lacks stallwatch $c"
	done
	sed -n '/^SEE ALSO$/,$p' page.txt >seealso.txt
	for o in 'strace(1)' 'perf-trace(1)' 'journalctl(1)' 'logrotate(8)'; do
		grep -qF "$o" seealso.txt || fail "SEE ALSO lacks $o"
	done
	grep -q 'JOURNAL_STREAM' page.txt || fail "ENVIRONMENT lacks JOURNAL_STREAM"
	:
}

# installed_files ROOT: "MODE PATH" of every file under ROOT, sorted.
installed_files() {
	(cd "$1" && find . -type f -printf '%m %P\n' | sort)
}

# make install into a DESTDIR: exactly the documented files, their modes, the
# units' binary path; make uninstall removes them all. The binary is not
# rebuilt here (-o): the test installs what was built.
test_make_install() {
	[ -x "$TOP/stallwatch" ] || skip "no $TOP/stallwatch (make)"
	make -C "$TOP" -s -o stallwatch install DESTDIR="$TD/root" PREFIX=/usr >install.out 2>&1 || {
		show install.out
		fail "make install failed"
	}
	installed_files root >files.txt
	cat >want.txt <<-EOF
		644 etc/logrotate.d/stallwatch
		644 etc/stallwatch/default.json
		644 usr/lib/systemd/system/stallwatch.service
		644 usr/lib/systemd/system/stallwatch@.service
		644 usr/share/man/man8/stallwatch.8
		755 usr/bin/stallwatch
	EOF
	sort -o want.txt want.txt
	diff want.txt files.txt >diff.txt || {
		show diff.txt
		fail "installed files differ from the documented list: $(tr '\n' ' ' <diff.txt)"
	}
	cmp -s "$TOP/stallwatch" root/usr/bin/stallwatch || fail "the installed binary differs (stripped?)"
	local u
	for u in $UNITS; do
		grep -q '^ExecStart=/usr/bin/stallwatch ' "root/usr/lib/systemd/system/$u" ||
			fail "$u: ExecStart is not /usr/bin/stallwatch"
		cmp -s "$TOP/contrib/systemd/$u" "root/usr/lib/systemd/system/$u" ||
			fail "$u: changed by install with BINDIR=/usr/bin"
	done
	make -C "$TOP" -s -o stallwatch uninstall DESTDIR="$TD/root" PREFIX=/usr >uninstall.out 2>&1 || {
		show uninstall.out
		fail "make uninstall failed"
	}
	installed_files root >left.txt
	[ -s left.txt ] && fail "make uninstall left: $(tr '\n' ' ' <left.txt)"
	# another prefix: the units follow BINDIR
	make -C "$TOP" -s -o stallwatch install DESTDIR="$TD/opt" PREFIX=/opt/sw >install2.out 2>&1 ||
		fail "make install PREFIX=/opt/sw failed"
	for u in $UNITS; do
		grep -q '^ExecStart=/opt/sw/bin/stallwatch ' "opt/opt/sw/lib/systemd/system/$u" ||
			fail "$u: ExecStart not rewritten to /opt/sw/bin/stallwatch"
		grep -q '/usr/bin/stallwatch' "opt/opt/sw/lib/systemd/system/$u" &&
			fail "$u: /usr/bin/stallwatch left in the installed unit"
	done
	[ -f opt/etc/logrotate.d/stallwatch ] || fail "SYSCONFDIR is not /etc with PREFIX=/opt/sw"
	make -C "$TOP" -s -o stallwatch uninstall DESTDIR="$TD/opt" PREFIX=/opt/sw >/dev/null 2>&1
	installed_files opt >left.txt
	[ -s left.txt ] && fail "make uninstall PREFIX=/opt/sw left: $(tr '\n' ' ' <left.txt)"
	:
}

# contrib/repro (doc/diagnosing.md): each script parses, and a tiny run of
# each prints the records its incident is about and leaves nothing behind.
REPRO=$TOP/contrib/repro
test_repro_syntax() {
	local f
	for f in "$REPRO"/*.sh; do
		bash -n "$f" || fail "$f: bash -n"
		head -n 30 "$f" | grep -q 'Needs:' || fail "$f: no 'Needs:' in its header"
		grep -q '^trap .* EXIT' "$f" || fail "$f: no cleanup trap on EXIT"
	done
}

# 20 zombies, one pass of reads: every memory.stat read record carries at
# least our 20 offline memcgs; the script's cgroup and tmpfs directory are gone.
test_repro_zombies() {
	local sel='(.stallwatch.syscall.fd_path // "" | endswith("/memory.stat"))' pid
	[ "$(id -u)" = 0 ] || skip "needs root to create cgroups"
	grep -q ' cgroup .*[ ,]memory' /proc/self/mountinfo || skip "no cgroup v1 memory hierarchy"
	STALLWATCH=$STALLWATCH HELPERS=$H "$REPRO/zombie-memcgs.sh" -n 20 -r 1 -o z.json \
		>z.txt 2>z.err &
	pid=$!
	t_track "$pid"
	t_wait "$pid" 60
	show z.err z.json
	expect_rc 0
	[ "$(jq_count z.json "$sel")" -ge 1 ] || fail "no memory.stat read record"
	expect_eq "$(jq_count z.json "$sel and (.stallwatch.host.memcg.offline | type) == \"number\" and
		.stallwatch.host.memcg.offline >= 20")" "$(jq_count z.json "$sel")" \
		"memory.stat records with at least our 20 offline memcgs"
	ls -d /sys/fs/cgroup/*/stallwatch-repro-"$pid" /dev/shm/stallwatch-repro-"$pid" 2>/dev/null &&
		fail "the script left its cgroup or tmpfs directory"
	:
}

# 10 000 traced failed lookups (enough for the default storm threshold,
# 6000 distinct names a minute, with the sketch's 3 standard errors), 20 000
# untraced: the watch (reported from 1 us) names the traced helper as the top
# producer; one enoent-storm record; the directory is gone.
test_repro_negative_dentries() {
	local w='.event.action == "slow-syscall" and .stallwatch.syscall.name == "inotify_add_watch"'
	STALLWATCH=$STALLWATCH HELPERS=$H "$REPRO/negative-dentries.sh" -n 10000 -m 20000 -t 1us \
		-o n.json >n.txt 2>n.err
	RC=$?
	show n.err n.json
	expect_rc 0
	expect_eq "$(jq_count n.json "$w")" 1 "slow inotify_add_watch records"
	expect_eq "$(jq_get n.json "$w" '.stallwatch.host.enoent.top[0] | [.process.name, .count] | join(" ")')" \
		"enoentstorm 10000" "the top producer under the directory"
	expect_eq "$(jq_get n.json "$w" '.stallwatch.host.dentry.negative >= 10000')" true \
		"dentry.negative"
	expect_eq "$(jq_count n.json '.event.action == "enoent-storm" and .process.name == "enoentstorm"
		and (.stallwatch.enoent.directory | test("^/tmp/stallwatch-repro-dentries\\.[^/]*/dir$"))')" \
		1 "enoent-storm records"
	ls -d "$(jq_get n.json "$w" .stallwatch.host.enoent.directory)" 2>/dev/null &&
		fail "the script left its directory"
	:
}

# The recorded series: one slab-growth alert, kmalloc-32 at 16 MiB/h.
test_repro_slab() {
	STALLWATCH=$STALLWATCH "$REPRO/slab-leak.sh" -o s.json >s.txt 2>s.err
	RC=$?
	show s.err s.json
	expect_rc 0
	expect_eq "$(jq_count s.json '.event.action == "slab-growth"')" 1 "slab-growth alerts"
	expect_eq "$(jq_get s.json '.event.action == "slab-growth"' \
		'[.stallwatch.slab.cache, (.stallwatch.slab.top_growing[0].slope_bytes_per_hour / 1048576 | round)]
		| map(tostring) | join(" ")')" "kmalloc-32 16" "the cache and its MiB/h"
}

# t_run_ptrace (lib.sh): pinned to --backend=ptrace where the expectation is
# ptrace's: stallwatch@.service grants ptrace, not bpf: auto falls back there.
t_run units_verify test_units_verify
t_run units_settings test_units_settings
t_run units_syscalls_watch test_units_syscalls_watch
t_run_ptrace units_syscalls_attach test_units_syscalls_attach
t_run units_syscalls_attach_bpf test_units_syscalls_attach_bpf
t_run kubernetes test_kubernetes
t_run prometheus_rules test_prometheus_rules
t_run pipelines test_pipelines
t_run logrotate_debug test_logrotate_debug
t_run logrotate_run test_logrotate_run
t_run man test_man
t_run make_install test_make_install
t_run repro_syntax test_repro_syntax
t_run repro_zombies test_repro_zombies
t_run repro_negative_dentries test_repro_negative_dentries
t_run repro_slab test_repro_slab
t_done
