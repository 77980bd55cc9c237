#!/usr/bin/env python3
"""Heap bytes per idle connection, by allocating site, from two heaptrack
profiles of gateway B taken with different numbers of idle connections
(fixed costs cancel in the difference). See docs/BENCHMARKS.md, "Idle
memory", for how the profiles are taken.

    heaptrack_print -f ht.zst -t 0 -m 0 -l 1 -p 0 -a 0 -T 0 -n 100000 \\
        | c++filt > leaks-N.txt                    (for each of the two profiles)
    python3 tools/bench/heap_sites.py leaks-2000.txt 2000 leaks-5000.txt 5000

The input is heaptrack_print's list of leaked allocations (what was still
allocated when the profiled gateway was killed with every connection open),
one backtrace each, innermost frame first. Each backtrace goes to the site
(below) of its innermost frame that matches one; the rest is "other".
Standard library only.
"""

import re
import sys

UNIT = {"": 1, "B": 1, "K": 1000, "M": 1000**2, "G": 1000**3}

# (site, pattern on one frame "function<generics> @ file:line", optional
# pattern that one of the frames further out must match). Each backtrace
# goes to the innermost frame that matches a site; at one frame, the first
# site listed wins.
SITES = [
    ("engineioxide: WebSocket writer task (`forward_to_socket`, tokio task cell)",
     r"^new<tokio::runtime::task::core::Cell<engineioxide::transport::ws::forward_to_socket"),
    ("engineioxide: WebSocket reader task (`read_loop`, tokio task cell)",
     r"^new<tokio::runtime::task::core::Cell<engineioxide::transport::ws::read_loop"),
    ("tokio: other task cells", r"^new<tokio::runtime::task::core::Cell<"),
    ("engineioxide: socket (`Socket`)", r"ArcInner<engineioxide::socket::Socket"),
    ("engineioxide: packet channel (tokio `mpsc`: channel, first block of 32 slots)",
     r"mpsc::chan::Chan<alloc::boxed::Box<smallvec|block::Block<alloc::boxed::Box<smallvec"
     r"|channel_from_index<alloc::boxed::Box<smallvec"),
    ("engineioxide: volatile-packet channel (tokio `watch`)",
     r"ArcInner<tokio::sync::watch::Shared<core::option::Option<alloc::boxed::Box<smallvec"),
    ("gateway: the session's cancellation token (`closed`)", r"^new @ .*cancellation_token\.rs",
     r"@ gateway/src/realtime/session\.rs"),
    ("engineioxide: cancellation token", r"^new @ .*cancellation_token\.rs"),
    ("engineioxide: copy of the request's headers and URI (`detach_request_parts`)",
     r"^detach_request_parts"),
    ("engineioxide and socketioxide: socket maps by id (hash tables, amortised)",
     r"^insert<engineioxide_core::sid::Sid, alloc::sync::Arc<(engineioxide|socketioxide)::socket::Socket"),
    ("tungstenite: `WebSocketStream` and its state, in the split halves' lock",
     r"bilock::Inner<tokio_tungstenite::WebSocketStream"),
    ("tungstenite: read buffer", r"^read_frame<tokio_tungstenite"),
    ("tungstenite: write buffer", r"^buffer_frame<|^_write<"),
    ("tokio-tungstenite: waker proxies", r"@ tokio-tungstenite.*compat\.rs"),
    ("socketioxide: socket (`Socket`)", r"ArcInner<socketioxide::socket::Socket"),
    ("socketioxide: local adapter, the socket in its user's room", r"^add_all<socketioxide::ns::Emitter"),
    ("socketioxide: the socket's extensions map (holds our `Arc<Session>`)", r"@ socketioxide.*extensions\.rs"),
    ("gateway: `Session`", r"ArcInner<chat_gateway::realtime::session::Session>"),
    ("gateway: the session's token (the JWT string)", r"@ gateway/src/realtime/session\.rs", r"authenticate"),
    ("gateway: expiry timer, presence map, token's session id, user room name",
     r"@ gateway/src/realtime/|@ platform/src/token\.rs"),
    ("request extensions kept by the socket (`UrlParams`, `OriginalUri` and its URI, "
     "`ConnectInfo`, hyper's `OnUpgrade` and its channel)",
     r"^insert<.*> @ .*http-[0-9.]+/src/extensions\.rs|@ hyper-[0-9.]+/src/upgrade\.rs|@ gateway/src/server\.rs"),
    ("tokio: I/O registration of the TCP stream", r"registration_set\.rs"),
    ("gRPC client buffers (h2; shared by all sockets, amortised growth)",
     r"@ (h2|tonic)-|hyper-[0-9.]+/src/proto/h2"),
]


def parse(path):
    """{backtrace: bytes}; a backtrace is a tuple of "function @ file:line", innermost first."""
    traces = {}
    frames, size = None, 0

    def flush():
        if frames is not None:
            key = tuple(frames)
            traces[key] = traces.get(key, 0) + size

    in_leaks = False
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if not in_leaks:
            in_leaks = "MEMORY LEAKS" in line
            continue
        if m := re.match(r"^(\d+(?:\.\d+)?)([BKMG]?) leaked over \d+ calls from", line):
            flush()
            frames, size = [], float(m[1]) * UNIT[m[2]]
            continue
        text = line.strip()
        if frames is None or not text or text.startswith("in "):
            continue
        if text.startswith("at ") and frames:
            where = re.sub(r"^.*/registry/src/[^/]+/", "", text[3:])
            frames[-1] += " @ " + re.sub(r"^/rustc/[0-9a-f]+/library/", "std:", where)
        elif not text.startswith("at "):
            frames.append(re.sub(r"0x[0-9a-f]+", "ADDR", text))
    flush()
    return traces


COMPILED = [(name, re.compile(frame), re.compile(outer[0]) if outer else None)
            for name, frame, *outer in SITES]


def site(trace):
    for i, frame in enumerate(trace):
        for name, pattern, outer in COMPILED:
            if pattern.search(frame) and (outer is None or any(outer.search(f) for f in trace[i + 1:])):
                return name
    return "other"


def by_site(path):
    sites = {}
    for trace, size in parse(path).items():
        name = site(trace)
        sites[name] = sites.get(name, 0) + size
    return sites


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    low, high = by_site(sys.argv[1]), by_site(sys.argv[3])
    extra = int(sys.argv[4]) - int(sys.argv[2])
    rows = {name: (high.get(name, 0) - low.get(name, 0)) / extra for name in set(low) | set(high)}
    print("| where the bytes are allocated | bytes per connection |")
    print("|---|---:|")
    for name, size in sorted(rows.items(), key=lambda r: -r[1]):
        print(f"| {name} | {size:,.0f} |")
    print(f"| **total** | **{sum(rows.values()):,.0f}** |")


if __name__ == "__main__":
    main()
