// Unit tests for js/chat/model.js: the chat page's bookkeeping, without DOM or socket.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as model from '../js/chat/model.js';

const ME = 1;
const OTHER = 2;
const msg = (id, seq, user = OTHER, extra = {}) => ({ id, seq, room_id: 7, user: { id: user }, content: `m${seq}`, created_at: '2026-11-24T10:00:00Z', ...extra });
const seqs = (c) => model.orderedMessages(c).map((m) => m.seq ?? m.client_msg_id);

test('a new room has no messages and unknown paging', () => {
  const c = model.newConv();
  assert.equal(c.byId.size, 0);
  assert.equal(c.pending.size, 0);
  assert.equal(c.hasMore, null);
  assert.equal(c.loaded, false);
  assert.equal(c.lastChange, 0);
  assert.equal(c.divider, null);
  assert.equal(model.lastSeq(c), 0);
  assert.equal(model.firstSeq(c), 0);
});

test('history and live messages merge by id and show by seq, whatever order they came in', () => {
  const c = model.newConv();
  model.mergeMessages(c, [msg(13, 3), msg(14, 4)], { meId: ME }); // live ones first
  model.mergeMessages(c, [msg(11, 1), msg(12, 2), msg(13, 3)], { meId: ME }); // then the history, overlapping
  model.mergeMessages(c, [msg(15, 5), msg(14, 4)], { meId: ME }); // a catch-up repeating one
  assert.deepEqual(seqs(c), [1, 2, 3, 4, 5]);
  assert.equal(c.byId.size, 5);
  assert.equal(model.firstSeq(c), 1);
  assert.equal(model.lastSeq(c), 5);
});

test('merging counts what was new and skips junk', () => {
  const c = model.newConv();
  assert.equal(model.mergeMessages(c, [msg(1, 1), null, { seq: 9 }], { meId: ME }).added, 1);
  assert.equal(model.mergeMessages(c, [msg(1, 1)], { meId: ME }).added, 0);
  assert.equal(model.mergeMessages(c, undefined, { meId: ME }).added, 0);
});

test('own pending messages come last, in the order written, until confirmed by client_msg_id', () => {
  const c = model.newConv();
  model.mergeMessages(c, [msg(1, 1)], { meId: ME });
  c.pending.set('c-b', { client_msg_id: 'c-b', local_at: 20, user: { id: ME } });
  c.pending.set('c-a', { client_msg_id: 'c-a', local_at: 10, user: { id: ME } });
  assert.deepEqual(seqs(c), [1, 'c-a', 'c-b']);
  // Someone else's message with the same client_msg_id confirms nothing of ours.
  model.mergeMessages(c, [msg(2, 2, OTHER, { client_msg_id: 'c-a' })], { meId: ME });
  assert.equal(c.pending.size, 2);
  // Ours does, and takes its place by seq; a second copy (ack and event) changes nothing.
  model.mergeMessages(c, [msg(3, 3, ME, { client_msg_id: 'c-a' })], { meId: ME });
  model.mergeMessages(c, [msg(3, 3, ME, { client_msg_id: 'c-a' })], { meId: ME });
  assert.deepEqual(seqs(c), [1, 2, 3, 'c-b']);
});

test('a message held is replaced only by a newer state of it (by change_seq)', () => {
  const c = model.newConv();
  model.mergeMessages(c, [msg(1, 1, OTHER, { change_seq: 3, content: 'edited' })], { meId: ME });
  // An older page read before the edit, then a repeat: both ignored.
  model.mergeMessages(c, [msg(1, 1, OTHER, { change_seq: 0, content: 'original' })], { meId: ME });
  model.mergeMessages(c, [msg(1, 1, OTHER, { change_seq: 3, content: 'again' })], { meId: ME });
  assert.equal(c.byId.get(1).content, 'edited');
  // A catch-up with a later state: taken, and not counted as new.
  assert.equal(model.mergeMessages(c, [msg(1, 1, OTHER, { change_seq: 5, content: '', deleted: true })], { meId: ME }).added, 0);
  assert.equal(c.byId.get(1).deleted, true);
});

