// Unit tests for js/chat/reads-model.js: unread counts kept live, the divider, "Seen by".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as reads from '../js/chat/reads-model.js';

const ME = 1;
const OTHER = 2;
const msg = (seq, user = OTHER, extra = {}) => ({ id: 100 + seq, seq, user: { id: user }, mentions: [], ...extra });
const room = (extra = {}) => ({ last_seq: 10, last_read_seq: 8, unread_count: 2, mention_count: 0, ...extra });

test('messages after the snapshot count once each; ours, deleted ones and those in view do not', () => {
  const r = room();
  assert.equal(reads.noteArrivals(r, [msg(9), msg(10)], { meId: ME }), false, 'already counted by the server');
  assert.equal(reads.noteArrivals(r, [msg(12), msg(11, OTHER, { mentions: [ME] }), msg(13, ME), msg(14, OTHER, { deleted: true })], { meId: ME }), true);
  assert.deepEqual([r.unread_count, r.mention_count, r.last_seq], [4, 1, 14]);
  reads.noteArrivals(r, [msg(12)], { meId: ME }); // a repeat
  reads.noteArrivals(r, [msg(15)], { meId: ME, viewing: true });
  assert.deepEqual([r.unread_count, r.last_seq], [4, 15]);
});

test('a room without a snapshot starts counting from the newest message', () => {
  const r = {};
  reads.noteArrivals(r, [msg(3), msg(5)], { meId: ME });
  assert.deepEqual([r.unread_count, r.last_seq], [undefined, 5]);
  reads.noteArrivals(r, [msg(6)], { meId: ME });
  assert.equal(r.unread_count, 1);
});

test('deleting an unread message uncounts it, once', () => {
  const r = room({ unread_count: 2, mention_count: 1 });
  const before = msg(9, OTHER, { mentions: [ME] });
  assert.equal(reads.noteDeleted(r, { ...before, deleted: true, mentions: [] }, before, { meId: ME }), true);
  assert.deepEqual([r.unread_count, r.mention_count], [1, 0]);
  assert.equal(reads.noteDeleted(r, { ...before, deleted: true }, { ...before, deleted: true }, { meId: ME }), false);
  assert.equal(reads.noteDeleted(r, msg(7), undefined, { meId: ME }), false, 'already read');
  assert.equal(reads.noteDeleted(r, msg(10, ME), undefined, { meId: ME }), false, 'our own');
  assert.equal(reads.noteDeleted(r, msg(11), undefined, { meId: ME }), false, 'not counted yet');
});

test('marking read, and reading elsewhere', () => {
  const r = room({ mention_count: 1 });
  assert.equal(reads.needsMark(r, 10), true);
  assert.equal(reads.markedRead(r, 10), true);
  assert.deepEqual([r.unread_count, r.mention_count, r.last_read_seq], [0, 0, 10]);
  assert.equal(reads.needsMark(r, 10), false);
  assert.equal(reads.markedRead(r, 10), false);

  const other = room({ last_seq: 12, unread_count: 4 });
  assert.equal(reads.readElsewhere(other, 10), true);
  assert.equal(other.unread_count, 4, 'not read to the end: the count stays');
  assert.equal(reads.readElsewhere(other, 12), true);
  assert.equal(other.unread_count, 0);
  assert.equal(reads.readElsewhere(other, 11), false, 'read positions only move forward');
});

test('the "New messages" divider: above the first message from someone else after the read position', () => {
  assert.equal(reads.dividerAfter(room()), 8);
  assert.equal(reads.dividerAfter(room({ unread_count: 0 })), null);
  const list = [msg(8), msg(9, ME), msg(10), msg(11)];
  assert.equal(reads.firstUnreadId(list, 8, ME), 110);
  assert.equal(reads.firstUnreadId(list, 11, ME), null);
  assert.equal(reads.firstUnreadId(list, null, ME), null);
});

test('"Seen by" under our last message', () => {
  const list = [msg(1, ME), msg(2), msg(3, ME), msg(4, ME, { deleted: true }), { client_msg_id: 'c', pending: true, user: { id: ME } }];
  assert.equal(reads.ownLast(list, ME).seq, 3);
  assert.equal(reads.ownLast([msg(1)], ME), null);
  const positions = new Map([[ME, 9], [2, 3], [3, 2], [4, 5]]);
  assert.deepEqual(reads.seenBy(positions, 3, { meId: ME }), [2, 4]);
  assert.deepEqual(reads.seenBy(positions, 3, { meId: ME, memberIds: new Set([1, 2, 3]) }), [2], 'former members left out');
  assert.deepEqual(reads.seenBy(null, 3, { meId: ME }), []);
  assert.equal(reads.seenText([]), '');
  assert.equal(reads.seenText(['Ben']), 'Seen by Ben');
  assert.equal(reads.seenText(['Ben', 'Cy']), 'Seen by Ben and Cy');
  assert.equal(reads.seenText(['Ben', 'Cy', 'Di']), 'Seen by Ben, Cy and Di');
  assert.equal(reads.seenText(['Ben', 'Cy', 'Di', 'Ed']), 'Seen by 4 people');
});
