#!/usr/bin/env python3
"""Prints the side-by-side tables of a tools/bench/run.sh run.

    python3 tools/bench/report.py OUT_DIR

OUT_DIR holds steps.tsv (stack, step, kind, label per line), and per step
<stack>.<step>.out (loadgen's output, then `rc=N`) and, for fan-out steps,
<stack>.<step>.cpu (`start|end <server ticks> <machine busy ticks> <unix s>`,
`infra-start|infra-end pid:ticks …`, `lgstart <loadgen ticks>`, `lgtotal
<bash times>`).
Standard library only.
"""

import os
import re
import sys

STACKS = ("ours", "node")
NAMES = {"ours": "this project", "node": "Node"}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def parse_out(path):
    r = {}
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except FileNotFoundError:
        return {"rc": None}
    m = re.search(r"^rc=(\d+)", text, re.M)
    r["rc"] = int(m.group(1)) if m else None
    if m := re.search(r"sent (\d+) messages in ([\d.]+)s \((\d+)/s\), acked (\d+)(?:, refused (\d+))?", text):
        r.update(sent=int(m[1]), acked=int(m[4]), rate=int(m[3]), refused=int(m[5] or 0))
    if m := re.search(r"deliveries: (\d+) of (\d+) expected \((\d+) lost\), (\d+)/s", text):
        r.update(received=int(m[1]), expected=int(m[2]), lost=int(m[3]), dps=int(m[4]))
    if m := re.search(r"connections dropped during the run: (\d+)", text):
        r["dropped"] = int(m[1])
    if m := re.search(r"p50 ([\d.]+) ms, p99 ([\d.]+) ms, max ([\d.]+) ms", text):
        r.update(p50=float(m[1]), p99=float(m[2]), max=float(m[3]))
    if m := re.search(r"gateway RSS: (\d+) KiB before, (\d+) KiB with (\d+) more", text):
        r.update(rss_before=int(m[1]), rss_after=int(m[2]), conns=int(m[3]))
    if m := re.search(r"per idle connection: ([\d.]+) KiB", text):
        r["per_conn"] = float(m[1])
    if m := re.search(r"persisted (\d+) messages over (\d+) rooms in ([\d.]+)s: (\d+)/s \((\d+) failed\)", text):
        r.update(persisted=int(m[1]), pps=int(m[4]), failed=int(m[5]))
    return r


def unacked(r):
    """Sends that never got an ack (neither stored nor refused in time)."""
    if r.get("sent") is None or r.get("acked") is None:
        return None
    return max(r["sent"] - r["acked"], 0)


def seconds(bash_time):
    """`1m2.345s` (bash `times`) in seconds."""
    m = re.fullmatch(r"(\d+)m([\d.]+)s", bash_time)
    return int(m[1]) * 60 + float(m[2]) if m else 0.0


def parse_cpu(path, r):
    try:
        lines = {}
        for p in (l.split() for l in open(path)):
            if p and p[0] in ("start", "end") and len(p) == 4:
                lines[p[0]] = [float(x) for x in p[1:]]
            elif p and p[0] in ("infra-start", "infra-end"):
                lines[p[0]] = dict((int(a), int(b)) for a, b in (x.split(":") for x in p[1:]))
            elif p and p[0] == "lgstart" and len(p) == 2:
                lines["lgstart"] = float(p[1]) / CLK_TCK
            elif p and p[0] == "lgtotal" and len(p) == 3:
                lines["lgtotal"] = seconds(p[1]) + seconds(p[2])
    except FileNotFoundError:
        return
    if "start" in lines and "end" in lines:
        s, e = lines["start"], lines["end"]
        r["server_cpu_s"] = (e[0] - s[0]) / CLK_TCK
        # Per process: a worker that started in the window counts whole, one
        # that ended in it is lost (PostgreSQL's autovacuum workers come and go).
        i0, i1 = lines.get("infra-start", {}), lines.get("infra-end", {})
        r["infra_cpu_s"] = sum(t - i0.get(pid, 0) for pid, t in i1.items()) / CLK_TCK
        r["window_s"] = e[2] - s[2]
        r["machine_cores"] = (e[1] - s[1]) / CLK_TCK / r["window_s"]
        r["server_cores"] = r["server_cpu_s"] / r["window_s"]
        r["infra_cores"] = r["infra_cpu_s"] / r["window_s"]
        if "lgstart" in lines and "lgtotal" in lines:
            r["loadgen_cores"] = (lines["lgtotal"] - lines["lgstart"]) / r["window_s"]
            r["other_cores"] = max(
                0.0, r["machine_cores"] - r["server_cores"] - r["infra_cores"] - r["loadgen_cores"])
        if r.get("received"):
            r["us_per_delivery"] = r["server_cpu_s"] * 1e6 / r["received"]
            r["infra_us_per_delivery"] = r["infra_cpu_s"] * 1e6 / r["received"]


