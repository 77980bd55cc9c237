// Unit tests for js/chat/changes-model.js: edits, tombstones and reactions by change_seq.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as changes from '../js/chat/changes-model.js';
import { newConv } from '../js/chat/model.js';

const ME = 1;
const OTHER = 2;
const msg = (id, extra = {}) => ({ id, seq: id, room_id: 7, user: { id: OTHER }, content: `m${id}`, change_seq: 0, reactions: [], ...extra });
const withMessages = (...list) => {
  const c = newConv();
  for (const m of list) c.byId.set(m.id, m);
  return c;
};

test('an edit applies only when newer than what is held, and moves the room position', () => {
  const c = withMessages(msg(1));
  assert.equal(changes.applyMessage(c, msg(1, { content: 'fixed', edited_at: '2026-11-26T10:00:00Z', change_seq: 4 })), true);
  assert.equal(c.byId.get(1).content, 'fixed');
  assert.equal(c.lastChange, 4);
  // A repeat, or an older state arriving late: ignored.
  assert.equal(changes.applyMessage(c, msg(1, { content: 'stale', change_seq: 4 })), false);
  assert.equal(changes.applyMessage(c, msg(1, { content: 'older', change_seq: 2 })), false);
  assert.equal(c.byId.get(1).content, 'fixed');
  assert.equal(c.lastChange, 4);
});

test('a change to a message not held still moves the room position; an ack does not', () => {
  const c = withMessages(msg(1));
  assert.equal(changes.applyMessage(c, msg(9, { change_seq: 6 })), false);
  assert.equal(c.lastChange, 6);
  assert.equal(changes.applyMessage(c, msg(1, { content: 'mine', change_seq: 8 }), { fromFeed: false }), true);
  assert.equal(c.lastChange, 6, 'change 7 may still be on its way');
});

test('a tombstone drops the reactions', () => {
  const c = withMessages(msg(1, { reactions: [{ emoji: '👍', count: 2, me: true }] }));
  changes.applyMessage(c, msg(1, { content: '', deleted: true, change_seq: 3, reactions: [{ emoji: '👍', count: 2 }] }));
  assert.equal(c.byId.get(1).deleted, true);
  assert.equal(c.byId.get(1).content, '');
  assert.deepEqual(c.byId.get(1).reactions, []);
});

test('an event for the whole room keeps our own `me`', () => {
  const c = withMessages(msg(1, { reactions: [{ emoji: '👍', count: 1, me: true }] }));
  changes.applyMessage(c, msg(1, { content: 'edited', change_seq: 2, reactions: [{ emoji: '👍', count: 1 }] }));
  assert.deepEqual(c.byId.get(1).reactions, [{ emoji: '👍', count: 1, me: true }]);
});

test('reaction_changed: counts for all, `me` when the reactor is us', () => {
  const c = withMessages(msg(1));
  const ev = (change_seq, user_id, added, reactions, emoji = '🎉') => ({ message_id: 1, change_seq, emoji, user_id, added, reactions });
  assert.equal(changes.applyReaction(c, ev(1, OTHER, true, [{ emoji: '🎉', count: 1 }]), ME), true);
  assert.deepEqual(c.byId.get(1).reactions, [{ emoji: '🎉', count: 1, me: false }]);
  changes.applyReaction(c, ev(2, ME, true, [{ emoji: '🎉', count: 2 }]), ME);
  assert.deepEqual(c.byId.get(1).reactions, [{ emoji: '🎉', count: 2, me: true }]);
  // Someone else's change keeps ours.
  changes.applyReaction(c, ev(3, OTHER, true, [{ emoji: '🎉', count: 2 }, { emoji: '😮', count: 1 }], '😮'), ME);
  assert.deepEqual(c.byId.get(1).reactions, [{ emoji: '🎉', count: 2, me: true }, { emoji: '😮', count: 1, me: false }]);
  // A late repeat changes nothing.
  assert.equal(changes.applyReaction(c, ev(2, ME, true, [{ emoji: '🎉', count: 2 }]), ME), false);
  // Ours removed; an emoji with no one left goes.
  changes.applyReaction(c, ev(4, ME, false, [{ emoji: '🎉', count: 1 }, { emoji: '😮', count: 1 }]), ME);
  changes.applyReaction(c, ev(5, OTHER, false, [{ emoji: '🎉', count: 1 }, { emoji: '😮', count: 0 }], '😮'), ME);
  assert.deepEqual(c.byId.get(1).reactions, [{ emoji: '🎉', count: 1, me: false }]);
  assert.equal(c.lastChange, 5);
});

test('what the viewer may do to a message', () => {
  const none = { react: false, edit: false, delete: false };
  const own = msg(1, { user: { id: ME } });
  const theirs = msg(2);
  assert.deepEqual(changes.messageActions(own, { meId: ME, role: 'member' }), { react: true, edit: true, delete: true });
  assert.deepEqual(changes.messageActions(theirs, { meId: ME, role: 'member' }), { react: true, edit: false, delete: false });
  assert.deepEqual(changes.messageActions(theirs, { meId: ME, role: 'admin' }), { react: true, edit: false, delete: true });
  assert.deepEqual(changes.messageActions(theirs, { meId: ME, role: 'owner' }), { react: true, edit: false, delete: true });
  assert.deepEqual(changes.messageActions(theirs, { meId: ME, role: 'owner', dm: true }), { react: true, edit: false, delete: false });
  assert.deepEqual(changes.messageActions(msg(3, { deleted: true, user: { id: ME } }), { meId: ME }), none);
  assert.deepEqual(changes.messageActions({ client_msg_id: 'c-1', pending: true, user: { id: ME } }, { meId: ME }), none);
});

test('quick emoji are single fully qualified emoji, and reaction labels read well', () => {
  assert.equal(changes.QUICK_EMOJI.length, 6);
  assert.ok(changes.QUICK_EMOJI.includes('❤️'));
  assert.equal(changes.reactionLabel({ emoji: '👍', count: 1, me: true }), '👍 1 reaction, including yours: remove yours');
  assert.equal(changes.reactionLabel({ emoji: '👍', count: 3, me: false }), '👍 3 reactions: add yours');
});

test('↑ in an empty box edits our last message that can still be edited', () => {
  const mine = (id, extra = {}) => msg(id, { user: { id: ME }, ...extra });
  const ordered = [mine(1), msg(2), mine(3, { deleted: true }), msg(4), { client_msg_id: 'c-1', user: { id: ME }, pending: true }];
  assert.equal(changes.changeableLast(ordered, ME).id, 1, 'not a tombstone, not a pending one');
  assert.equal(changes.changeableLast([msg(2)], ME), null);
});
