// Unit tests for js/chat/drafts-model.js: drafts per room and per user.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_DRAFTS, draftStore, draftsKey } from '../js/chat/drafts-model.js';

/** localStorage's surface, in memory. */
function memoryStorage() {
  const data = new Map();
  return {
    getItem: (k) => (data.has(k) ? data.get(k) : null),
    setItem: (k, v) => data.set(k, String(v)),
    removeItem: (k) => data.delete(k),
    keys: () => [...data.keys()],
  };
}

test('a draft belongs to its room and survives a new store (a reload)', () => {
  const storage = memoryStorage();
  const drafts = draftStore(storage, 7);
  drafts.set(1, 'DRAFT meant for alpha');
  assert.equal(drafts.get(1), 'DRAFT meant for alpha');
  assert.equal(drafts.get(2), '', 'not in another room');
  drafts.set(2, 'for beta');
  assert.equal(draftStore(storage, 7).get(1), 'DRAFT meant for alpha');
  assert.equal(draftStore(storage, 7).get(2), 'for beta');
});

test('drafts are per user', () => {
  const storage = memoryStorage();
  draftStore(storage, 7).set(1, 'mine');
  assert.equal(draftStore(storage, 8).get(1), '');
  assert.deepEqual(storage.keys(), [draftsKey(7)]);
});

test('sending (clear) or blanking a draft forgets it; the key goes with the last one', () => {
  const storage = memoryStorage();
  const drafts = draftStore(storage, 7);
  drafts.set(1, 'a');
  drafts.set(2, 'b');
  drafts.clear(1);
  assert.equal(drafts.get(1), '');
  drafts.set(2, '   ');
  assert.equal(drafts.get(2), '');
  assert.deepEqual(storage.keys(), []);
  drafts.clear(99); // nothing there: no harm
});

test('the oldest drafts go past the limit, whatever their room ids', () => {
  const storage = memoryStorage();
  const drafts = draftStore(storage, 7);
  for (let id = MAX_DRAFTS + 10; id > 0; id--) drafts.set(id, `draft ${id}`); // high ids first
  assert.equal(drafts.get(MAX_DRAFTS + 10), '', 'the first written went');
  assert.equal(drafts.get(1), 'draft 1', 'the last written stayed');
  assert.equal(Object.keys(JSON.parse(storage.getItem(draftsKey(7)))).length, MAX_DRAFTS);
});

test('a damaged or refusing storage is not fatal', () => {
  const storage = memoryStorage();
  storage.setItem(draftsKey(7), '{not json');
  assert.equal(draftStore(storage, 7).get(1), '');
  storage.setItem(draftsKey(7), '[1,2]');
  assert.equal(draftStore(storage, 7).get(1), '');
  const full = { ...memoryStorage(), setItem: () => { throw new Error('QuotaExceededError'); } };
  draftStore(full, 7).set(1, 'x');
});