def fmt(v, spec="{:,.0f}", none="–"):
    return none if v is None else spec.format(v)


def table(header, rows, align):
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join((":--" if a == "l" else "--:") for a in align) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


def main():
    out = sys.argv[1]
    steps = []  # (stack, step, kind, label)
    results = {}
    for line in open(os.path.join(out, "steps.tsv")):
        stack, step, kind, label = line.rstrip("\n").split("\t")
        r = parse_out(os.path.join(out, f"{stack}.{step}.out"))
        parse_cpu(os.path.join(out, f"{stack}.{step}.cpu"), r)
        steps.append((stack, step, kind, label))
        results[(stack, step)] = r

    # ---- every step ----
    print("## Every step\n")
    rows = []
    for stack, step, kind, label in steps:
        r = results[(stack, step)]
        ok = "" if r.get("rc") == 0 else f" (loadgen rc={r.get('rc')})"
        if kind == "fanout":
            rows.append([
                NAMES[stack], label + ok, fmt(r.get("dps")),
                f"{fmt(r.get('received'))} / {fmt(r.get('expected'))}",
                f"{fmt(r.get('lost'))} / {fmt(r.get('refused'))} / {fmt(unacked(r))}", fmt(r.get("dropped")),
                fmt(r.get("p50"), "{:.1f}"), fmt(r.get("p99"), "{:.1f}"), fmt(r.get("max"), "{:.1f}"),
                fmt(r.get("server_cpu_s"), "{:.2f}"), fmt(r.get("us_per_delivery"), "{:.2f}"),
                fmt(r.get("infra_us_per_delivery"), "{:.2f}"),
                " / ".join(fmt(r.get(k), "{:.2f}") for k in
                           ("server_cores", "infra_cores", "loadgen_cores", "other_cores", "machine_cores")),
            ])
        elif kind == "idle":
            rows.append([
                NAMES[stack], label + ok,
                f"RSS {fmt(r.get('rss_before'))} → {fmt(r.get('rss_after'))} KiB",
                "", "", "", "", "", "", "", f"**{fmt(r.get('per_conn'), '{:.1f}')} KiB/conn**", "", "",
            ])
        elif kind == "persist":
            rows.append([
                NAMES[stack], label + ok, f"{fmt(r.get('pps'))} persisted/s",
                "", fmt(r.get("failed")), "", "", "", "", "", "", "", "",
            ])
    table(
        ["stack", "step", "deliveries/s", "received / expected", "lost / refused / unacked sends", "dropped", "p50 ms", "p99 ms",
         "max ms", "server CPU s", "server CPU µs/delivery", "PG+Redis CPU µs/delivery",
         "cores: server / PG+Redis / loadgen / other / machine"],
        rows, "llrrrrrrrrrrr",
    )

    # ---- side by side ----
    def get(stack, step, key):
        r = results.get((stack, step))
        if r is None or r.get("rc") != 0:
            return None
        return r.get(key)

    def labels(kind):
        seen = []
        for stack, step, k, label in steps:
            if k == kind and (step, label) not in seen:
                seen.append((step, label))
        return seen

    summary = []  # (figure, ours, node, lower_is_better, spec)
    for step, label in labels("idle"):
        summary.append((f"RSS per idle connection, KiB ({label})",
                        get("ours", step, "per_conn"), get("node", step, "per_conn"), True, "{:.1f}"))
    idle = labels("idle")
    if len(idle) > 1:
        # The slope: extra RSS per extra connection from the smallest to the largest count.
        def slope(stack):
            lo, hi = (idle[0][0], idle[-1][0])
            if None in (get(stack, lo, "rss_after"), get(stack, hi, "rss_after")):
                return None
            d_lo = get(stack, lo, "rss_after") - get(stack, lo, "rss_before")
            d_hi = get(stack, hi, "rss_after") - get(stack, hi, "rss_before")
            return (d_hi - d_lo) / (get(stack, hi, "conns") - get(stack, lo, "conns"))
        first, last = (lbl.split(": ")[1].split(" ")[0] for lbl in (idle[0][1], idle[-1][1]))
        summary.append((f"RSS slope, KiB per extra idle connection ({first} → {last})",
                        slope("ours"), slope("node"), True, "{:.1f}"))
    for step, label in labels("fanout"):
        if step.startswith("fanout-"):
            summary.append((f"p99 ms, {label}", get("ours", step, "p99"), get("node", step, "p99"), True, "{:.1f}"))
    best = {}
    for stack in STACKS:
        cands = [
            (get(stack, step, "dps"), label)
            for step, label in labels("fanout")
            if get(stack, step, "lost") == 0 and get(stack, step, "dropped") == 0 and get(stack, step, "dps")
            and not get(stack, step, "refused") and not unacked(results[(stack, step)])
        ]
        best[stack] = max(cands) if cands else (None, "")
    summary.append(("highest tested deliveries/s with zero loss", best["ours"][0], best["node"][0], False, "{:,.0f}"))
    for step, label in labels("fanout"):
        summary.append((f"server CPU µs per delivery, {label}",
                        get("ours", step, "us_per_delivery"), get("node", step, "us_per_delivery"), True, "{:.2f}"))
    for step, label in labels("persist"):
        summary.append((f"persisted msg/s, {label}", get("ours", step, "pps"), get("node", step, "pps"), False, "{:,.0f}"))
    for step, label in labels("fanout"):
        if not step.startswith("fanout-"):
            summary.append((f"p99 ms, {label}", get("ours", step, "p99"), get("node", step, "p99"), True, "{:.1f}"))

    print("## Side by side\n")
    rows = []
    for figure, ours, node, lower, spec in summary:
        ratio = node / ours if ours and node is not None else None
        if ratio is None:
            better = "–"
        elif abs(ratio - 1) < 0.05:
            better = "≈"
        else:
            better = "this project" if (ratio > 1) == lower else "Node"
        rows.append([figure, fmt(ours, spec), fmt(node, spec), fmt(ratio, "{:.2f}×"), better])
    table(["figure", "this project", "Node", "ratio (Node ÷ this project)", "better"], rows, "lrrrl")
    for stack in STACKS:
        if best[stack][0]:
            print(f"- highest zero-loss step, {NAMES[stack]}: {best[stack][1]}")
    print("- server CPU = user+system ticks of the stack's own server processes (ours: `chat all` + `chat gateway`;"
          " Node: both `node server.js`), from the moment every client has joined until loadgen exits"
          " (1 s pause, the send window, the delivery tail), divided by deliveries.")
    print("- PostgreSQL and Redis are shared infrastructure (the same servers for both stacks) and are not in"
          " server CPU; their CPU per delivery is in the last column of the step table.")
    print("- cores: average cores busy over the same window: the stack's servers, PostgreSQL + Redis, loadgen,"
          " everything else (the machine's busy time less those three), and the whole machine, which has "
          + str(os.cpu_count()) + " cores.")
    noisy = [(NAMES[st], label, results[(st, step)]["other_cores"]) for st, step, kind, label in steps
             if results[(st, step)].get("other_cores", 0) > 0.15]
    for stack, label, cores in noisy:
        print(f"- WARNING: other processes kept {cores:.2f} cores busy during '{label}' on {stack}:"
              " that step's figures are skewed.")
    print("- '–': not measured for that stack (persist drives gRPC SendMessage, which only this project has)"
          " or the step failed (see the step table and the raw log).")


if __name__ == "__main__":
    main()
