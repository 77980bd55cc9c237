// Unit tests for js/chat/notify-model.js: which messages notify, what the
// notification says, and the settings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BODY_CHARS, notificationText, notifyKey, notifyReason, notifySettings } from '../js/chat/notify-model.js';

const ME = 1;
const dm = { id: 5, kind: 'dm' };
const room = { id: 6, kind: 'room', name: 'general' };
const msg = (over = {}) => ({ id: 9, room_id: 6, content: 'hello', user: { id: 2, first_name: 'Ana', last_name: 'Lima' }, mentions: [], ...over });

test('a DM or a mention of us notifies while the tab is hidden', () => {
  assert.equal(notifyReason(msg({ room_id: 5 }), { room: dm, meId: ME, hidden: true }), 'dm');
  assert.equal(notifyReason(msg({ mentions: [ME] }), { room, meId: ME, hidden: true }), 'mention');
  assert.equal(notifyReason(msg(), { room, meId: ME, hidden: true }), null, 'a plain room message does not');
  assert.equal(notifyReason(msg({ mentions: [3] }), { room, meId: ME, hidden: true }), null, 'someone else mentioned');
});

test('never our own, a muted room, the room in view, a visible tab or a deleted message', () => {
  assert.equal(notifyReason(msg({ user: { id: ME } }), { room: dm, meId: ME, hidden: true }), null);
  assert.equal(notifyReason(msg(), { room: dm, meId: ME, hidden: true, muted: true }), null);
  assert.equal(notifyReason(msg(), { room: dm, meId: ME, hidden: false, viewing: true }), null);
  assert.equal(notifyReason(msg(), { room: dm, meId: ME, hidden: false }), null);
  assert.equal(notifyReason(msg({ deleted: true }), { room: dm, meId: ME, hidden: true }), null);
  assert.equal(notifyReason(null, { room: dm, meId: ME, hidden: true }), null);
});

test('what it says', () => {
  assert.deepEqual(notificationText(msg({ content: 'lunch?' }), { reason: 'dm', senderName: 'Ana Lima' }), { title: 'Ana Lima', body: 'lunch?', tag: 'chat-message-9' });
  assert.equal(notificationText(msg(), { reason: 'mention', senderName: 'Ana Lima', roomName: 'general' }).title, 'Ana Lima in #general');
  const long = notificationText(msg({ content: `a\n\n${'x'.repeat(400)}` }), { reason: 'dm', senderName: 'Ana' }).body;
  assert.equal([...long].length, BODY_CHARS);
  assert.ok(long.startsWith('a x') && long.endsWith('…'));
});

test('settings: desktop on unless turned off, sound off unless turned on, mutes per room, per user', () => {
  const data = new Map();
  const storage = { getItem: (k) => data.get(k) ?? null, setItem: (k, v) => data.set(k, v), removeItem: (k) => data.delete(k) };
  const s = notifySettings(storage, 7);
  assert.deepEqual(s.get(), { desktop: true, sound: false, muted: [] });
  s.setSound(true);
  s.setDesktop(false);
  s.setMuted(5, true);
  s.setMuted(6, true);
  s.setMuted(5, false);
  assert.deepEqual(notifySettings(storage, 7).get(), { desktop: false, sound: true, muted: [6] });
  assert.equal(s.isMuted(6), true);
  assert.equal(notifySettings(storage, 8).isMuted(6), false, 'another user');
  assert.deepEqual([...data.keys()], [notifyKey(7)]);
  data.set(notifyKey(7), 'garbage');
  assert.deepEqual(s.get(), { desktop: true, sound: false, muted: [] });
});
