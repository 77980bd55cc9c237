// The chat page's bookkeeping without the DOM or the socket, so node can test
// it: a room's messages (history and live merged by id, shown by seq, a newer
// state of a message by change_seq), paging, what a send_message ack means,
// list orders, and what rooms, DMs and roles allow. Unread counts come from
// the server (see reads-model.js); changes to messages, changes-model.js.

import { fullName } from '../dom.js';

/** Messages per history page (the server's default for join_room and get_messages). */
export const HISTORY_PAGE = 50;

/** A room's message state. */
export function newConv() {
  return {
    byId: new Map(), // confirmed messages by id
    pending: new Map(), // own unconfirmed messages by client_msg_id
    hasMore: null, // older messages exist (null: unknown yet)
    loaded: false, // first history arrived
    loadingOlder: false,
    feed: false, // this socket receives the room's live events
    lastChange: 0, // the room's highest change_seq heard from the feed (sent back as since_change)
    reads: null, // userId -> last_read_seq (GET /chat/rooms/{id}/reads, then read_updated)
    divider: null, // "New messages" goes above the first message from others after this seq
    dividerShown: false, // the view has been scrolled to the divider once
    unseen: 0, // messages from others that arrived while scrolled up ("Jump to latest")
    loadWaiters: [], // resolved when the first history arrives (history.js)
    olderWaiters: [], // resolved when the older page asked for arrives (history.js)
  };
}

/** Forgets the confirmed messages (keeping own pending ones) before a fresh newest page. */
export function resetToPage(c) {
  c.byId.clear();
  c.hasMore = true;
  c.loaded = false;
}

/** The newest confirmed seq, or 0. */
export function lastSeq(c) {
  let max = 0;
  for (const m of c.byId.values()) if (m.seq > max) max = m.seq;
  return max;
}

/** The oldest confirmed seq, or 0. */
export function firstSeq(c) {
  let min = Infinity;
  for (const m of c.byId.values()) if (m.seq < min) min = m.seq;
  return min === Infinity ? 0 : min;
}

/** What to show: confirmed messages by seq, then own pending ones in the order written. */
export function orderedMessages(c) {
  const confirmed = [...c.byId.values()].sort((a, b) => a.seq - b.seq);
  const pending = [...c.pending.values()].sort((a, b) => a.local_at - b.local_at);
  return confirmed.concat(pending);
}

/**
 * Adds confirmed messages (history or live, in any order) to `c`: each id once,
 * and an own message confirms the pending one with its client_msg_id. A
 * message already held is replaced only by a newer state of it (a greater
 * change_seq: edited, deleted or reacted to since). Returns {added}: how many
 * were new.
 */
export function mergeMessages(c, list, { meId } = {}) {
  let added = 0;
  for (const m of list || []) {
    if (!m || m.id === undefined) continue;
    if (m.client_msg_id && c.pending.has(m.client_msg_id) && m.user?.id === meId) c.pending.delete(m.client_msg_id);
    const held = c.byId.get(m.id);
    if (held) {
      if ((m.change_seq || 0) > (held.change_seq || 0)) c.byId.set(m.id, m);
      continue;
    }
    c.byId.set(m.id, m);
    added++;
  }
  return { added };
}

/**
 * Whether a messages_history answer is the older page asked for by
 * get_messages (rather than a join's history or catch-up).
 */
export function isOlderPage(c, messages) {
  const min = firstSeq(c);
  return c.loadingOlder && c.loaded && (messages.length === 0 || messages[messages.length - 1].seq < min);
}

/** After the first history of a room: do older messages exist? */
export function firstPageHasMore(messages, hasMore) {
  return typeof hasMore === 'boolean' ? hasMore : messages.length >= HISTORY_PAGE && (messages[0]?.seq ?? 1) > 1;
}

/** After an older page asked for `before` a seq: do still older messages exist? */
export function olderPageHasMore(messages, hasMore, before) {
  if (messages.length === 0 || before <= 1) return typeof hasMore === 'boolean' ? hasMore && messages.length > 0 : false;
  return typeof hasMore === 'boolean' ? hasMore : messages.length >= HISTORY_PAGE;
}

/**
 * What a send_message answer means for the pending message:
 * 'requeue' (the connection dropped first: send again, same client_msg_id,
 * once back), 'confirmed' (the ack carries the stored message), 'reauth'
 * (token expired: refresh, then send again), 'wait' (ok without the message:
 * new_message will confirm it), or 'failed' with an `error` to show.
 */
export function sendOutcome(err, ack, connected) {
  if (err && !connected) return { kind: 'requeue' };
  if (!err && ack?.ok && ack.message) return { kind: 'confirmed', message: ack.message };
  if (!err && ack?.error?.code === 'token_expired') return { kind: 'reauth' };
  if (!err && ack?.ok) return { kind: 'wait' };
  return { kind: 'failed', error: err ? 'No answer from the server.' : ack?.error?.message || 'Not sent.' };
}

/** "7", or "99+" past 99. */
export function badgeText(n) {
  return n > 99 ? '99+' : String(n);
}

/** Unread messages (the server's counts, kept live) over the rooms we are in, except the one in view. */
export function unreadTotal(rooms, current) {
  let total = 0;
  for (const [id, room] of rooms) if (room.is_member && id !== current) total += room.unread_count || 0;
  return total;
}