test('an answer is the older page only while one is asked for and it ends before what we have', () => {
  const c = model.newConv();
  model.mergeMessages(c, [msg(51, 51), msg(52, 52)], { meId: ME });
  c.loaded = true;
  assert.equal(model.isOlderPage(c, [msg(49, 49), msg(50, 50)]), false); // not asked
  c.loadingOlder = true;
  assert.equal(model.isOlderPage(c, [msg(49, 49), msg(50, 50)]), true);
  assert.equal(model.isOlderPage(c, []), true);
  assert.equal(model.isOlderPage(c, [msg(52, 52), msg(53, 53)]), false); // a catch-up
  c.loaded = false;
  assert.equal(model.isOlderPage(c, [msg(49, 49)]), false);
});

test('paging: are there older messages?', () => {
  const page = (from, n) => Array.from({ length: n }, (_, i) => msg(from + i, from + i));
  // The server says so: believed.
  assert.equal(model.firstPageHasMore(page(1, 3), true), true);
  assert.equal(model.firstPageHasMore(page(21, 50), false), false);
  // It does not: a full page not starting at seq 1.
  assert.equal(model.firstPageHasMore(page(21, 50)), true);
  assert.equal(model.firstPageHasMore(page(1, 50)), false);
  assert.equal(model.firstPageHasMore(page(5, 10)), false);
  assert.equal(model.firstPageHasMore([]), false);

  assert.equal(model.olderPageHasMore(page(1, 20), false, 21), false);
  assert.equal(model.olderPageHasMore(page(31, 50), true, 81), true);
  assert.equal(model.olderPageHasMore(page(31, 50), undefined, 81), true);
  assert.equal(model.olderPageHasMore(page(31, 20), undefined, 51), false);
  assert.equal(model.olderPageHasMore([], true, 21), false); // an empty page ends it
  assert.equal(model.olderPageHasMore([], undefined, 21), false);
  assert.equal(model.olderPageHasMore(page(1, 50), undefined, 1), false); // nothing before seq 1
});

test('what a send_message answer means', () => {
  const stored = msg(9, 9, ME);
  assert.deepEqual(model.sendOutcome(new Error('socket has been disconnected'), undefined, false), { kind: 'requeue' });
  assert.deepEqual(model.sendOutcome(null, { ok: true, message: stored }, true), { kind: 'confirmed', message: stored });
  assert.deepEqual(model.sendOutcome(null, { ok: false, error: { code: 'token_expired' } }, true), { kind: 'reauth' });
  assert.deepEqual(model.sendOutcome(null, { ok: true }, true), { kind: 'wait' });
  assert.deepEqual(model.sendOutcome(new Error('operation has timed out'), undefined, true), { kind: 'failed', error: 'No answer from the server.' });
  assert.deepEqual(model.sendOutcome(null, { ok: false, error: { code: 'invalid_argument', message: 'content: too long' } }, true), { kind: 'failed', error: 'content: too long' });
  assert.deepEqual(model.sendOutcome(null, undefined, true), { kind: 'failed', error: 'Not sent.' });
});

test('unread badges and the tab title', () => {
  assert.equal(model.badgeText(0), '0');
  assert.equal(model.badgeText(99), '99');
  assert.equal(model.badgeText(100), '99+');
  const rooms = new Map([
    [1, { name: 'general', is_member: true, unread_count: 2 }],
    [2, { name: 'random', is_member: true, unread_count: 5 }],
    [3, { name: 'lobby', is_member: false, unread_count: 0 }],
    [4, { name: 'new', is_member: true }], // no count yet
  ]);
  assert.equal(model.unreadTotal(rooms, null), 7);
  assert.equal(model.unreadTotal(rooms, 2), 2); // the room in view does not count
  assert.equal(model.pageTitle(7, rooms.get(1)), '(7) Chat');
  assert.equal(model.pageTitle(0, rooms.get(1)), 'general — Chat');
  assert.equal(model.pageTitle(0, undefined), 'Chat');
});

