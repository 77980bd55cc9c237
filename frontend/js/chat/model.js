// The chat page's bookkeeping without the DOM or the socket, so node can test
// it: a room's messages (history and live merged by id, shown by seq), unread
// counting, paging, what a send_message ack means, and list orders.

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
    unread: 0,
    feed: false, // this socket receives the room's live events
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
 * and an own message confirms the pending one with its client_msg_id.
 * Unread: messages from others that this reader has not seen (`seen`: the room
 * is in view on a visible page); live ones always count, history ones only
 * past `readUpTo` (the last seq read here, undefined if never opened).
 * Returns {added, unread, readFrom}: `readFrom` is a seq to start counting
 * from when the room was never opened here (history of a new room), else undefined.
 */
export function mergeMessages(c, list, { meId, live = false, seen = false, readUpTo } = {}) {
  let added = 0;
  let unread = 0;
  for (const m of list || []) {
    if (!m || m.id === undefined) continue;
    if (m.client_msg_id && c.pending.has(m.client_msg_id) && m.user?.id === meId) c.pending.delete(m.client_msg_id);
    if (c.byId.has(m.id)) continue;
    c.byId.set(m.id, m);
    added++;
    const fromOther = m.user?.id !== meId;
    if (fromOther && !seen && (live || (readUpTo !== undefined && m.seq > readUpTo))) unread++;
  }
  c.unread += unread;
  let readFrom;
  if (readUpTo === undefined && !live) readFrom = lastSeq(c) || undefined;
  return { added, unread, readFrom };
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

/** Unread messages over the rooms still listed, except the one in view. */
export function unreadTotal(convs, rooms, current) {
  let total = 0;
  for (const [id, c] of convs) if (rooms.has(id) && id !== current) total += c.unread;
  return total;
}

/** The tab title: the unread count first, else the room in view. */
export function pageTitle(total, room) {
  if (total) return `(${total}) Chat`;
  return room ? `${room.name} — Chat` : 'Chat';
}

/** Rooms by name, case-insensitively (sorts in place and returns the array). */
export function sortRooms(list) {
  return list.sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }));
}

/** Members online first, then by name (sorts in place and returns the array). */
export function sortMembers(list, statusOf, nameOf) {
  return list.sort((a, b) => {
    const sa = statusOf(a) === 'online' ? 0 : 1;
    const sb = statusOf(b) === 'online' ? 0 : 1;
    return sa - sb || nameOf(a).localeCompare(nameOf(b));
  });
}