/** The tab title: the unread count first, else the room in view. */
export function pageTitle(total, room) {
  if (total) return `(${total}) Chat`;
  return room ? `${roomTitle(room)} — Chat` : 'Chat';
}

export const isDm = (room) => room?.kind === 'dm';

/** What a room is called on screen: a DM (whose name is empty) by the other person's name. */
export function roomTitle(room) {
  if (isDm(room)) return fullName(room.other_user);
  return room?.name ?? '';
}

/** The most characters of a room's name the message box's placeholder shows (a long one would wrap). */
export const PLACEHOLDER_NAME_CHARS = 32;

/** The message box's placeholder: "Message #general", "Message Ana Lima", a long name cut with "…". */
export function composerPlaceholder(room) {
  const name = isDm(room) ? roomTitle(room) : `#${room?.name ?? ''}`;
  const chars = [...name];
  const shown = chars.length > PLACEHOLDER_NAME_CHARS ? `${chars.slice(0, PLACEHOLDER_NAME_CHARS - 1).join('').trimEnd()}…` : name;
  return `Message ${shown}`;
}

/** The "Jump to latest" button for `n` new messages below the view: {text, aria}. */
export function jumpLabel(n) {
  return { text: `Jump to latest · ${badgeText(n)} new`, aria: `Jump to latest: ${n} new ${n === 1 ? 'message' : 'messages'}` };
}

/** Rooms by what they are called, case-insensitively (sorts in place and returns the array). */
export function sortRooms(list) {
  return list.sort((a, b) => roomTitle(a).localeCompare(roomTitle(b), undefined, { sensitivity: 'base' }));
}

/** The sidebar's lists, each sorted: rooms joined, other rooms, direct messages. */
export function roomSections(list) {
  const mine = [];
  const others = [];
  const dms = [];
  for (const r of list) (isDm(r) ? dms : r.is_member ? mine : others).push(r);
  return { mine: sortRooms(mine), others: sortRooms(others), dms: sortRooms(dms) };
}

/** The rooms in the rooms pane's order: rooms joined, then direct messages (for Alt+↑/↓ and the quick switcher). */
export function roomOrder(list) {
  const { mine, dms } = roomSections(list);
  return [...mine, ...dms];
}

/** The line under the room's title. */
export function roomMeta(room) {
  if (isDm(room)) return 'Direct message';
  const n = room.member_count ?? 0;
  const parts = [`${n} ${n === 1 ? 'member' : 'members'}`];
  if (room.visibility === 'private') parts.push('private');
  parts.push(`created by ${room.created_by?.name || 'someone'}`);
  return parts.join(' · ');
}

/**
 * The room actions the viewer has, by their role: owners and admins invite,
 * members and admins leave (the owner hands the room over or deletes it
 * instead), the owner deletes. A DM has none of them.
 */
export function roomActions(room) {
  const role = room?.is_member ? room.my_role : null;
  const managed = !!room && !isDm(room);
  return {
    invite: managed && (role === 'owner' || role === 'admin'),
    leave: managed && !!room.is_member && role !== 'owner',
    delete: managed && role === 'owner',
  };
}

/** The badge a role shows in the members list: owners and admins only. */
export function roleBadge(role) {
  return role === 'owner' || role === 'admin' ? role : null;
}

/**
 * What the viewer (`viewerRole`: 'owner', 'admin', 'member' or null) may do
 * to a member entry (`targetRole`), in the order shown: 'message' (everyone
 * but yourself, outside DMs), 'make_admin' / 'remove_admin' and 'make_owner'
 * (the owner), 'remove' (the owner: anyone but themself; an admin: plain
 * members). The server checks every one of these again.
 */
export function memberActions({ viewerRole = null, targetRole = 'member', self = false, dm = false } = {}) {
  if (self || dm) return [];
  const target = targetRole || 'member';
  const actions = ['message'];
  if (viewerRole === 'owner' && target !== 'owner') {
    actions.push(target === 'admin' ? 'remove_admin' : 'make_admin', 'make_owner', 'remove');
  } else if (viewerRole === 'admin' && target === 'member') {
    actions.push('remove');
  }
  return actions;
}

/**
 * What a `room_updated` means for this list: 'drop' (a room we are not in
 * went private), 'fetch' (an unknown room, now public), 'patch' (rename or
 * visibility on a room we list), or 'ignore'.
 */
export function roomUpdateOutcome(room, { visibility } = {}) {
  if (!room) return visibility === 'public' ? 'fetch' : 'ignore';
  if (visibility === 'private' && !room.is_member) return 'drop';
  return 'patch';
}

/** After losing a membership, does the room stay listed (among the others)? Public rooms only. */
export function staysListed(room) {
  return !!room && !isDm(room) && room.visibility !== 'private';
}

/** Members online first, then by name (sorts in place and returns the array). */
export function sortMembers(list, statusOf, nameOf) {
  return list.sort((a, b) => {
    const sa = statusOf(a) === 'online' ? 0 : 1;
    const sb = statusOf(b) === 'online' ? 0 : 1;
    return sa - sb || nameOf(a).localeCompare(nameOf(b));
  });
}
