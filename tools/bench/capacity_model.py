#!/usr/bin/env python3
"""The capacity model of docs/SCALING.md, as arithmetic that can be rerun.

    python3 tools/bench/capacity_model.py            # the tables in SCALING.md
    python3 tools/bench/capacity_model.py --explain  # every intermediate figure

MEASURED holds per-unit costs from docs/BENCHMARKS.md ("Scale-out on one
machine" and the sections it cites), ASSUMED the workload. Change either
and rerun: every figure in SCALING.md's tables comes from here. CPU is
process time in µs of one core of the 2-vCPU benchmark machine.
Standard library only.
"""

import math
import sys

MEASURED = {
    # Gateway CPU per frame written to a socket, big room: scaling.sh
    # one-room windows below 1.8 busy cores, mean over 1, 2 and 4 gateways
    # (7.38, 7.49 and 7.50).
    "gw_us_per_delivery": 7.4,
    # Gateway CPU per room event a gateway takes from Redis (decode, JSON,
    # the broadcast), whatever the number of its sockets in the room: slope
    # of the small-rooms windows, gateway CPU per message against gateways
    # (least squares over 20 windows: 424 µs + 69 µs per gateway).
    "gw_us_per_receipt": 70.0,
    # Gateway CPU per client event it turns into a gRPC call (send_message:
    # parse, call, ack): the intercept of that fit, 424 µs, less 20
    # deliveries. Typing and mark_read are charged the same.
    "gw_us_per_call": 270.0,
    # Gateway CPU per connected socket per second, nobody sending (pings,
    # timers, its share of the presence refresh): one-room quiet windows.
    "gw_us_per_conn_s": 1.5,
    # Services (`chat all`) CPU per stored message at 625 msg/s over 50
    # rooms (17.4-18.1 µs per delivery, 20 deliveries a message; small
    # batches); typing and mark_read calls charged half.
    "svc_us_per_message": 350.0,
    # Services CPU per connection per second: the presence refresh, one
    # Redis round trip per connection every 10 s (one-room quiet windows).
    "svc_us_per_conn_s": 3.0,
    # PostgreSQL CPU per stored message: 380 µs at 625 msg/s over 50 rooms
    # (19.1-19.3 µs per delivery; batches of one or two), 71 µs in the
    # persist benchmark (9,101/s, large batches). Below 5,000 msg/s per
    # primary the first applies.
    "pg_us_per_message_small_batches": 380.0,
    "pg_us_per_message_batched": 71.0,
    # Redis process CPU per PUBLISH and per subscribing gateway it is
    # written to (small-rooms windows: 50, 59 and 71 µs per message with a
    # room on 1, 2 and 4 gateways).
    "redis_us_per_publish": 43.0,
    "redis_us_per_subscriber": 7.0,
    # Redis CPU per presence script (13 µs in INFO commandstats, plus the
    # round trip's I/O): quiet windows.
    "redis_us_per_presence_script": 20.0,
    # One reconcile check (ListMessages for one followed room, two SQL
    # statements): quiet-rooms less one-room quiet windows, per check.
    "reconcile_us_gw": 120.0,
    "reconcile_us_svc": 300.0,
    "reconcile_us_pg": 170.0,
    # A history read at join (ListMessages of 50 and the room's marks):
    # charged as a reconcile check with rows.
    "history_us_pg": 300.0,
    # Memory per connection: RSS slope 7.5 KiB (1,000 -> 18,000 idle) to
    # 10.7 KiB (1,000 -> 10,000); planned at 16 KiB for a socket following
    # 10 rooms, plus 8 KiB of kernel socket buffers outside the RSS.
    "gw_kib_per_conn": 16.0,
    "kernel_kib_per_conn": 8.0,
    "gw_base_mib": 60.0,
    # PostgreSQL bytes per stored message (heap, TOAST, 5 indexes;
    # tools/bench/rowsize.sh, 1,000,000 messages of 83 bytes of text) and WAL
    # per message (one per statement: 4,088 bytes with 0.47 full-page
    # images per message, 1,326 without).
    "pg_bytes_per_message": 563.0,
    "pg_wal_per_message": 4088.0,
    "pg_wal_per_small_write": 300.0,
}

