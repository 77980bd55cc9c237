// Unit tests for js/format.js: the chat page's DOM-free wording and grouping.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groupMessages, newClientMsgId, timeOf, typingText } from '../js/format.js';

test('typing line wording', () => {
  assert.equal(typingText([]), '');
  assert.equal(typingText(['Ana']), 'Ana is typing…');
  assert.equal(typingText(['Ana', 'Ben']), 'Ana and Ben are typing…');
  assert.equal(typingText(['Ana', 'Ben', 'Cy']), 'several people are typing…');
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

test("times in the locale's own format: no leading zero where it has none", () => {
  const at = new Date(2026, 0, 5, 3, 9);
  assert.match(timeOf(at, 'en-US'), /^3:09\sAM$/u);
  assert.match(timeOf(new Date(2026, 0, 5, 15, 9), 'en-US'), /^3:09\sPM$/u);
  assert.equal(timeOf(new Date(2026, 0, 5, 15, 9), 'de-DE'), '15:09', 'a 24-hour locale');
  assert.equal(timeOf(at), new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' }).format(at));
});
