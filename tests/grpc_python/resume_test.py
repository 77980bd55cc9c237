#!/usr/bin/env python3
"""Resuming `chat.messaging.v1.MessagingService/StreamEvents` from a client
generated from proto/ by a standard generator (grpcio-tools), against a
running app.

    python3 tests/grpc_python/resume_test.py [HTTP_URL GRPC_ADDR]

HTTP_URL (the gateway, e.g. http://127.0.0.1:8080) and GRPC_ADDR (e.g.
127.0.0.1:50051 or http://127.0.0.1:50051) come from the arguments or from
CHAT_HTTP and CHAT_GRPC. Users and the room are made over REST; everything
else goes through the generated stubs only. Exits 0 when every check holds,
1 when one fails, 2 when the environment is not fit to run it (no
grpcio-tools, stubs that don't generate, no arguments).

What it checks, for one member (Ana) following a room where Ben writes:

1. A stream opened with `resume` at the position ListMessages gave, then
   live messages, an edit and reactions: each arrives once.
2. The stream drops. Meanwhile Ben sends three messages (and edits one of
   them), edits an old message twice, deletes another, and both react to a
   third. Resuming from the position held sends first exactly what was
   missed: the new messages in seq order (in their latest state), then one
   KIND_REPLAYED change per older message changed, in change_seq order, in
   its final state. Then an edit and a message made afterwards arrive live,
   once each.
3. The stream drops and is resumed again and again (a dozen times) while
   Ben sends messages and edits old ones from another thread, so writes land
   before, during and after each replay: every seq arrives once, in order,
   with no gap; every change past the position, once, in change_seq order,
   the REPLAYED ones of a stream before its live ones.
4. Throughout, no seq and no change_seq arrives twice, and the state the
   client built from the stream alone (applying a change only when its
   change_seq is greater than the one held, deriving reactions' `me` from
   broadcast changes' actor_id) equals a fresh ListMessages.
"""

import glob
import importlib
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO_DIR = os.path.join(ROOT, "proto")
INSTALL_HINT = "install it with: python3 -m pip install --user grpcio-tools (pip install grpcio-tools)"

# The app is local: never go through a proxy the environment names.
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Messages Ben sends (and half as many edits) while Ana keeps resuming.
RACE_SENDS = 60

# How long to wait for one expected event.
EVENT_TIMEOUT = 15.0


class Unfit(Exception):
    """The environment can't run the test (exit code 2)."""


def log(*args):
    print(*args, flush=True)


# ---------------------------------------------------------------- stubs


def generate_stubs(out_dir):
    """Runs grpc_tools.protoc on every proto/chat/**/*.proto into out_dir
    and imports the messaging and events modules from there."""
    try:
        import grpc  # noqa: F401
        import grpc_tools
    except ImportError as e:
        raise Unfit(f"grpcio-tools is missing ({e}); {INSTALL_HINT}")
    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    if not os.path.isfile(os.path.join(include, "google", "protobuf", "timestamp.proto")):
        raise Unfit(f"grpc_tools has no bundled google/protobuf protos under {include}; {INSTALL_HINT}")
    protos = sorted(
        os.path.relpath(p, PROTO_DIR).replace(os.sep, "/")
        for p in glob.glob(os.path.join(PROTO_DIR, "chat", "**", "*.proto"), recursive=True)
    )
    if not protos:
        raise Unfit(f"no .proto files under {PROTO_DIR}/chat")
    command = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        "-I",
        PROTO_DIR,
        "-I",
        include,
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *protos,
    ]
    done = subprocess.run(command, cwd=PROTO_DIR, capture_output=True, text=True)
    if done.returncode != 0:
        raise Unfit(f"protoc failed ({done.returncode}):\n{' '.join(command)}\n{done.stdout}{done.stderr}")
    log(f"generated stubs for {len(protos)} files: {', '.join(protos)}")
    sys.path.insert(0, out_dir)
    pb = importlib.import_module("chat.messaging.v1.messaging_pb2")
    rpc = importlib.import_module("chat.messaging.v1.messaging_pb2_grpc")
    return pb, rpc


# ---------------------------------------------------------------- REST