ASSUMED = {
    "messages_per_user_hour": 12.0,  # at the peak hour, per connected user
    # Message-weighted room classes: (share of messages, connected members
    # following the room, the sender included).
    "rooms": [(0.60, 2.5), (0.30, 25.0), (0.09, 250.0), (0.01, 2500.0)],
    "typing_events_per_message": 2,  # announced: the start, and the stop the send causes
    "typing_calls_per_message": 3,  # sent by the web app: start, a renewal after 3 s, stop
    "mention_share": 0.05,  # messages that mention someone
    "rooms_per_connection": 10,  # the web app follows every room it is in
    "viewing": 0.10,  # share of a message's audience viewing its room: each sends mark_read
    "session_hours": 2.0,  # mean time connected: 2N/S online and offline transitions
    "presence_audience": 100,  # after scoping: connected people who share a room with the user
    "daily_over_peak_hour": 8.0,  # a day holds 8 peak hours' worth of messages
    "conns_per_gateway": 50_000,
    "gateway_cores": 2,
    "cpu_target": 0.5,  # every process planned at 50% of its cores at the peak
    "redis_shard_target": 0.5,  # of one core: a shard runs its commands on one thread
    "messaging_replicas": 3,  # the prod overlay's minimum; each one sweeps presence
    "primary_msgs_batched": 5000,  # above this per primary, batches are large
    "retention_days": 90,  # kept in PostgreSQL; older partitions are archived
    # What one PostgreSQL primary is planned for: WAL MB/s, hot TB, busy cores.
    "primary_wal_mb_s": 25.0,
    "primary_hot_tb": 8.0,
    "primary_cores": 16.0,
}

SIZES = (100_000, 1_000_000, 10_000_000)


def spread(fanout, gateways):
    """Expected gateways holding at least one of `fanout` members placed at random."""
    return gateways * (1 - (1 - 1 / gateways) ** fanout)


