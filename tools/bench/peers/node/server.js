// The Node peer for tools/bench/compare.sh: what a team would otherwise
// build — socket.io 4.8 with @socket.io/redis-adapter over one Redis, every
// message committed to PostgreSQL (gap-free per-room seq) before it is acked
// and broadcast. It speaks the subset of the chat suite's contract that
// tools/loadgen uses (REST setup calls, handshake auth, join_room,
// send_message, new_message); see README.md.
//
//   PORT=9080 DATABASE_URL=postgres://... REDIS_URL=redis://... node server.js
"use strict";

const http = require("node:http");
const crypto = require("node:crypto");
const { promisify } = require("node:util");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");
const pg = require("pg");

const PORT = Number(process.env.PORT || 9080);
const HOST = process.env.HOST || "127.0.0.1";
const DATABASE_URL = process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/chat_bench_node";
const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
// The adapter's channel prefix: every process of one deployment uses the same.
const REDIS_KEY = process.env.REDIS_KEY || "chat-bench-node";
// Both processes derive the same Ed25519 signing key from this secret, so a
// token issued by one is accepted by the other (like the suite's JWTs).
const TOKEN_SECRET = process.env.TOKEN_SECRET || "bench-node-token-secret-0123456789";
const TOKEN_TTL_S = 3600;
const MAX_BODY = 64 * 1024;
const MAX_CONTENT_CHARS = 4000;
// Same default as the suite's per-service pools (DATABASE_MAX_CONNECTIONS).
const PG_POOL_MAX = Number(process.env.PG_POOL_MAX || 10);

// BIGINT columns as numbers, so ids and seqs are JSON numbers as in the suite.
pg.types.setTypeParser(20, (v) => parseInt(v, 10));
// Idle connections are kept (as sqlx keeps them), so no reconnects between bursts.
const db = new pg.Pool({ connectionString: DATABASE_URL, max: PG_POOL_MAX, idleTimeoutMillis: 0 });
db.on("error", (e) => console.error("pg pool:", e.message));

// ---- tokens: EdDSA (Ed25519) JWTs, as the suite's auth service signs ----
const seed = crypto.createHash("sha256").update(TOKEN_SECRET).digest();
const signingKey = crypto.createPrivateKey({
  key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]),
  format: "der",
  type: "pkcs8",
});
const verifyKey = crypto.createPublicKey(signingKey);
const b64 = (buf) => Buffer.from(buf).toString("base64url");
const JWT_HEADER = b64(JSON.stringify({ alg: "EdDSA", typ: "JWT" }));

function issueToken(userId) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: String(userId), iat: now, exp: now + TOKEN_TTL_S, iss: "chat-bench-node", aud: "chat" };
  const input = `${JWT_HEADER}.${b64(JSON.stringify(claims))}`;
  const sig = crypto.sign(null, Buffer.from(input), signingKey);
  return { token: `${input}.${b64(sig)}`, expiresAt: new Date(claims.exp * 1000).toISOString() };
}

/** The user id of a valid token, or null. */
function verifyToken(token) {
  if (typeof token !== "string") return null;
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== JWT_HEADER) return null;
  const ok = crypto.verify(null, Buffer.from(`${parts[0]}.${parts[1]}`), verifyKey, Buffer.from(parts[2], "base64url"));
  if (!ok) return null;
  try {
    const c = JSON.parse(Buffer.from(parts[1], "base64url").toString());
    const now = Date.now() / 1000;
    if (c.iss !== "chat-bench-node" || c.aud !== "chat" || !(c.exp > now)) return null;
    const id = Number(c.sub);
    return Number.isSafeInteger(id) && id > 0 ? id : null;
  } catch {
    return null;
  }
}

