#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gen-alerts-test - write stallwatch-alerts.test.yml from a real stallwatch run.

    contrib/prometheus/gen-alerts-test.py [OUT [RULES]]

Runs `stallwatch watch` (STALLWATCH, default ./stallwatch) over a traced helper
(HELPERS, default build/helpers: `make helpers`) with a metrics file, copies
the file once a second (three snapshots), and turns the snapshots into
promtool `input_series` with prom2series.py. The test cases below then say
which alerts of RULES (default stallwatch-alerts.yml, as written into OUT)
fire when. Every series comes from the run: the first test takes the values
as they were; the scenario tests keep the series (names, labels) and replace
values with --set, or add series with the labels of real ones (--clone), so
that an alert cannot refer to a series stallwatch does not write. The
expected annotations are rendered from RULES here (label and humanize
templates), so a changed text needs no hand edit of the test.

OUT defaults to contrib/prometheus/stallwatch-alerts.test.yml. Needs root
(the daemon traces a process) and python3-yaml. tests/e2e/packaging.sh runs
it into a temporary directory and runs `promtool test rules` on the result.
"""
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import yaml


HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SW = os.environ.get("STALLWATCH", os.path.join(TOP, "stallwatch"))
HELPERS = os.environ.get("HELPERS", os.path.join(TOP, "build", "helpers"))
CONV = os.path.join(HERE, "prom2series.py")
LABELS = ["--label", "instance=node-1:9100", "--label", "job=node",
          "--textfile-dir", "/var/lib/prometheus/node-exporter"]
RULE = "test-critical-stall"
POLICY = {
    "version": 1,
    "rules": [{
        "name": RULE,
        "description": "the helper's 20 ms sleeps",
        "syscalls": ["nanosleep", "clock_nanosleep"],
        "min_duration": "5ms",
        "severity": "critical",
        # 5 records a minute, the other calls are dropped (rate-limit)
        "rate_limit": 5,
    }],
}


def wait_for(cond, what, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    sys.exit(f"gen-alerts-test: timed out waiting for {what}")


def snapshot(d, files, k):
    """A copy of files (mtime kept) in d/snapK; returns a prom2series argument."""
    os.makedirs(os.path.join(d, f"snap{k}"))
    parts = []
    for f in files:
        dst = os.path.join(d, f"snap{k}", os.path.basename(f))
        shutil.copy2(f, dst)
        parts.append(dst)
    return "+".join(parts)


def burst(d, files, start, tgt):
    """Snapshot 0 before the helper's burst, 1 after it, 2 a second later."""
    snaps = [snapshot(d, files, 0)]
    open(start, "w").close()
    tgt.wait(20)
    time.sleep(1.2)  # the metrics file is rewritten at most once a second
    snaps.append(snapshot(d, files, 1))
    time.sleep(1)
    snaps.append(snapshot(d, files, 2))
    return snaps


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    try:
        p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def run_watch(d):
    """One watch run: the helper is a target, picked up at exec."""
    pol = dict(POLICY, targets={"slow": {"comm": "slowcalls"}}, scan={"interval": "1s"})
    pol["rules"] = [dict(POLICY["rules"][0], targets=["slow"])]
    polf = os.path.join(d, "policy.json")
    with open(polf, "w") as f:
        json.dump(pol, f)
    prom = os.path.join(d, "w", "stallwatch.prom")
    os.makedirs(os.path.dirname(prom))
    procs = []
    try:
        w = subprocess.Popen([SW, "watch", "--policy", polf, "-o", os.path.join(d, "w.jsonl"),
                              "--metrics-file", prom], stderr=open(os.path.join(d, "watch.err"), "w"))
        procs.append(w)
        wait_for(lambda: os.path.exists(prom), "watch's metrics file")
        start = os.path.join(d, "start")
        # picked up at exec; its calls start a second later
        tgt = subprocess.Popen(["sh", "-c", f"sleep 1; exec {HELPERS}/slowcalls 40 20000"],
                               env=dict(os.environ, SLOWCALLS_START=start),
                               stdout=subprocess.DEVNULL)
        procs.append(tgt)
        time.sleep(1.5)
        snaps = burst(d, [prom], start, tgt)
    finally:
        for p in procs:
            stop(p)
    return snaps, []


def series(snaps, extra, *opts):
    out = subprocess.run([sys.executable, CONV, *LABELS, *extra, *opts, *snaps],
                         capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"gen-alerts-test: prom2series: {out.stderr.strip()}")
    return yaml.safe_load(out.stdout)


def humanize(v):
    if v == 0 or math.isnan(v) or math.isinf(v):
        return "%.4g" % v
    if abs(v) >= 1:
        prefix = ""
        for p in "kMGTPEZY":
            if abs(v) < 1000:
                break
            prefix, v = p, v / 1000
        return "%.4g%s" % (v, prefix)
    prefix = ""
    for p in "munpfazy":
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return "%.4g%s" % (v, prefix)