def model(n, m=MEASURED, a=ASSUMED):
    r = {"n": n}
    msgs = n * a["messages_per_user_hour"] / 3600
    ef = sum(s * f for s, f in a["rooms"])
    ef2 = sum(s * f * f for s, f in a["rooms"])
    transitions = 2 * n / (a["session_hours"] * 3600)
    marks = msgs * a["viewing"] * ef
    mentions = msgs * a["mention_share"]
    # Room events per message once fixed: the message, typing start and stop,
    # and one read_updated per room and second carrying every position that
    # moved (mentions ride on the room's channel too).
    events = 1 + a["typing_events_per_message"] + 1
    frames = msgs * (ef + a["typing_events_per_message"] * (ef - 1) + ef) + transitions * a["presence_audience"]
    calls = msgs * (1 + a["typing_calls_per_message"]) + marks
    r.update(msgs=msgs, ef=ef, ef2=ef2, transitions=transitions, marks=marks, mentions=mentions, frames=frames,
             calls=calls)

    # Gateways: enough for the connections, then enough for the CPU; how
    # many gateways a room spans depends on how many there are, so iterate.
    g = max(2, math.ceil(n / a["conns_per_gateway"]))
    while True:
        es = sum(s * spread(f, g) for s, f in a["rooms"])
        receipts = msgs * events * es + transitions * min(g, a["presence_audience"])
        parts = {
            "frames": frames * m["gw_us_per_delivery"] / 1e6,
            "receipts": receipts * m["gw_us_per_receipt"] / 1e6,
            "calls": calls * m["gw_us_per_call"] / 1e6,
            "connections": n * m["gw_us_per_conn_s"] / 1e6,
        }
        gw_cpu = sum(parts.values())
        if gw_cpu <= g * a["gateway_cores"] * a["cpu_target"]:
            break
        g += 1
    r.update(gateways=g, es=es, receipts=receipts, gw_cpu=gw_cpu, gw_parts=parts)
    r["gw_rss_gib"] = (n * m["gw_kib_per_conn"] / 1024 + g * m["gw_base_mib"]) / 1024
    r["gw_node_gib"] = r["gw_rss_gib"] + n * m["kernel_kib_per_conn"] / 1024**2

    # Redis: publishes and the gateways each is written to; presence
    # refreshes (every connection every 10 s); sweeps of lapsed connections
    # only, once fixed (near nothing).
    publishes = msgs * events + transitions
    redis_pubsub = (publishes * m["redis_us_per_publish"] + receipts * m["redis_us_per_subscriber"]) / 1e6
    redis_presence = (n / 10) * m["redis_us_per_presence_script"] / 1e6
    redis_cpu = redis_pubsub + redis_presence
    r.update(publishes=publishes, redis_pubsub=redis_pubsub, redis_presence=redis_presence, redis_cpu=redis_cpu,
             shards=max(1, math.ceil(redis_cpu / a["redis_shard_target"])))
    # Memory: per (gateway, room) subscription and per connection's presence entries.
    subs = min(n * a["rooms_per_connection"], n * a["rooms_per_connection"] * es / ef)
    r["redis_gib"] = (subs * 120 + n * 150) / 1024**3

    # Services (messaging carries the load).
    svc_cpu = (
        msgs * m["svc_us_per_message"]
        + (msgs * a["typing_calls_per_message"] + marks) * m["svc_us_per_message"] / 2
        + n * m["svc_us_per_conn_s"]
    ) / 1e6
    r["svc_cpu"] = svc_cpu

    # PostgreSQL: inserts, read-mark upserts, presence status updates;
    # history reads when sessions start (each follows its 10 rooms). Rooms
    # are split over primaries until each is within its WAL, size and CPU plan.
    small_writes = marks + transitions
    history = transitions / 2 * a["rooms_per_connection"]
    per_day = msgs * 3600 * a["daily_over_peak_hour"]
    gb_per_day = per_day * m["pg_bytes_per_message"] / 1e9
    hot_tb = gb_per_day * a["retention_days"] / 1000
    wal = (msgs * m["pg_wal_per_message"] + small_writes * m["pg_wal_per_small_write"]) / 1e6
    primaries = 1
    while True:
        pg_msg_us = (
            m["pg_us_per_message_batched"]
            if msgs / primaries > a["primary_msgs_batched"]
            else m["pg_us_per_message_small_batches"]
        )
        write_cpu = (msgs * pg_msg_us + small_writes * pg_msg_us / 2) / 1e6
        read_cpu = history * m["history_us_pg"] / 1e6
        if (
            wal / primaries <= a["primary_wal_mb_s"]
            and hot_tb / primaries <= a["primary_hot_tb"]
            and write_cpu / primaries <= a["primary_cores"] * a["cpu_target"]
        ):
            break
        primaries += 1
    r.update(
        pg_writes=msgs + small_writes,
        pg_write_cpu=write_cpu,
        history=history,
        pg_read_cpu=read_cpu,
        per_day=per_day,
        gb_per_day=gb_per_day,
        hot_tb=hot_tb,
        wal_mb_s=wal,
        pg_msg_us=pg_msg_us,
        primaries=primaries,
        # RAM: a day of each primary's growth stays cached, 16 GB at least.
        pg_ram_gb=max(16, 2 ** math.ceil(math.log2(max(1.0, gb_per_day / primaries)))),
    )

    # The code as it stands (866bd4c): what grows faster than the users.
    follows = n * a["rooms_per_connection"]
    r["now_presence_frames"] = transitions * n  # user_status_changed to every socket
    r["now_read_frames"] = msgs * a["viewing"] * ef2  # read_updated to the room's sockets, per mark
    r["now_mention_receipts"] = mentions * g  # the global mentions channel reaches every gateway
    r["now_reconcile_checks"] = follows / 5
    r["now_reconcile_cpu"] = follows / 5 * (m["reconcile_us_gw"] + m["reconcile_us_svc"] + m["reconcile_us_pg"]) / 1e6
    r["now_sweep_scripts"] = n / 7.5 * a["messaging_replicas"]
    r["now_sweep_cpu"] = r["now_sweep_scripts"] * m["redis_us_per_presence_script"] / 1e6
    r["now_presence_gw_cpu"] = r["now_presence_frames"] * m["gw_us_per_delivery"] / 1e6
    r["now_read_gw_cpu"] = r["now_read_frames"] * m["gw_us_per_delivery"] / 1e6
    r["now_mention_gw_cpu"] = r["now_mention_receipts"] * m["gw_us_per_receipt"] / 1e6
    return r


def fmt(x):
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.0f}"
    if x >= 1:
        return f"{x:.1f}"
    return f"{x:.2f}"


def busy(r):
    return r["gw_cpu"] + r["svc_cpu"] + r["redis_cpu"] + r["pg_write_cpu"] + r["pg_read_cpu"]


def table(rs, rows):
    print("| | " + " | ".join(f"{r['n']:,} users" for r in rs) + " |")
    print("|---|" + "---:|" * len(rs))
    for name, f in rows:
        print(f"| {name} | " + " | ".join(f(r) for r in rs) + " |")
    print()


