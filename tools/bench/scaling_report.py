#!/usr/bin/env python3
"""Prints the tables of a tools/bench/scaling.sh run.

    python3 tools/bench/scaling_report.py OUT_DIR

OUT_DIR holds windows.tsv (repeat, gateways, step, file base per line) and
per step <base>.out (loadgen's output) and <base>.windows: `load a b c`,
then per window `window NAME`, a `start` and an `end` line (`key=value`
process ticks: gw, svc, redis, lg, machine, the WAL position, pg as
pid:ticks pairs) and the Redis command statistics at its end.
Standard library only.
"""

import os
import re
import statistics
import sys
from collections import defaultdict

CLK_TCK = os.sysconf("SC_CLK_TCK")
GROUPS = ("gw", "svc", "redis", "pg")
NAMES = {"gw": "gateways", "svc": "services", "redis": "Redis", "pg": "PostgreSQL", "lg": "loadgen"}


def lsn(text):
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def parse_mark(parts):
    m = {"t": float(parts[1])}
    for kv in parts[2:]:
        k, _, v = kv.partition("=")
        if k == "pg":
            m["pg"] = {int(a): int(b) for a, b in (x.split(":") for x in v.split(",") if x)}
        elif k == "wal":
            m["wal"] = lsn(v)
        else:
            m[k] = int(v)
    return m


def parse_windows(path):
    load, windows, current = None, {}, None
    for line in open(path, encoding="utf-8"):
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "load":
            load = float(parts[1])
        elif parts[0] == "window":
            current = windows.setdefault(parts[1], {"redis": {}})
        elif parts[0] in ("start", "end") and current is not None:
            current[parts[0]] = parse_mark(parts)
        elif parts[0] == "redis" and current is not None:
            m = re.match(r"cmdstat_(\S+):calls=(\d+),usec=(\d+)", parts[1])
            if m:
                current["redis"][m[1]] = (int(m[2]), int(m[3]))
    return load, windows


