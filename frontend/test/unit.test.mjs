// Unit tests for the DOM-free modules: the input rules and the chat formatting.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groupMessages, newClientMsgId, typingText } from '../js/format.js';
import * as rules from '../js/validate.js';

test('typing line wording', () => {
  assert.equal(typingText([]), '');
  assert.equal(typingText(['Ana']), 'Ana is typing…');
  assert.equal(typingText(['Ana', 'Ben']), 'Ana and Ben are typing…');
  assert.equal(typingText(['Ana', 'Ben', 'Cy']), 'several people are typing…');
});

test('password rule mirrors the server', () => {
  assert.match(rules.password(''), /required/);
  assert.match(rules.password('Ab1'), /at least 8/);
  assert.match(rules.password('abcdefg1'), /upper-case/);
  assert.match(rules.password('ABCDEFG1'), /lower-case/);
  assert.match(rules.password('Abcdefgh'), /digit/);
  assert.equal(rules.password('Passw0rd'), '');
  assert.equal(rules.password('Ünïcödé1'), ''); // Unicode cases count, as on the server
  assert.match(rules.password('A1' + 'a'.repeat(127)), /at most 128/);
  assert.equal(rules.password('A1' + 'a'.repeat(126)), '');
});

test('password strength never calls a rule-breaking password fair', () => {
  assert.ok(rules.strength('abcdefgh').score <= 1);
  assert.ok(rules.strength('Passw0rd').score <= 1); // common word
  assert.ok(rules.strength('Tr0ub4dor').score >= 2);
  assert.equal(rules.strength('Correct-Horse-Battery-9').score, 4);
});

test('emails, names and room names', () => {
  assert.equal(rules.email(' ana@example.com '), '');
  assert.notEqual(rules.email('ana@localhost'), '');
  assert.notEqual(rules.email('ana example.com'), '');
  assert.match(rules.name('   ', 'First name'), /required/);
  assert.equal(rules.name(' Ana ', 'First name'), '');
  assert.match(rules.name('x'.repeat(101), 'Last name'), /at most 100/);
  assert.equal(rules.name('😀'.repeat(100), 'Last name'), ''); // counted in characters, not UTF-16 units
  assert.match(rules.roomName(''), /required/);
  assert.match(rules.roomName('r'.repeat(101)), /at most 100/);
});

test('avatar checks before upload', () => {
  assert.equal(rules.avatar({ type: 'image/png', size: 1000 }), '');
  assert.match(rules.avatar({ type: 'image/svg+xml', size: 1000 }), /PNG, JPEG, GIF or WebP/);
  assert.match(rules.avatar({ type: 'image/jpeg', size: 5 * 1024 * 1024 + 1 }), /at most 5 MB/);
});

test('messages group by sender within five minutes and split by day', () => {
  const at = (iso) => new Date(iso).toISOString();
  const m = (id, user, iso) => ({ id, seq: id, user: { id: user }, created_at: at(iso) });
  const days = groupMessages([
    m(1, 1, '2026-11-24T10:00:00'),
    m(2, 1, '2026-11-24T10:03:00'),
    m(3, 2, '2026-11-24T10:04:00'),
    m(4, 2, '2026-11-24T10:20:00'),
    m(5, 2, '2026-11-25T09:00:00'),
  ]);
  assert.equal(days.length, 2);
  assert.deepEqual(days[0].groups.map((g) => g.messages.map((x) => x.id)), [[1, 2], [3], [4]]);
  assert.deepEqual(days[1].groups.map((g) => g.messages.map((x) => x.id)), [[5]]);
});

test('client message ids are unique', () => {
  const ids = new Set(Array.from({ length: 1000 }, newClientMsgId));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, /^c-[0-9a-f]{24}$/);
});