def main():
    rs = [model(n) for n in SIZES]
    if "--explain" in sys.argv:
        for r in rs:
            print(f"N = {r['n']:,}")
            for k, v in r.items():
                print(f"  {k}: {v}")
        print()
    table(rs, [
        ("messages/s", lambda r: fmt(r["msgs"])),
        ("frames written to sockets/s", lambda r: fmt(r["frames"])),
        ("client events → gRPC calls/s", lambda r: fmt(r["calls"])),
        ("gateways a message's room spans (mean)", lambda r: fmt(r["es"])),
        ("room events taken from Redis by gateways/s", lambda r: fmt(r["receipts"])),
        ("**gateways** (2 vCPU, ≤ 50k connections, ≤ 50% CPU)", lambda r: f"**{r['gateways']}**"),
        ("gateway CPU, cores: frames + receipts + calls + connections", lambda r: fmt(r["gw_cpu"]) + " = " + " + ".join(
            fmt(v) for v in r["gw_parts"].values())),
        ("gateway memory, GiB: RSS (node, with kernel buffers)",
         lambda r: f"{fmt(r['gw_rss_gib'])} ({fmt(r['gw_node_gib'])})"),
        ("Redis publishes/s", lambda r: fmt(r["publishes"])),
        ("Redis CPU, cores: pub/sub + presence", lambda r: f"{fmt(r['redis_cpu'])} = {fmt(r['redis_pubsub'])} + "
                                                          f"{fmt(r['redis_presence'])}"),
        ("**Redis shards** (≤ 0.5 core each)", lambda r: f"**{r['shards']}**"),
        ("Redis memory, GiB", lambda r: fmt(r["redis_gib"])),
        ("messaging CPU, cores", lambda r: fmt(r["svc_cpu"])),
        ("**PostgreSQL writes/s**: messages + read marks + presence", lambda r: f"**{fmt(r['pg_writes'])}** = "
                                                                             f"{fmt(r['msgs'])} + {fmt(r['marks'])} + {fmt(r['transitions'])}"),
        ("PostgreSQL CPU for writes, cores", lambda r: fmt(r["pg_write_cpu"])),
        ("history reads/s at session start (10 rooms each)", lambda r: fmt(r["history"])),
        ("PostgreSQL CPU for those reads, cores", lambda r: fmt(r["pg_read_cpu"])),
        ("WAL, MB/s", lambda r: fmt(r["wal_mb_s"])),
        ("**messages stored per day**", lambda r: f"**{fmt(r['per_day'] / 1e6)} M**"),
        ("**PostgreSQL growth, GB/day (TB/year)**",
         lambda r: f"**{fmt(r['gb_per_day'])}** ({fmt(r['gb_per_day'] * 365 / 1000)})"),
        ("hot data at 90 days' retention, TB", lambda r: fmt(r["hot_tb"])),
        ("**PostgreSQL primaries** (≤ 25 MB/s WAL, ≤ 8 TB, ≤ 8 busy cores each), RAM each",
         lambda r: f"**{r['primaries']}**, {r['pg_ram_gb']} GB"),
        ("**busy cores at the peak** (gateways + messaging + Redis + PostgreSQL)",
         lambda r: f"**{fmt(busy(r))}**"),
        ("**vCPU to provision** (busy at 50%)", lambda r: f"**{fmt(2 * busy(r))}**"),
        ("**memory**: gateway nodes + Redis + PostgreSQL RAM, GiB",
         lambda r: f"**{fmt(r['gw_node_gib'] + r['redis_gib'] + r['primaries'] * r['pg_ram_gb'])}**"),
    ])
    print("As the code stands (866bd4c), what grows faster than the users:\n")
    table(rs, [
        ("presence: frames/s (user_status_changed to every socket)", lambda r: fmt(r["now_presence_frames"])),
        ("… gateway cores", lambda r: fmt(r["now_presence_gw_cpu"])),
        ("read positions: frames/s (read_updated to the whole room per mark)", lambda r: fmt(r["now_read_frames"])),
        ("… gateway cores", lambda r: fmt(r["now_read_gw_cpu"])),
        ("reconcile: checks/s asked for (every followed room every 5 s)", lambda r: fmt(r["now_reconcile_checks"])),
        ("… cores (gateways + messaging + PostgreSQL)", lambda r: fmt(r["now_reconcile_cpu"])),
        ("presence sweep: Redis scripts/s (every online user, by every replica, every 7.5 s)",
         lambda r: fmt(r["now_sweep_scripts"])),
        ("… Redis cores", lambda r: fmt(r["now_sweep_cpu"])),
        ("mentions on the global channel: gateway receipts/s", lambda r: fmt(r["now_mention_receipts"])),
        ("… gateway cores", lambda r: fmt(r["now_mention_gw_cpu"])),
    ])


if __name__ == "__main__":
    main()