test('rooms by name, members online first', () => {
  const rooms = [{ name: 'random' }, { name: 'General' }, { name: 'archive' }];
  assert.deepEqual(model.sortRooms(rooms).map((r) => r.name), ['archive', 'General', 'random']);
  const people = [{ id: 1, n: 'Cy', s: 'offline' }, { id: 2, n: 'Ben', s: 'online' }, { id: 3, n: 'Ana', s: 'offline' }, { id: 4, n: 'Dee', s: 'online' }];
  assert.deepEqual(model.sortMembers(people, (m) => m.s, (m) => m.n).map((m) => m.n), ['Ben', 'Dee', 'Ana', 'Cy']);
});

test('a page after a long absence replaces what was shown, keeping own unsent messages', () => {
  const c = model.newConv();
  model.mergeMessages(c, [{ id: 1, seq: 1 }, { id: 2, seq: 2 }], { meId: 9 });
  c.pending.set('c-1', { client_msg_id: 'c-1', content: 'unsent' });
  model.resetToPage(c);
  assert.equal(c.byId.size, 0);
  assert.equal(c.pending.size, 1);
  assert.equal(c.hasMore, true);
  assert.equal(c.loaded, false);
});

// ---- private rooms, roles and direct messages

const dm = (id, other, extra = {}) => ({ id, name: '', kind: 'dm', visibility: 'private', is_member: true, my_role: 'member', other_user: other, ...extra });
const room = (id, name, extra = {}) => ({ id, name, kind: 'room', visibility: 'public', is_member: true, my_role: 'member', member_count: 2, created_by: { id: 1, name: 'Ana Lima' }, ...extra });

test('a DM is called by the other person\'s name, a room by its own', () => {
  assert.equal(model.roomTitle(dm(5, { id: 2, first_name: 'Ben', last_name: 'Ng' })), 'Ben Ng');
  assert.equal(model.roomTitle(dm(5, { id: 2, first_name: '', last_name: '' })), 'User 2');
  assert.equal(model.roomTitle(dm(5, undefined)), 'Someone');
  assert.equal(model.roomTitle(room(1, 'general')), 'general');
  assert.equal(model.roomTitle(undefined), '');
  assert.equal(model.pageTitle(0, dm(5, { id: 2, first_name: 'Ben', last_name: 'Ng' })), 'Ben Ng — Chat');
  assert.equal(model.isDm(dm(5, {})), true);
  assert.equal(model.isDm(room(1, 'x')), false);
});

test('the sidebar splits rooms joined, other rooms and DMs, each sorted by what it is called', () => {
  const list = [
    room(1, 'random'),
    dm(2, { id: 9, first_name: 'Zoe', last_name: 'Q' }),
    room(3, 'lobby', { is_member: false, my_role: null }),
    room(4, 'Archive', { visibility: 'private' }),
    dm(5, { id: 8, first_name: 'ben', last_name: 'Ng' }),
  ];
  const { mine, others, dms } = model.roomSections(list);
  assert.deepEqual(mine.map((r) => r.id), [4, 1]);
  assert.deepEqual(others.map((r) => r.id), [3]);
  assert.deepEqual(dms.map((r) => r.id), [5, 2]);
});

test('the line under a room\'s title', () => {
  assert.equal(model.roomMeta(room(1, 'general', { member_count: 1 })), '1 member · created by Ana Lima');
  assert.equal(model.roomMeta(room(1, 'general', { member_count: 3, visibility: 'private' })), '3 members · private · created by Ana Lima');
  assert.equal(model.roomMeta(dm(2, { id: 2 })), 'Direct message');
});

test('room actions follow the viewer\'s role, and a DM has none', () => {
  const none = { invite: false, leave: false, delete: false };
  assert.deepEqual(model.roomActions(room(1, 'r', { my_role: 'owner' })), { invite: true, leave: false, delete: true });
  assert.deepEqual(model.roomActions(room(1, 'r', { my_role: 'admin' })), { invite: true, leave: true, delete: false });
  assert.deepEqual(model.roomActions(room(1, 'r', { my_role: 'member' })), { invite: false, leave: true, delete: false });
  assert.deepEqual(model.roomActions(room(1, 'r', { is_member: false, my_role: null })), none);
  assert.deepEqual(model.roomActions(dm(2, { id: 2 })), none);
  assert.deepEqual(model.roomActions(undefined), none);
});

