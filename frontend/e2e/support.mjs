// Helpers for the end-to-end tests: start the real binary, launch Debian's
// Chromium through playwright-core, wait for things, make test images.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';

export const FRONTEND_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = resolve(FRONTEND_DIR, '..');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`${executablePath} is missing: apt-get update && apt-get install -y chromium`);
  }
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

/**
 * Starts the chat binary on free ports with a fresh DATA_DIR, serving this
 * frontend, and waits for /health. With E2E_BASE_URL set, uses that server
 * instead. Returns {baseUrl, stop(), logTail()}.
 */
export async function startServer() {
  if (process.env.E2E_BASE_URL) {
    return { baseUrl: process.env.E2E_BASE_URL.replace(/\/$/, ''), stop: async () => {}, logTail: () => '' };
  }
  const bin = resolve(FRONTEND_DIR, process.env.CHAT_BIN || '../target/debug/chat');
  if (!existsSync(bin)) throw new Error(`chat binary not found at ${bin}: run \`cargo build -p chat\` or set CHAT_BIN`);
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-e2e-'));
  const httpPort = await freePort();
  const grpcPort = await freePort();
  const logPath = join(dataDir, 'server.log');
  const log = openSync(logPath, 'a');
  // The defaults: SQLite in DATA_DIR and the in-process bus, whatever the
  // developer's shell says.
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(CHAT_ROLE|DATABASE_URL|REDIS_URL|[A-Z]+_DATABASE_URL|[A-Z]+_SERVICE_URL|JWT_.*|ACCESS_TOKEN_TTL_SECS)$/.test(key)) delete env[key];
  }
  Object.assign(env, {
    DATA_DIR: join(dataDir, 'data'),
    HTTP_ADDR: `127.0.0.1:${httpPort}`,
    GRPC_ADDR: `127.0.0.1:${grpcPort}`,
    FRONTEND_DIR,
    RUST_LOG: process.env.RUST_LOG || 'info',
    // Rate limits stay on, as deployed; one scenario seeds 70 messages from
    // one socket at once, more than the default burst of 10.
    SOCKET_SEND_BURST: '100',
    SOCKET_EVENT_BURST: '200',
  });
  const child = spawn(bin, [], { cwd: REPO_DIR, env, stdio: ['ignore', log, log] });
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  const logTail = (n = 40) => {
    try {
      return readFileSync(logPath, 'utf8').split('\n').slice(-n).join('\n');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(5000)]);
      if (!exited) child.kill('SIGKILL');
    }
    if (!process.env.E2E_KEEP_DATA) rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited) throw new Error(`chat exited early (${JSON.stringify(exited)}):\n${logTail()}`);
    try {
      const res = await fetch(`${baseUrl}/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`chat did not become healthy in 90 s:\n${logTail()}`);
    }
    await sleep(200);
  }
  return { baseUrl, stop, logTail };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` until `accept(value)` holds; returns the value. On timeout it
 * throws with `what` and the last value seen.
 */
export async function until(probe, accept = Boolean, { timeout = 10_000, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastError;
  for (;;) {
    try {
      last = await probe();
      if (accept(last)) return last;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const seen = lastError && last === undefined ? `error: ${lastError.message}` : JSON.stringify(last);
      throw new Error(`timed out after ${timeout} ms waiting for ${what}; last seen: ${seen}`);
    }
    await sleep(100);
  }
}

// ---- a real PNG, made here (the server decodes avatars, so it must be valid)

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A size×size RGB PNG: a diagonal split of two colours. */
export function makePng(size = 64, a = [230, 80, 40], b = [40, 120, 230]) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 3);
    for (let x = 0; x < size; x++) row.set(x > y ? a : b, 1 + x * 3);
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
