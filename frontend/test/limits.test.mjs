// Unit tests for js/limits.js: GET /config, with the defaults as the fallback.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LIMITS, applyLimits, fetchLimits, limits, megabytes } from '../js/limits.js';

const CONFIG = { max_message_chars: 4000, max_room_name_chars: 100, max_name_chars: 100, max_avatar_bytes: 5242880 };

test('the defaults are the documented /config values', () => {
  assert.deepEqual({ ...DEFAULT_LIMITS }, CONFIG);
  assert.deepEqual({ ...limits }, CONFIG);
  assert.ok(Object.isFrozen(DEFAULT_LIMITS));
});

test('a /config body overrides only known fields with positive integers', () => {
  const target = { ...DEFAULT_LIMITS };
  applyLimits({ max_message_chars: 2000, max_name_chars: 0, max_room_name_chars: '50', max_avatar_bytes: 1.5, extra: 1 }, target);
  assert.deepEqual(target, { ...CONFIG, max_message_chars: 2000 });
  assert.deepEqual(applyLimits(null, { ...DEFAULT_LIMITS }), CONFIG);
  assert.deepEqual(applyLimits('nonsense', { ...DEFAULT_LIMITS }), CONFIG);
});

const reply = (status, body) => async (url, init) => {
  assert.equal(url, '/config');
  assert.equal(init.headers.accept, 'application/json');
  return { ok: status >= 200 && status < 300, status, json: async () => (typeof body === 'function' ? body() : body) };
};

test('fetchLimits takes the answer, and keeps the defaults on 404, bad JSON or no network', async () => {
  assert.deepEqual(await fetchLimits(reply(200, { ...CONFIG, max_message_chars: 500 }), { ...DEFAULT_LIMITS }), { ...CONFIG, max_message_chars: 500 });
  assert.deepEqual(await fetchLimits(reply(404, { error: { code: 'not_found' } }), { ...DEFAULT_LIMITS }), CONFIG);
  assert.deepEqual(await fetchLimits(reply(200, () => { throw new SyntaxError('not JSON'); }), { ...DEFAULT_LIMITS }), CONFIG);
  assert.deepEqual(await fetchLimits(async () => { throw new TypeError('Failed to fetch'); }, { ...DEFAULT_LIMITS }), CONFIG);
  assert.deepEqual(await fetchLimits(null, { ...DEFAULT_LIMITS }), CONFIG); // no fetch at all
});

test('sizes read as megabytes', () => {
  assert.equal(megabytes(5 * 1024 * 1024), '5 MB');
  assert.equal(megabytes(1.5 * 1024 * 1024), '1.5 MB');
});