def humanize_duration(v):
    if v == 0 or abs(v) >= 1:
        return "%.4gs" % v  # under a minute: all the rules need
    prefix = ""
    for p in "munpfazy":
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return "%.4g%ss" % (v, prefix)


def render(text, labels, value):
    def one(m):
        e = m.group(1).strip()
        if e.startswith("$labels."):
            return labels.get(e[len("$labels."):], "")
        if e == "$value":
            return ("%g" % value) if value is not None else "?"
        if e == "$value | humanize":
            return humanize(value)
        if e == "$value | humanizeDuration":
            return humanize_duration(value)
        sys.exit(f"gen-alerts-test: template {{{{ {e} }}}} not supported here")
    return re.sub(r"\{\{(.*?)\}\}", one, text)


def expect(rules, alert, labels, value=None):
    """An expected alert: its labels plus the rule's, annotations rendered."""
    r = rules[alert]
    # an empty label value is no label in Prometheus (sink="" of a rate-limit drop)
    lab = {k: v for k, v in dict(labels, **r.get("labels", {})).items() if v != ""}
    ann = {k: render(v, lab, value) for k, v in r.get("annotations", {}).items()}
    return {"exp_labels": lab, "exp_annotations": ann}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "stallwatch-alerts.test.yml")
    rules_path = sys.argv[2] if len(sys.argv) > 2 else "stallwatch-alerts.yml"
    rules_file = rules_path if os.path.isabs(rules_path) else os.path.join(HERE, rules_path)
    rules = {r["alert"]: r for g in yaml.safe_load(open(rules_file))["groups"]
             for r in g["rules"] if "alert" in r}
    d = tempfile.mkdtemp(prefix="sw-alerts.")
    try:
        snaps, extra = run_watch(d)
        node = {"instance": "node-1:9100", "job": "node"}
        sw = dict(node, source="stallwatch")
        # the alerts that aggregate (sum/max by instance, source, ...) lose job
        swa = {"instance": node["instance"], "source": "stallwatch"}
        mtime_file = "/var/lib/prometheus/node-exporter/stallwatch.prom"
        tests = []

        # 1. The run as it was, one snapshot before the helper's burst and two
        # after, 15 s apart here: its critical stalls and dropped records alert
        # at once; then it goes quiet (--extend) and its scan
        # timestamp and file age: not scanning, then stale.
        tests.append({
            "name": "a real watch run, then nothing changes",
            "interval": "15s",
            "input_series": series(snaps, extra, "--extend", "50"),
            "alert_rule_test": [
                {"eval_time": "30s", "alertname": "StallwatchCriticalStall",
                 "exp_alerts": [expect(rules, "StallwatchCriticalStall", dict(swa, rule=RULE))]},
                {"eval_time": "30s", "alertname": "StallwatchRecordsDropped",
                 "exp_alerts": [expect(rules, "StallwatchRecordsDropped",
                                       dict(swa, reason="rate-limit", sink=""))]},
                {"eval_time": "30s", "alertname": "StallwatchDown", "exp_alerts": []},
                {"eval_time": "30s", "alertname": "StallwatchNotScanning", "exp_alerts": []},
                {"eval_time": "30s", "alertname": "StallwatchMetricsStale", "exp_alerts": []},
                {"eval_time": "30s", "alertname": "StallwatchZombieMemcgsCritical", "exp_alerts": []},
                {"eval_time": "6m", "alertname": "StallwatchCriticalStall", "exp_alerts": []},
                {"eval_time": "9m", "alertname": "StallwatchNotScanning",
                 "exp_alerts": [expect(rules, "StallwatchNotScanning", swa)]},
                {"eval_time": "9m", "alertname": "StallwatchMetricsStale", "exp_alerts": []},
                {"eval_time": "11m", "alertname": "StallwatchMetricsStale",
                 "exp_alerts": [expect(rules, "StallwatchMetricsStale", dict(node, file=mtime_file))]},
                {"eval_time": "11m", "alertname": "StallwatchRecordsDropped", "exp_alerts": []},
            ],
        })

        # 2. The host goes bad: the scan gauges of the run, with scripted values.
        tests.append({
            "name": "host scan: zombie memcgs, slow memory.stat, negative dentries, slab growth",
            "interval": "1m",
            "input_series": series(
                snaps, extra, "--extend", "120",
                "--set", "stallwatch_memcg_offline=500+100x122",
                "--set", "stallwatch_memcg_stat_read_seconds=0.00003x10 0.02x30 0.2x82",
                "--set", "stallwatch_dentry_negative=100000+50000x122",
                "--set", "stallwatch_scan_timestamp_seconds=0+60x122",
                "--clone", 'stallwatch_records_total{action="host-scan"}|action=slab-growth,rule=slab-growth|0x60 1x62'),
            "alert_rule_test": [
                {"eval_time": "20m", "alertname": "StallwatchZombieMemcgsGrowing", "exp_alerts": []},
                {"eval_time": "40m", "alertname": "StallwatchZombieMemcgsGrowing",
                 "exp_alerts": [expect(rules, "StallwatchZombieMemcgsGrowing", sw, 4500)]},
                {"eval_time": "40m", "alertname": "StallwatchZombieMemcgsCritical", "exp_alerts": []},
                {"eval_time": "110m", "alertname": "StallwatchZombieMemcgsCritical",
                 "exp_alerts": [expect(rules, "StallwatchZombieMemcgsCritical", sw, 11500)]},
                {"eval_time": "15m", "alertname": "StallwatchMemcgStatReadSlow", "exp_alerts": []},
                {"eval_time": "25m", "alertname": "StallwatchMemcgStatReadSlow",
                 "exp_alerts": [expect(rules, "StallwatchMemcgStatReadSlow", sw, 0.02)]},
                {"eval_time": "25m", "alertname": "StallwatchMemcgStatReadCritical", "exp_alerts": []},
                {"eval_time": "50m", "alertname": "StallwatchMemcgStatReadCritical",
                 "exp_alerts": [expect(rules, "StallwatchMemcgStatReadCritical", sw, 0.2)]},
                {"eval_time": "40m", "alertname": "StallwatchNegativeDentries", "exp_alerts": []},
                {"eval_time": "60m", "alertname": "StallwatchNegativeDentries",
                 "exp_alerts": [expect(rules, "StallwatchNegativeDentries", sw, 3.1e6)]},
                {"eval_time": "60m", "alertname": "StallwatchNegativeDentriesCritical", "exp_alerts": []},
                {"eval_time": "30m", "alertname": "StallwatchSlabGrowth", "exp_alerts": []},
                {"eval_time": "70m", "alertname": "StallwatchSlabGrowth",
                 "exp_alerts": [expect(rules, "StallwatchSlabGrowth", swa)]},
                {"eval_time": "70m", "alertname": "StallwatchNotScanning", "exp_alerts": []},
            ],
        })

        # 3. The daemon: warning stalls sustained or brief, missed targets,
        # restarts, then it stops (its file and series gone).
        stalls = f'stallwatch_stalls_total{{rule="{RULE}"}}'
        tests.append({
            "name": "watch: sustained and brief warning stalls, missed targets, restarts, down",
            "interval": "1m",
            "input_series": series(
                snaps, extra, "--extend", "60",
                "--set", "stallwatch_info=1x20 stale",
                "--set", "stallwatch_scan_timestamp_seconds=0+60x20 stale",
                "--set", "stallwatch_start_time_seconds=0 0 60 60 120 120 180 180x13 stale",
                "--set", f"{stalls}=0x20 stale",
                "--clone", f"{stalls}|rule=test-sustained,severity=warning|0+2x20 stale",
                "--clone", f"{stalls}|rule=test-brief,severity=warning|0 5 5x18 stale",
                "--clone", "stallwatch_scans_total|__name__=stallwatch_watch_missed_total,reason=max-targets|0x5 1x15 stale"),
            "alert_rule_test": [
                {"eval_time": "5m", "alertname": "StallwatchStalls", "exp_alerts": []},
                {"eval_time": "18m", "alertname": "StallwatchStalls",
                 "exp_alerts": [expect(rules, "StallwatchStalls", dict(swa, rule="test-sustained"))]},
                {"eval_time": "18m", "alertname": "StallwatchCriticalStall", "exp_alerts": []},
                {"eval_time": "10m", "alertname": "StallwatchWatchMissedTargets",
                 "exp_alerts": [expect(rules, "StallwatchWatchMissedTargets",
                                       dict(swa, reason="max-targets"))]},
                {"eval_time": "3m", "alertname": "StallwatchWatchMissedTargets", "exp_alerts": []},
                {"eval_time": "10m", "alertname": "StallwatchRestarting",
                 "exp_alerts": [expect(rules, "StallwatchRestarting", sw, 3)]},
                {"eval_time": "15m", "alertname": "StallwatchDown", "exp_alerts": []},
                {"eval_time": "15m", "alertname": "StallwatchNotScanning", "exp_alerts": []},
                {"eval_time": "35m", "alertname": "StallwatchDown",
                 "exp_alerts": [expect(rules, "StallwatchDown", node)]},
            ],
        })

        doc = {"rule_files": [rules_path], "evaluation_interval": "15s", "tests": tests}
        with open(out, "w") as f:
            f.write("# Generated by contrib/prometheus/gen-alerts-test.py from a real\n"
                    f"# `stallwatch watch` run on {os.uname().release}; do not edit, run it again.\n"
                    "#   promtool test rules contrib/prometheus/stallwatch-alerts.test.yml\n")
            yaml.safe_dump(doc, f, sort_keys=False, width=120)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