test('member actions: owners do everything to others, admins remove plain members, members only message', () => {
  const acts = (viewerRole, targetRole, extra = {}) => model.memberActions({ viewerRole, targetRole, ...extra });
  assert.deepEqual(acts('owner', 'member'), ['message', 'make_admin', 'make_owner', 'remove']);
  assert.deepEqual(acts('owner', 'admin'), ['message', 'remove_admin', 'make_owner', 'remove']);
  assert.deepEqual(acts('owner', 'owner'), ['message']); // stale data: never hand over or remove the owner
  assert.deepEqual(acts('admin', 'member'), ['message', 'remove']);
  assert.deepEqual(acts('admin', 'admin'), ['message']);
  assert.deepEqual(acts('admin', 'owner'), ['message']);
  assert.deepEqual(acts('member', 'member'), ['message']);
  assert.deepEqual(acts(null, 'member'), ['message']); // looking at a public room's members from outside
  assert.deepEqual(acts('owner', undefined), ['message', 'make_admin', 'make_owner', 'remove']); // no role yet: a member
  assert.deepEqual(acts('owner', 'owner', { self: true }), []); // nothing on yourself
  assert.deepEqual(acts('member', 'member', { dm: true }), []); // a DM: already talking
});

test('only owners and admins wear a badge', () => {
  assert.equal(model.roleBadge('owner'), 'owner');
  assert.equal(model.roleBadge('admin'), 'admin');
  assert.equal(model.roleBadge('member'), null);
  assert.equal(model.roleBadge(undefined), null);
});

test('what room_updated means for the list', () => {
  assert.equal(model.roomUpdateOutcome(room(1, 'r', { is_member: false }), { visibility: 'private' }), 'drop');
  assert.equal(model.roomUpdateOutcome(room(1, 'r'), { visibility: 'private' }), 'patch');
  assert.equal(model.roomUpdateOutcome(room(1, 'r', { is_member: false }), { visibility: 'public', name: 'x' }), 'patch');
  assert.equal(model.roomUpdateOutcome(undefined, { visibility: 'public' }), 'fetch');
  assert.equal(model.roomUpdateOutcome(undefined, { visibility: 'private' }), 'ignore');
});

test('after losing a membership only a public room stays listed', () => {
  assert.equal(model.staysListed(room(1, 'r')), true);
  assert.equal(model.staysListed(room(1, 'r', { visibility: 'private' })), false);
  assert.equal(model.staysListed(dm(2, { id: 2 })), false);
  assert.equal(model.staysListed(undefined), false);
});

test("the message box's placeholder names the room, cut short when long", () => {
  assert.equal(model.composerPlaceholder({ name: 'general' }), 'Message #general');
  assert.equal(model.composerPlaceholder({ kind: 'dm', other_user: { first_name: 'Ana', last_name: 'Lima' } }), 'Message Ana Lima');
  const long = model.composerPlaceholder({ name: 'x'.repeat(100) });
  assert.equal([...long.slice('Message '.length)].length, model.PLACEHOLDER_NAME_CHARS);
  assert.ok(long.endsWith('…'));
});

test('"Jump to latest" counts the new messages', () => {
  assert.deepEqual(model.jumpLabel(1), { text: 'Jump to latest · 1 new', aria: 'Jump to latest: 1 new message' });
  assert.deepEqual(model.jumpLabel(120), { text: 'Jump to latest · 99+ new', aria: 'Jump to latest: 120 new messages' });
});

test('Alt+arrows and the switcher go through rooms joined, then DMs, as the pane lists them', () => {
  const list = [
    { id: 1, name: 'zeta', is_member: true },
    { id: 2, kind: 'dm', other_user: { first_name: 'Ana' }, is_member: true },
    { id: 3, name: 'Alpha', is_member: true },
    { id: 4, name: 'other', is_member: false },
  ];
  assert.deepEqual(model.roomOrder(list).map((r) => r.id), [3, 1, 2]);
});