def parse_out(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    r = {}
    if m := re.search(r"deliveries: (\d+) of (\d+) expected \((\d+) lost\)", text):
        r.update(deliveries=int(m[1]), lost=int(m[3]))
    if m := re.search(r"sent (\d+) messages in ([\d.]+)s", text):
        r.update(sent=int(m[1]), send_s=float(m[2]))
    if m := re.search(r"p99 ([\d.]+) ms", text):
        r["p99"] = float(m[1])
    if m := re.search(r"setting up \d+ accounts, (\d+) rooms, (\d+) clients", text):
        r.update(rooms=int(m[1]), clients=int(m[2]))
    return r


def window_figures(w):
    s, e = w["start"], w["end"]
    f = {"secs": e["t"] - s["t"]}
    for k in ("gw", "svc", "redis", "lg", "machine"):
        f[k] = (e[k] - s[k]) / CLK_TCK
    f["pg"] = sum(t - s["pg"].get(p, 0) for p, t in e["pg"].items()) / CLK_TCK
    f["wal"] = e["wal"] - s["wal"]
    f["gwrss"] = e.get("gwrss", 0) / 1024
    f["gwcs"] = e.get("gwcs", 0) - s.get("gwcs", 0)
    f["redis_cmds"] = w["redis"]
    return f


def spread(values, fmt="{:.2f}"):
    if not values:
        return "–"
    mean = statistics.mean(values)
    if len(values) == 1:
        return fmt.format(mean)
    return f"{fmt.format(mean)} ({fmt.format(min(values))}–{fmt.format(max(values))})"

SATURATED = 1.8


def summary(sends, which):
    print(f"## CPU µs per delivery (process CPU time / deliveries), {which}: mean (min–max)\n")
    print("| workload | gateways | runs | deliveries/s | p99 ms | gateways | services | Redis | PostgreSQL"
          " | all servers | loadgen | machine busy (cores) | gateway switches per 1k deliveries | WAL bytes/msg"
          " | load avg |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    by = defaultdict(list)
    for r in sends:
        by[(r["step"], r["n"])].append(r)
    for (step, n), rs in sorted(by.items()):
        per = {k: [r[k] * 1e6 / r["deliveries"] for r in rs] for k in (*GROUPS, "lg")}
        total = [sum(r[k] for k in GROUPS) * 1e6 / r["deliveries"] for r in rs]
        print(
            f"| {step} | {n} | {len(rs)} | {statistics.mean(r['deliveries'] / r['send_s'] for r in rs):,.0f}"
            f" | {statistics.median(r['p99'] for r in rs):.1f}"
            + "".join(f" | {spread(per[k])}" for k in GROUPS)
            + f" | {spread(total)} | {spread(per['lg'])}"
            + f" | {spread([r['busy'] for r in rs])}"
            + f" | {spread([r['gwcs'] * 1000 / r['deliveries'] for r in rs], '{:.0f}')}"
            + f" | {spread([r['wal'] / r['sent'] for r in rs], '{:,.0f}')}"
            + f" | {spread([r['load'] for r in rs], '{:.1f}')} |"
        )
    print()


def fit_receipts(sends):
    """Gateway CPU per message against gateways per message (small rooms, spread)."""
    pts = [(r["n"], (r["gw"] * 1e6) / r["sent"]) for r in sends if r["step"] == "small-rooms"]
    if len({x for x, _ in pts}) < 2:
        return
    mx = statistics.mean(x for x, _ in pts)
    my = statistics.mean(y for _, y in pts)
    slope = sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)
    print("Small rooms, gateway CPU per message = a + b × (gateways the room spans), least squares over"
          f" {len(pts)} windows: a = {my - slope * mx:.0f} µs, b = {slope:.1f} µs per gateway.\n")


def main(out):
    runs = []
    for line in open(os.path.join(out, "windows.tsv"), encoding="utf-8"):
        rep, n, step, base = line.rstrip("\n").split("\t")
        load, windows = parse_windows(base + ".windows")
        result = parse_out(base + ".out")
        for name, w in windows.items():
            if "start" in w and "end" in w:
                runs.append(
                    dict(rep=int(rep), n=int(n), step=step, window=name, load=load, **result, **window_figures(w))
                )

    sends = [r for r in runs if r["window"] == "send" and r.get("deliveries")]
    for r in sends:
        r["busy"] = r["machine"] / r["secs"]
    summary(sends, "all send windows")
    calm = [r for r in sends if r["busy"] < SATURATED]
    summary(calm, f"only the windows in which the whole machine was below {SATURATED} of its 2 cores busy")
    fit_receipts(calm)

    print("\n## Every send window\n")
    print("| workload | gateways | repeat | deliveries | lost | p99 ms | gateways µs | services µs | Redis µs"
          " | PostgreSQL µs | machine busy (cores) | load avg | gateway switches per 1k deliveries"
          " | PUBLISH calls (µs each) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in sorted(sends, key=lambda r: (r["step"], r["n"], r["rep"])):
        d = r["deliveries"]
        calls, usec = r["redis_cmds"].get("publish", (0, 0))
        print(
            f"| {r['step']} | {r['n']} | {r['rep']} | {d:,} | {r['lost']} | {r['p99']:.1f}"
            + "".join(f" | {r[k] * 1e6 / d:.2f}" for k in GROUPS)
            + f" | {r['busy']:.2f} | {r['load']:.1f} | {r['gwcs'] * 1000 / d:.0f}"
            + f" | {calls:,} ({usec / max(calls, 1):.1f}) |"
        )

    quiet = [r for r in runs if r["window"] == "quiet"]
    if quiet:
        print("\n## Quiet windows: CPU ms per second, nobody sending: mean (min–max)\n")
        print("| workload | gateways | clients | rooms followed | runs | gateways | services | Redis | PostgreSQL"
              " | gateways' RSS, MiB | Redis calls/s (µs each) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        byq = defaultdict(list)
        for r in quiet:
            byq[(r["step"], r["n"])].append(r)
        for (step, n), rs in sorted(byq.items()):
            r0 = rs[0]
            # One room: every gateway follows it; one client per room: each room on one gateway.
            follows = n if r0.get("rooms") == 1 else r0.get("rooms", 0)
            cmds = defaultdict(lambda: [0, 0, 0.0])
            for r in rs:
                for c, (calls, usec) in r["redis_cmds"].items():
                    cmds[c][0] += calls
                    cmds[c][1] += usec
                    cmds[c][2] += r["secs"]
            top = sorted(cmds.items(), key=lambda kv: -kv[1][0])[:4]
            calls = ", ".join(f"{c} {v[0] / v[2]:.0f} ({v[1] / max(v[0], 1):.1f})" for c, v in top)
            print(
                f"| {step} | {n} | {r0.get('clients', 0):,} | {follows:,} | {len(rs)}"
                + "".join(f" | {spread([r[k] * 1e3 / r['secs'] for r in rs], '{:.1f}')}" for k in GROUPS)
                + f" | {spread([r['gwrss'] for r in rs], '{:.0f}')} | {calls} |"
            )


if __name__ == "__main__":
    main(sys.argv[1])