// ---- schema ----
const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
  first_name TEXT NOT NULL, last_name TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS rooms (
  id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, created_by BIGINT NOT NULL REFERENCES users(id),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(), last_seq BIGINT NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS room_members (
  room_id BIGINT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE, user_id BIGINT NOT NULL REFERENCES users(id),
  joined_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (room_id, user_id));
CREATE TABLE IF NOT EXISTS messages (
  id BIGSERIAL PRIMARY KEY, room_id BIGINT NOT NULL, seq BIGINT NOT NULL, user_id BIGINT NOT NULL,
  content TEXT NOT NULL, client_msg_id TEXT, created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (room_id, seq));
CREATE UNIQUE INDEX IF NOT EXISTS messages_client_msg_id_key ON messages (room_id, user_id, client_msg_id);`;

async function migrate() {
  const c = await db.connect();
  try {
    await c.query("SELECT pg_advisory_lock(727001)"); // two processes start side by side
    await c.query(SCHEMA);
  } finally {
    await c.query("SELECT pg_advisory_unlock(727001)").catch(() => {});
    c.release();
  }
}

// ---- JSON views (the suite's shapes: gateway/src/json.rs) ----
const publicUser = (r) => ({ id: r.id, first_name: r.first_name, last_name: r.last_name, avatar_url: null });
const roomJson = (r, isMember) => ({
  id: r.id, name: r.name, created_by: { id: r.created_by, name: r.creator_name },
  created_at: r.created_at.toISOString(), member_count: r.member_count, is_member: isMember,
});
function messageJson(row, user) {
  const at = row.created_at.toISOString();
  return {
    id: row.id, room_id: row.room_id, seq: row.seq, content: row.content, client_msg_id: row.client_msg_id,
    created_at: at, timestamp: at, user,
  };
}

class Fail extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

// ---- data access ----
const scrypt = promisify(crypto.scrypt);
const ROOM_SQL = `SELECT r.id, r.name, r.created_by, r.created_at, u.first_name || ' ' || u.last_name AS creator_name,
  (SELECT count(*)::int FROM room_members m WHERE m.room_id = r.id) AS member_count
  FROM rooms r JOIN users u ON u.id = r.created_by WHERE r.id = $1`;

async function register(body) {
  const { email, password, first_name, last_name } = body || {};
  for (const [k, v] of Object.entries({ email, password, first_name, last_name })) {
    if (typeof v !== "string" || !v.trim()) throw new Fail(400, "invalid_argument", `${k} is required`);
  }
  if (password.length < 8) throw new Fail(400, "invalid_argument", "password: at least 8 characters");
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, 32); // N=16384, r=8, p=1
  const stored = `scrypt$${salt.toString("base64")}$${hash.toString("base64")}`;
  let row;
  try {
    ({ rows: [row] } = await db.query(
      "INSERT INTO users (email, password_hash, first_name, last_name) VALUES ($1, $2, $3, $4) RETURNING *",
      [email.trim().toLowerCase(), stored, first_name.trim(), last_name.trim()]));
  } catch (e) {
    if (e.code === "23505") throw new Fail(409, "already_exists", "email already registered");
    throw e;
  }
  const { token, expiresAt } = issueToken(row.id);
  return {
    token, token_expires_at: expiresAt, refresh_token: "", refresh_token_expires_at: expiresAt,
    user: { id: row.id, email: row.email, first_name: row.first_name, last_name: row.last_name,
      avatar_url: null, status: "offline", created_at: row.created_at.toISOString() },
  };
}

async function createRoom(userId, body) {
  const name = typeof body?.name === "string" ? body.name.trim() : "";
  if (!name || name.length > 100) throw new Fail(400, "invalid_argument", "name: 1-100 characters");
  const c = await db.connect();
  try {
    await c.query("BEGIN");
    const { rows: [r] } = await c.query("INSERT INTO rooms (name, created_by) VALUES ($1, $2) RETURNING id", [name, userId]);
    await c.query("INSERT INTO room_members (room_id, user_id) VALUES ($1, $2)", [r.id, userId]);
    await c.query("COMMIT");
    members.add(`${r.id}:${userId}`);
    const { rows: [room] } = await db.query(ROOM_SQL, [r.id]);
    return roomJson(room, true);
  } catch (e) {
    await c.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}

/** Makes the user a member; returns [room view, whether the membership is new]. */
async function joinRoom(userId, roomId) {
  let joined;
  try {
    ({ rowCount: joined } = await db.query(
      "INSERT INTO room_members (room_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", [roomId, userId]));
  } catch (e) {
    if (e.code === "23503") throw new Fail(404, "not_found", "room not found");
    throw e;
  }
  members.add(`${roomId}:${userId}`);
  const { rows: [room] } = await db.query(ROOM_SQL, [roomId]);
  if (!room) throw new Fail(404, "not_found", "room not found");
  return [roomJson(room, true), joined === 1];
}

// Membership cache: "room:user" entries known to be members (memberships
// only grow in this peer: no leave endpoint).
const members = new Set();
async function isMember(userId, roomId) {
  const key = `${roomId}:${userId}`;
  if (members.has(key)) return true;
  const { rowCount } = await db.query("SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $2", [roomId, userId]);
  if (rowCount) {
    if (members.size > 200000) members.clear();
    members.add(key);
  }
  return rowCount > 0;
}

// The seq bump and the insert in one statement: one transaction, one round
// trip; the row lock on rooms orders concurrent writers, so seqs stay gap-free.
const INSERT_SQL = `WITH s AS (UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq)
  INSERT INTO messages (room_id, seq, user_id, content, client_msg_id)
  SELECT $1, s.last_seq, $2, $3, $4 FROM s RETURNING id, room_id, seq, content, client_msg_id, created_at`;
const BY_KEY_SQL = `SELECT id, room_id, seq, content, client_msg_id, created_at FROM messages
  WHERE room_id = $1 AND user_id = $2 AND client_msg_id = $3`;

async function storeMessage(userId, roomId, content, clientMsgId) {
  if (clientMsgId) {
    const { rows: [old] } = await db.query(BY_KEY_SQL, [roomId, userId, clientMsgId]);
    if (old) return [old, false];
  }
  try {
    const { rows: [row] } = await db.query(INSERT_SQL, [roomId, userId, content, clientMsgId]);
    if (!row) throw new Fail(404, "not_found", "room not found");
    return [row, true];
  } catch (e) {
    if (e.code !== "23505" || !clientMsgId) throw e; // a concurrent resend won: the statement rolled back whole
    const { rows: [old] } = await db.query(BY_KEY_SQL, [roomId, userId, clientMsgId]);
    return [old, false];
  }
}

// ---- REST ----
function readJson(req) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on("data", (c) => {
      size += c.length;
      if (size > MAX_BODY) { reject(new Fail(413, "invalid_argument", "body too large")); req.destroy(); } else chunks.push(c);
    });
    req.on("end", () => {
      if (!size) return resolve({});
      try { resolve(JSON.parse(Buffer.concat(chunks).toString())); } catch { reject(new Fail(400, "invalid_json", "body is not JSON")); }
    });
    req.on("error", reject);
  });
}

function bearer(req) {
  const h = req.headers.authorization || "";
  const id = h.startsWith("Bearer ") ? verifyToken(h.slice(7)) : null;
  if (!id) throw new Fail(401, "unauthenticated", "a valid bearer token is required");
  return id;
}

async function route(req) {
  const path = req.url.split("?")[0];
  if (req.method === "GET" && path === "/health") {
    await db.query("SELECT 1");
    await pubClient.ping();
    return [200, { status: "ok", dependencies: { postgres: "up", redis: "up" } }];
  }
  if (req.method === "POST" && path === "/auth/register") return [201, await register(await readJson(req))];
  if (req.method === "POST" && path === "/chat/rooms") {
    const userId = bearer(req);
    return [201, await createRoom(userId, await readJson(req))];
  }
  const join = req.method === "POST" && path.match(/^\/chat\/rooms\/([1-9][0-9]{0,17})\/join$/);
  if (join) {
    const userId = bearer(req);
    const [room, joined] = await joinRoom(userId, Number(join[1]));
    if (joined) io.to(`room:${room.id}`).emit("user_joined", { room_id: room.id, user: await userView(userId) });
    return [200, { joined, message: joined ? "joined the room" : "already a member", room }];
  }
  throw new Fail(404, "not_found", "no such route");
}

async function handleHttp(req, res) {
  let status, body;
  try {
    [status, body] = await route(req);
  } catch (e) {
    if (!(e instanceof Fail)) console.error(`${req.method} ${req.url}:`, e);
    status = e instanceof Fail ? e.status : 500;
    body = { code: e instanceof Fail ? e.code : "internal", message: e instanceof Fail ? e.message : "internal error" };
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function userView(userId) {
  const { rows: [u] } = await db.query("SELECT id, first_name, last_name FROM users WHERE id = $1", [userId]);
  return u ? publicUser(u) : { id: userId, first_name: "", last_name: "", avatar_url: null };
}

// ---- Socket.IO ----
const httpServer = http.createServer((req, res) => { handleHttp(req, res); });
const io = new Server(httpServer, { maxHttpBufferSize: MAX_BODY, serveClient: false });
let pubClient;

/** An event's payload: a JSON object, or one sent JSON-encoded as a string. */
function payload(data) {
  if (typeof data === "string") {
    try { data = JSON.parse(data); } catch { throw new Fail(400, "invalid_json", "the payload is not valid JSON"); }
  }
  if (!data || typeof data !== "object" || Array.isArray(data)) throw new Fail(400, "invalid_argument", "the payload must be a JSON object");
  return data;
}
function roomIdOf(data) {
  const id = data.room_id;
  if (!Number.isSafeInteger(id) || id <= 0) throw new Fail(400, "invalid_argument", "room_id must be a positive integer");
  return id;
}

/** Runs `work` after the socket's earlier events about the same room, then acks (or emits `error`). */
function handle(socket, event, data, ack, work) {
  let room = 0;
  try { room = roomIdOf(payload(data)); } catch { /* reported by work */ }
  const lanes = socket.data.lanes || (socket.data.lanes = new Map());
  const run = async () => {
    let reply;
    try {
      reply = { ok: true, ...(await work(socket, payload(data))) };
    } catch (e) {
      if (!(e instanceof Fail)) console.error(`${event}:`, e);
      const error = e instanceof Fail ? { code: e.code, message: e.message } : { code: "internal", message: "internal error" };
      if (typeof ack !== "function") return void socket.emit("error", { ...error, event });
      reply = { ok: false, error };
    }
    if (typeof ack === "function") ack(reply);
  };
  const next = (lanes.get(room) || Promise.resolve()).then(run);
  lanes.set(room, next);
  next.then(() => { if (lanes.get(room) === next) lanes.delete(room); });
}

async function onJoin(socket, data) {
  const roomId = roomIdOf(data);
  const [room, joined] = await joinRoom(socket.data.userId, roomId);
  const { rows } = await db.query(
    `SELECT m.id, m.room_id, m.seq, m.content, m.client_msg_id, m.created_at, u.id AS uid, u.first_name, u.last_name
     FROM messages m JOIN users u ON u.id = m.user_id WHERE m.room_id = $1 ORDER BY m.seq DESC LIMIT 51`, [roomId]);
  const hasMore = rows.length > 50;
  const history = rows.slice(0, 50).reverse()
    .map((r) => messageJson(r, publicUser({ id: r.uid, first_name: r.first_name, last_name: r.last_name })));
  socket.join(`room:${roomId}`);
  if (joined) socket.to(`room:${roomId}`).emit("user_joined", { room_id: roomId, user: socket.data.user });
  socket.emit("joined_room", { room_id: roomId, room });
  socket.emit("messages_history", { room_id: roomId, messages: history, has_more: hasMore, since: null });
  return { room_id: roomId, count: history.length };
}

async function onSend(socket, data) {
  const roomId = roomIdOf(data);
  const content = typeof data.content === "string" ? data.content.trim() : "";
  if (!content || [...content].length > MAX_CONTENT_CHARS) throw new Fail(400, "invalid_argument", "content: 1-4000 characters");
  const key = data.client_msg_id;
  if (key != null && (typeof key !== "string" || key.length > 128)) throw new Fail(400, "invalid_argument", "client_msg_id: a string of at most 128 characters");
  const userId = socket.data.userId;
  if (!(await isMember(userId, roomId))) throw new Fail(403, "permission_denied", "not a member of this room");
  const [row, created] = await storeMessage(userId, roomId, content, key || null);
  const message = messageJson(row, socket.data.user);
  // Committed: now to every socket in the room, on this process and (via Redis) the other.
  if (created) io.to(`room:${roomId}`).emit("new_message", message);
  return { message, created };
}

// Shared listeners (`this` is the socket): nothing allocated per connection for them.
function joinListener(data, ack) { handle(this, "join_room", data, ack, onJoin); }
function sendListener(data, ack) { handle(this, "send_message", data, ack, onSend); }
function onlineListener(_data, ack) { if (typeof ack === "function") ack({ ok: true }); }

// Sign-in before the connect ack (as the suite does), so no early event finds the socket without its user.
io.use(async (socket, next) => {
  const userId = verifyToken(socket.handshake.auth && socket.handshake.auth.token);
  if (!userId) return next(new Error("unauthenticated"));
  socket.data.userId = userId;
  try {
    socket.data.user = await userView(userId);
  } catch (e) {
    console.error("connect:", e.message);
    socket.data.user = { id: userId, first_name: "", last_name: "", avatar_url: null };
  }
  next();
});

io.on("connection", (socket) => {
  socket.on("join_room", joinListener);
  socket.on("send_message", sendListener);
  socket.on("user_online", onlineListener);
  socket.emit("connected", { user: socket.data.user });
});

async function main() {
  await migrate();
  pubClient = createClient({ url: REDIS_URL });
  const subClient = pubClient.duplicate();
  pubClient.on("error", (e) => console.error("redis pub:", e.message));
  subClient.on("error", (e) => console.error("redis sub:", e.message));
  await Promise.all([pubClient.connect(), subClient.connect()]);
  io.adapter(createAdapter(pubClient, subClient, { key: REDIS_KEY }));
  httpServer.listen(PORT, HOST, () => console.log(`node peer on ${HOST}:${PORT} (pid ${process.pid})`));
  const stop = () => {
    io.close();
    Promise.allSettled([db.end(), pubClient.quit(), subClient.quit()]).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((e) => { console.error(e); process.exit(1); });
