#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""prom2series - turn metrics files into promtool `input_series`.

    prom2series.py [OPTIONS] SNAPSHOT...

Each SNAPSHOT is a metrics file in the Prometheus text format (what
`stallwatch --metrics-file` writes), copied at one moment of a real run; the
k-th one becomes the sample at test time k * --step. Several files joined
with `+` make one snapshot (their series are merged, the first file's series
win on a clash). The output is the YAML list of a promtool unit test's
`input_series` (https://prometheus.io/docs/prometheus/latest/configuration/unit_testing_rules/),
one entry per series, its values in the order of the snapshots (`_` where a
snapshot lacks the series).

What it changes, so that the series behave in promtool's clock, which starts
at 0:
- Unix times (names ending in `_timestamp_seconds` or `_time_seconds`, and
  node_textfile_mtime_seconds) become seconds since --t0 (default: the mtime
  of the first snapshot's first file, in whole seconds).
- --label K=V adds a label to every series (node_exporter's scrape adds
  `instance` and `job`).
- --textfile-dir DIR adds what node_exporter's textfile collector says about
  the files (node_exporter 1.5): node_textfile_mtime_seconds{file="DIR/NAME"}
  from each snapshot file's mtime, and node_textfile_scrape_error 0.
- --extend N holds every series at its last value for N more steps (the run
  went quiet, or stopped: Unix times no longer advance).
- --set 'SELECTOR=VALUES' replaces the values of the series that SELECTOR
  (`name` or `name{k="v",...}`, a subset of the labels) matches with a
  promtool values expression; at least one series must match, so a scenario
  cannot name a series the run did not write.
- --clone 'SELECTOR|K=V,...|VALUES' adds a series with the labels of the first
  series SELECTOR matches, the changes K=V applied (`__name__=` renames it,
  `K=` removes K), and VALUES; if the run wrote that series too, its values
  are replaced. For series a run did not write but could, with the labels
  the real ones have.

Exit status 0, or 2 with a message for a bad option or a selector that
matched nothing.
"""
import argparse
import os
import re
import sys

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?\s*$')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def die(msg):
    print(f"prom2series: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_labels(text):
    labels, pos = {}, 0
    text = text or ""
    while pos < len(text.rstrip()):
        m = LABEL.match(text, pos)
        if not m:
            die(f"cannot parse labels {{{text}}}")
        labels[m.group(1)] = m.group(2)
        pos = m.end()
    return labels


def parse_selector(sel):
    m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$', sel.strip())
    if not m:
        die(f"bad selector {sel!r}")
    return m.group(1), parse_labels(m.group(2))


def read_file(path):
    """[(name, labels, value, type)] in file order."""
    types, out = {}, []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) >= 4:
                types[parts[2]] = parts[3]
            continue
        if not line.strip() or line.startswith("#"):
            continue
        m = LINE.match(line)
        if not m:
            die(f"{path}: cannot parse {line!r}")
        name = m.group(1)
        base = re.sub(r'_(bucket|sum|count)$', '', name)
        out.append((name, parse_labels(m.group(3)), m.group(4), types.get(name, types.get(base, "untyped"))))
    return out


def is_unix_time(name):
    return name.endswith("_timestamp_seconds") or name.endswith("_time_seconds") \
        or name == "node_textfile_mtime_seconds"


def fmt(v):
    if v in ("+Inf", "-Inf", "NaN"):
        return v
    f = float(v)
    if f == int(f) and abs(f) < 1e15:
        return str(int(f))
    return ("%.9f" % f).rstrip("0").rstrip(".")


def key(name, labels):
    return (name, tuple(sorted(labels.items())))


def series_text(name, labels):
    def esc(v):
        return v.replace("'", "''")
    inner = ",".join(f'{k}="{esc(v)}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def matches(sel, name, labels):
    sname, slabels = sel
    return sname == name and all(labels.get(k) == v for k, v in slabels.items())


def main():
    ap = argparse.ArgumentParser(description="metrics files -> promtool input_series")
    ap.add_argument("snapshots", nargs="+")
    ap.add_argument("--t0", type=float)
    ap.add_argument("--label", action="append", default=[])
    ap.add_argument("--textfile-dir")
    ap.add_argument("--extend", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], dest="sets")
    ap.add_argument("--clone", action="append", default=[])
    ap.add_argument("--drop", help="regex: leave out series whose name matches")
    ap.add_argument("--indent", type=int, default=6)
    a = ap.parse_args()

    extra = dict(kv.split("=", 1) for kv in a.label)
    first = a.snapshots[0].split("+")[0]
    t0 = a.t0 if a.t0 is not None else int(os.stat(first).st_mtime)
    order, values, types = [], {}, {}
    n = len(a.snapshots)
    for i, snap in enumerate(a.snapshots):
        seen = set()
        for path in snap.split("+"):
            rows = read_file(path)
            if a.textfile_dir:
                fname = os.path.basename(path)
                rows.append(("node_textfile_mtime_seconds",
                             {"file": f"{a.textfile_dir.rstrip('/')}/{fname}"},
                             repr(os.stat(path).st_mtime), "gauge"))
                rows.append(("node_textfile_scrape_error", {}, "0", "gauge"))
            for name, labels, v, t in rows:
                if a.drop and re.search(a.drop, name):
                    continue
                k = key(name, labels)
                if k in seen:
                    continue  # the first file of the snapshot wins
                if is_unix_time(name):
                    v = repr(round(float(v) - t0, 3))
                if k not in values:
                    order.append(k)
                    values[k] = [None] * n
                    types[k] = t
                values[k][i] = v
                seen.add(k)

    out = {}
    for k in order:
        toks = ["_" if v is None else fmt(v) for v in values[k]]
        if a.extend:
            toks[-1] = f"{toks[-1]}x{a.extend}"
        out[k] = " ".join(toks)
    for s in a.sets:
        if "}" in s:
            sel, vals = s[:s.rindex("}") + 1], s[s.rindex("}") + 1:]
            if not vals.startswith("="):
                die(f"--set wants SELECTOR=VALUES: {s!r}")
            vals = vals[1:]
        else:
            sel, _, vals = s.partition("=")
        sel = parse_selector(sel)
        hit = [k for k in order if matches(sel, k[0], dict(k[1]))]
        if not hit:
            die(f"--set: no series matches {s.split('=')[0]!r}")
        for k in hit:
            out[k] = vals.strip()
    for c in a.clone:
        parts = c.split("|")
        if len(parts) != 3:
            die(f"--clone wants SELECTOR|K=V,...|VALUES: {c!r}")
        sel = parse_selector(parts[0])
        hit = [k for k in order if matches(sel, k[0], dict(k[1]))]
        if not hit:
            die(f"--clone: no series matches {parts[0]!r}")
        name, labels = hit[0][0], dict(hit[0][1])
        for kv in filter(None, parts[1].split(",")):
            kk, _, vv = kv.partition("=")
            if kk == "__name__":
                name = vv
            else:
                labels[kk] = vv  # K= (empty) removes K
        labels = {kk: vv for kk, vv in labels.items() if vv != ""}
        k = key(name, labels)
        if k not in out:
            order.append(k)
        out[k] = parts[2].strip()

    pad = " " * a.indent
    for k in order:
        labels = dict(k[1], **extra)
        print(f"{pad}- series: '{series_text(k[0], labels)}'")
        print(f"{pad}  values: '{out[k]}'")


if __name__ == "__main__":
    main()