def rest(http, method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(http.rstrip("/") + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with NO_PROXY.open(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


def register(http, first):
    email = f"{first.lower()}-{uuid.uuid4().hex[:12]}@example.com"
    status, body = rest(
        http,
        "POST",
        "/auth/register",
        {"email": email, "password": "Passw0rd!resume", "first_name": first, "last_name": "Resumer"},
    )
    check(status == 201, f"register {email}: {status} {body}")
    return {"token": body["token"], "id": body["user"]["id"], "name": first}


# ---------------------------------------------------------------- checks


class Failed(AssertionError):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


def describe(event):
    kind = event.WhichOneof("event")
    if kind == "message":
        m = event.message
        return f"message seq={m.seq} id={m.id} {m.content!r}"
    if kind == "change":
        c = event.change
        m = c.message
        return f"change {c.Kind.Name(c.kind)} id={m.id} seq={m.seq} change_seq={m.change_seq} {m.content!r} deleted={m.deleted}"
    return kind or "empty"


# ---------------------------------------------------------------- client


class Stream:
    """One StreamEvents call, read by a thread into a queue."""

    def __init__(self, stub, pb, metadata, room_ids=(), resume=()):
        request = pb.StreamEventsRequest(room_ids=list(room_ids), resume=list(resume))
        self.call = stub.StreamEvents(request, metadata=metadata)
        self.events = queue.Queue()
        self.error = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        # Headers come once the server subscribed: from here on nothing is
        # missed (and what came before is in the replay).
        self.call.initial_metadata()

    def _read(self):
        try:
            for event in self.call:
                self.events.put(event)
        except Exception as e:  # grpc.RpcError, CANCELLED on a drop
            self.error = e
        finally:
            self.events.put(None)

    def next(self, timeout=EVENT_TIMEOUT):
        try:
            event = self.events.get(timeout=timeout)
        except queue.Empty:
            raise Failed(f"no event within {timeout:.1f}s")
        if event is None:
            raise Failed(f"the stream ended: {self.error}")
        return event

    def drop(self):
        """Cancels the call, as a lost connection would, and returns what
        had arrived but not been read."""
        self.call.cancel()
        self.thread.join(10)
        check(not self.thread.is_alive(), "the stream did not end after cancel()")
        left = []
        while True:
            event = self.events.get_nowait()
            if event is None:
                break
            left.append(event)
        return left


class Client:
    """A member's view of one room, built only from what the stream sends,
    as the proto tells a client to: a message's state is replaced only by
    one with a greater change_seq, reactions' `me` are derived from
    actor_id for broadcast reaction changes."""

    def __init__(self, pb, room_id, user_id):
        self.pb = pb
        self.room_id = room_id
        self.user_id = user_id
        self.state = {}  # message id -> Message
        self.seq = 0  # the greatest seq held
        self.change = 0  # the greatest change_seq held
        self.seqs_seen = []  # every seq that came as a message event
        self.log = []

    def load(self, messages, last_change):
        for m in messages:
            self.state[m.id] = m
            self.seq = max(self.seq, m.seq)
        self.change = max(self.change, last_change)

    def position(self):
        return self.pb.RoomPosition(room_id=self.room_id, after_seq=self.seq, after_change=self.change)

    def relevant(self, event):
        kind = event.WhichOneof("event")
        if kind == "message":
            return event.message.room_id == self.room_id
        if kind == "change":
            return event.change.message.room_id == self.room_id
        return False

    def apply(self, event):
        self.log.append(describe(event))
        kind = event.WhichOneof("event")
        if kind == "message":
            m = event.message
            check(
                m.seq not in self.seqs_seen,
                f"seq {m.seq} arrived twice (id {m.id}); stream so far:\n  " + "\n  ".join(self.log),
            )
            check(m.seq > self.seq, f"message seq {m.seq} arrived after seq {self.seq}: out of order or repeated")
            self.seqs_seen.append(m.seq)
            self.seq = m.seq
            held = self.state.get(m.id)
            if held is None or m.change_seq > held.change_seq:
                self.state[m.id] = m
            # Not self.change: a replay sends new messages in their latest
            # state before the changes of older ones, whose change_seq may
            # be smaller. Resuming from this change_seq could skip them.
        elif kind == "change":
            c = event.change
            m = self.pb.Message()
            m.CopyFrom(c.message)
            check(m.change_seq > 0, f"a change without change_seq: {describe(event)}")
            # Streams here always resume: every change is past the mark,
            # in change_seq order, none twice.
            check(
                m.change_seq > self.change,
                f"change_seq {m.change_seq} arrived at change mark {self.change}: out of order or repeated; "
                "stream so far:\n  " + "\n  ".join(self.log),
            )
            self.change = m.change_seq
            held = self.state.get(m.id)
            if held is not None and m.change_seq <= held.change_seq:
                return  # stale: we hold something newer
            if c.kind != self.pb.MessageChanged.KIND_REPLAYED:
                # Broadcast to the whole room, so `me` is always false: keep
                # what we held, and derive it from actor_id for a reaction.
                # (KIND_REPLAYED is sent to us alone: applied whole.)
                mine = {r.emoji: r.me for r in held.reactions} if held is not None else {}
                for r in m.reactions:
                    check(not r.me, f"a broadcast change with me=true: {describe(event)}")
                    ours = c.kind == self.pb.MessageChanged.KIND_REACTION and c.emoji == r.emoji
                    r.me = c.added if ours and c.actor_id == self.user_id else mine.get(r.emoji, False)
            self.state[m.id] = m


def view(m):
    """What a client shows of a message, for comparisons."""
    return {
        "id": m.id,
        "seq": m.seq,
        "content": m.content,
        "deleted": m.deleted,
        "edited": m.HasField("edit_time"),
        "reactions": [(r.emoji, r.count, r.me) for r in m.reactions],
        "change_seq": m.change_seq,
    }


# ---------------------------------------------------------------- test


class Run:
    def __init__(self, http, grpc_addr, pb, rpc):
        import grpc

        self.grpc = grpc
        self.http = http
        self.pb = pb
        target = grpc_addr
        for scheme in ("http://", "https://"):
            if target.startswith(scheme):
                target = target[len(scheme):]
        self.channel = grpc.insecure_channel(target.rstrip("/"), options=[("grpc.enable_http_proxy", 0)])
        self.stub = rpc.MessagingServiceStub(self.channel)

    def md(self, user):
        return (("authorization", f"Bearer {user['token']}"),)

    def send(self, user, content):
        response = self.stub.SendMessage(
            self.pb.SendMessageRequest(room_id=self.room, content=content, client_msg_id=uuid.uuid4().hex),
            metadata=self.md(user),
        )
        check(response.created, f"SendMessage {content!r} was not created")
        return response.message

    def edit(self, user, message_id, content):
        return self.stub.EditMessage(
            self.pb.EditMessageRequest(room_id=self.room, message_id=message_id, content=content),
            metadata=self.md(user),
        ).message

    def delete(self, user, message_id):
        return self.stub.DeleteMessage(
            self.pb.DeleteMessageRequest(room_id=self.room, message_id=message_id), metadata=self.md(user)
        ).message

    def react(self, user, message_id, emoji):
        response = self.stub.ToggleReaction(
            self.pb.ToggleReactionRequest(room_id=self.room, message_id=message_id, emoji=emoji),
            metadata=self.md(user),
        )
        return response.message, response.added

    def history(self, user):
        """The whole room via ListMessages, oldest first, and last_change."""
        messages, before, last_change = [], 0, None
        while True:
            page = self.stub.ListMessages(
                self.pb.ListMessagesRequest(room_id=self.room, page_size=100, before_seq=before),
                metadata=self.md(user),
            )
            if last_change is None:
                last_change = page.last_change
            messages = list(page.messages) + messages
            if not page.has_more or not page.messages:
                return messages, last_change
            before = page.messages[0].seq

    def open(self, user, client):
        self.streams = getattr(self, "streams", 0) + 1
        return Stream(self.stub, self.pb, self.md(user), resume=[client.position()])

    def read_until(self, stream, client, done, what):
        """Applies the room's events until done(got) holds; returns them."""
        got = []
        deadline = time.monotonic() + EVENT_TIMEOUT * 2
        while not done(got):
            left = deadline - time.monotonic()
            check(left > 0, f"timed out waiting for {what}; got: {[describe(e) for e in got]}")
            try:
                event = stream.next(timeout=left)
            except Failed as e:
                raise Failed(f"{e} while waiting for {what}; got: {[describe(e) for e in got]}")
            if client.relevant(event):
                client.apply(event)
                got.append(event)
        return got

    def quiet(self, stream, client, seconds=1.0):
        """Asserts that no more room events come for a while."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                event = stream.events.get(timeout=left)
            except queue.Empty:
                return
            check(event is not None, f"the stream ended: {stream.error}")
            if client.relevant(event):
                client.apply(event)
                raise Failed(f"unexpected extra event: {describe(event)}")

    def same_as_server(self, client, user, when):
        messages, last_change = self.history(user)
        server = {m.id: view(m) for m in messages}
        mine = {i: view(m) for i, m in client.state.items()}
        if server != mine:
            lines = [f"client state differs from ListMessages {when}:"]
            for i in sorted(set(server) | set(mine)):
                if server.get(i) != mine.get(i):
                    lines.append(f"  id {i}: server {server.get(i)}\n  {' ' * len(str(i))}     client {mine.get(i)}")
            lines.append("stream:\n  " + "\n  ".join(client.log))
            raise Failed("\n".join(lines))
        check(
            client.change == last_change,
            f"client change mark {client.change} != ListMessages.last_change {last_change} {when}",
        )
        check(client.seq == messages[-1].seq, f"client seq mark {client.seq} != latest seq {messages[-1].seq}")
        log(f"  state equals ListMessages {when}: {len(messages)} messages, last_change {last_change}")
        return {m.id: m for m in messages}

    def main(self):
        pb = self.pb
        ana = register(self.http, "Ana")
        ben = register(self.http, "Ben")
        status, room = rest(self.http, "POST", "/chat/rooms", {"name": f"resume {uuid.uuid4().hex[:8]}"}, ana["token"])
        check(status == 201, f"create room: {status} {room}")
        self.room = room["id"]
        status, body = rest(self.http, "POST", f"/chat/rooms/{self.room}/join", None, ben["token"])
        check(status == 200, f"join: {status} {body}")
        log(f"users ana={ana['id']} ben={ben['id']}, room {self.room}")

        # Before Ana follows the room.
        old = [self.send(ben, f"old {i}") for i in range(4)]
        client = Client(pb, self.room, ana["id"])
        messages, last_change = self.history(ana)
        check([m.seq for m in messages] == [m.seq for m in old], "ListMessages lists the messages sent")
        client.load(messages, last_change)
        log(f"1. initial position from ListMessages: after_seq={client.seq} after_change={client.change}")

        # 1. Live, from the position ListMessages gave: nothing to replay.
        stream = self.open(ana, client)
        live = [self.send(ben, f"live {i}") for i in range(2)]
        edited = self.edit(ben, old[0].id, "old 0, edited live")
        self.react(ben, old[1].id, "👍")
        self.react(ana, old[1].id, "🎉")
        # The server replays from the position while these are sent; on a
        # loaded machine the replay may read them from the store first, and
        # then it sends the latest state of each message once (REPLAYED),
        # not each change. Either way the client ends at the same position.
        final_change = 3
        got = self.read_until(
            stream, client, lambda g: client.seq == live[-1].seq and client.change == final_change, "the live events"
        )
        messages = [e for e in got if e.WhichOneof("event") == "message"]
        check(
            [describe(e) for e in messages] == [describe(pb.StreamEventsResponse(message=m)) for m in live],
            f"live messages, in order: {[describe(e) for e in got]}",
        )
        changes = [e for e in got if e.WhichOneof("event") == "change"]
        raced = any(e.change.kind == pb.MessageChanged.KIND_REPLAYED for e in changes)
        if raced:
            log("   (the replay read the live sends first: changes came as REPLAYED)")
            edits = [e for e in changes if e.change.message.id == old[0].id]
            check(edits and edits[-1].change.message.content == edited.content, "the edit is in the replay")
        else:
            check(got[:2] == messages, f"live messages first: {[describe(e) for e in got]}")
            kinds = [e.change.kind for e in changes]
            check(
                kinds
                == [pb.MessageChanged.KIND_EDITED, pb.MessageChanged.KIND_REACTION, pb.MessageChanged.KIND_REACTION],
                f"live changes: {[describe(e) for e in changes]}",
            )
            check(changes[0].change.message.content == edited.content, "the live edit carries the new text")
        self.quiet(stream, client, 0.5)
        self.same_as_server(client, ana, "after the live phase")
        log(f"   live: {len(got)} events; position now after_seq={client.seq} after_change={client.change}")

        # 2. The stream drops; Ben goes on.
        for event in stream.drop():
            if client.relevant(event):
                client.apply(event)
        log(f"2. dropped at after_seq={client.seq} after_change={client.change}")
        dropped_seq, dropped_change = client.seq, client.change
        missed = [self.send(ben, f"missed {i}") for i in range(3)]
        self.edit(ben, old[0].id, "old 0, edited while away")
        self.edit(ben, old[0].id, "old 0, edited twice while away")
        self.delete(ben, old[2].id)
        self.react(ben, old[3].id, "👀")
        self.react(ana, old[3].id, "❤️")
        self.edit(ben, missed[1].id, "missed 1, edited while away")
        self.react(ben, old[1].id, "👍")  # removes Ben's 👍 of phase 1
        final = {m.id: m for m in self.history(ana)[0]}
        changed_old = sorted((old[0].id, old[2].id, old[3].id, old[1].id), key=lambda i: final[i].change_seq)
        check(
            all(final[i].change_seq > dropped_change for i in changed_old),
            "every change while away has a change_seq after the position",
        )

        stream = self.open(ana, client)
        expected = [("message", m.id) for m in missed] + [("change", i) for i in changed_old]
        got = self.read_until(stream, client, lambda g: len(g) == len(expected), "the replay")
        order = [(e.WhichOneof("event"), e.message.id if e.HasField("message") else e.change.message.id) for e in got]
        check(
            order == expected,
            f"replay: expected {expected}, got:\n  " + "\n  ".join(describe(e) for e in got),
        )
        replayed_seqs = [e.message.seq for e in got if e.HasField("message")]
        check(
            replayed_seqs == sorted(replayed_seqs) and len(set(replayed_seqs)) == len(replayed_seqs),
            f"new messages in strictly increasing seq: {replayed_seqs}",
        )
        check(replayed_seqs[0] == dropped_seq + 1, f"the replay starts right after seq {dropped_seq}")
        changes = [e.change for e in got if e.HasField("change")]
        check(
            all(c.kind == pb.MessageChanged.KIND_REPLAYED for c in changes),
            f"changes while away come as KIND_REPLAYED: {[c.Kind.Name(c.kind) for c in changes]}",
        )
        change_seqs = [c.message.change_seq for c in changes]
        check(
            change_seqs == sorted(set(change_seqs)), f"replayed changes in strictly increasing change_seq: {change_seqs}"
        )
        for e in got:
            m = e.message if e.HasField("message") else e.change.message
            want = view(final[m.id])
            check(view(m) == want, f"replayed in its final state: got {view(m)}, ListMessages {want}")
        check(
            final[missed[1].id].content == "missed 1, edited while away"
            and final[old[0].id].content == "old 0, edited twice while away"
            and final[old[2].id].deleted
            and not final[old[2].id].content
            and not final[old[2].id].reactions,
            "the changes took effect",
        )
        log("   replay, in order:\n     " + "\n     ".join(describe(e) for e in got))
        self.same_as_server(client, ana, "after the replay")

        # Then live, once each.
        after_edit = self.edit(ben, old[3].id, "old 3, edited after the resume")
        after_send = self.send(ben, "after the resume")
        got = self.read_until(stream, client, lambda g: len(g) == 2, "the live edit and message")
        check(
            got[0].HasField("change")
            and got[0].change.kind == pb.MessageChanged.KIND_EDITED
            and got[0].change.message.id == old[3].id
            and got[0].change.message.change_seq == after_edit.change_seq,
            f"live edit after the replay: {describe(got[0])}",
        )
        check(
            got[1].HasField("message") and got[1].message.id == after_send.id,
            f"live message after the replay: {describe(got[1])}",
        )
        self.quiet(stream, client, 1.0)
        self.same_as_server(client, ana, "after the live events")

        # 3. Drop and resume again and again while Ben writes from another
        # thread: writes land before, during and after each replay.
        for event in stream.drop():
            if client.relevant(event):
                client.apply(event)
        start_seq, start_change = client.seq, client.change
        seen_before = len(client.seqs_seen)
        log(f"3. dropped at after_seq={start_seq} after_change={start_change}; resuming while Ben writes")
        targets = [old[0].id, old[1].id, old[3].id, live[0].id, live[1].id]
        written = {"sent": [], "edits": [], "error": None}
        stop = threading.Event()

        def writer():
            try:
                for i in range(RACE_SENDS):
                    if stop.is_set():
                        return
                    written["sent"].append(self.send(ben, f"race {i}"))
                    if i % 2 == 0:
                        target = targets[(i // 2) % len(targets)]
                        written["edits"].append(self.edit(ben, target, f"race edit {i}"))
            except Exception as e:  # reported by the main thread
                written["error"] = f"{e!r}\n{traceback.format_exc()}"

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        cycles, replayed_total, live_total = 0, 0, 0
        while True:
            writing = thread.is_alive()
            stream = self.open(ana, client)
            cycles += 1
            got = []
            deadline = time.monotonic() + (0.03 + 0.04 * (cycles % 3) if writing else 1.0)
            if not writing:
                # The last one: catch up with everything written.
                last = written["sent"][-1]
                last_edit = max(m.change_seq for m in written["edits"])
                got = self.read_until(
                    stream,
                    client,
                    lambda g: client.seq >= last.seq and client.change >= last_edit,
                    "every message and change written during the resumes",
                )
            while time.monotonic() < deadline:
                try:
                    event = stream.events.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                check(event is not None, f"the stream ended: {stream.error}")
                if client.relevant(event):
                    client.apply(event)
                    got.append(event)
            for event in stream.drop():
                if client.relevant(event):
                    client.apply(event)
                    got.append(event)
            kinds = [e.change.kind for e in got if e.HasField("change")]
            replayed = [k == pb.MessageChanged.KIND_REPLAYED for k in kinds]
            check(
                replayed == sorted(replayed, reverse=True),
                f"REPLAYED changes come before live ones: {[describe(e) for e in got]}",
            )
            replayed_total += sum(replayed)
            live_total += len(replayed) - sum(replayed)
            if not writing:
                break
        check(written["error"] is None, f"the writer failed: {written['error']}")
        check(len(written["sent"]) == RACE_SENDS, "the writer finished")
        seqs = client.seqs_seen[seen_before:]
        check(
            seqs == list(range(start_seq + 1, written["sent"][-1].seq + 1)),
            f"every seq after {start_seq} once, in order, no gap: {seqs}",
        )
        log(
            f"   {cycles} resumes while {len(seqs)} messages and {len(written['edits'])} edits were written: "
            f"every seq once and in order, {replayed_total} changes replayed and {live_total} live, "
            "each once, in change_seq order"
        )
        self.same_as_server(client, ana, "at the end")

        # 4. Across the whole session.
        check(
            len(client.seqs_seen) == len(set(client.seqs_seen)),
            f"a seq arrived twice: {client.seqs_seen}",
        )
        log(f"4. {len(client.seqs_seen)} message events over {self.streams} streams, no seq twice")
        self.channel.close()


def main(argv):
    http = argv[1] if len(argv) > 1 else os.environ.get("CHAT_HTTP")
    grpc_addr = argv[2] if len(argv) > 2 else os.environ.get("CHAT_GRPC")
    try:
        if not http or not grpc_addr:
            raise Unfit(f"usage: {argv[0]} HTTP_URL GRPC_ADDR (or set CHAT_HTTP and CHAT_GRPC)")
        with tempfile.TemporaryDirectory(prefix="chat-stubs-") as out:
            pb, rpc = generate_stubs(out)
            log(f"gateway {http}, gRPC {grpc_addr}")
            Run(http, grpc_addr, pb, rpc).main()
    except Unfit as e:
        print(f"CANNOT RUN: {e}", file=sys.stderr, flush=True)
        return 2
    except Failed as e:
        print(f"FAILED: {e}", file=sys.stderr, flush=True)
        traceback.print_exc()
        return 1
    except Exception as e:
        print(f"FAILED with an error: {e!r}", file=sys.stderr, flush=True)
        traceback.print_exc()
        return 1
    log("resume_test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
