// Read positions without the DOM or the socket, so node can test them: the
// server's unread and mention counts kept live between room lists, the
// "New messages" divider, and "Seen by".
//
// A room from REST (or `joined_room`) carries `last_seq`, `last_read_seq`,
// `unread_count` and `mention_count` as the server counted them: messages
// after the read position that are neither our own nor deleted. Messages
// arriving after that (history or live) add to the counts once each, by seq.

/**
 * Counts messages that arrived in `room` after the server's snapshot
 * (seq > room.last_seq). `viewing`: the room is in view on a visible page,
 * so they are read at once (the caller marks them). A room whose snapshot
 * has no last_seq starts counting from the newest message given.
 * Returns whether the counts changed.
 */
export function noteArrivals(room, messages, { meId, viewing = false } = {}) {
  if (!room || !messages?.length) return false;
  const sorted = [...messages].filter((m) => m && Number.isFinite(m.seq)).sort((a, b) => a.seq - b.seq);
  if (!Number.isFinite(room.last_seq)) {
    room.last_seq = sorted.length ? sorted[sorted.length - 1].seq : 0;
    return false;
  }
  let changed = false;
  for (const m of sorted) {
    if (m.seq <= room.last_seq) continue;
    room.last_seq = m.seq;
    if (viewing || m.user?.id === meId || m.deleted) continue;
    room.unread_count = (room.unread_count || 0) + 1;
    if (m.mentions?.includes(meId)) room.mention_count = (room.mention_count || 0) + 1;
    changed = true;
  }
  return changed;
}

/**
 * A message was deleted: if it counted as unread (someone else's, after our
 * read position, already counted), it no longer does. `before`: the message
 * as held before the tombstone (for its mentions), if we had it.
 */
export function noteDeleted(room, tombstone, before, { meId } = {}) {
  if (!room || !tombstone) return false;
  const seq = tombstone.seq ?? before?.seq;
  const from = tombstone.user?.id ?? before?.user?.id;
  if (before?.deleted) return false;
  if (!(seq > (room.last_read_seq || 0)) || !(seq <= (room.last_seq || 0)) || from === meId) return false;
  if (!(room.unread_count > 0)) return false;
  room.unread_count -= 1;
  if (before?.mentions?.includes(meId) && room.mention_count > 0) room.mention_count -= 1;
  return true;
}

/** We have read `room` up to `seq`: nothing of it is unread. Returns whether anything changed. */
export function markedRead(room, seq) {
  if (!room) return false;
  const changed = (room.unread_count || 0) !== 0 || (room.mention_count || 0) !== 0 || seq > (room.last_read_seq || 0);
  room.unread_count = 0;
  room.mention_count = 0;
  if (seq > (room.last_read_seq || 0)) room.last_read_seq = seq;
  if (!(room.last_seq >= seq)) room.last_seq = seq;
  return changed;
}

/**
 * Our read position moved elsewhere (another tab: `read_updated` for us, or
 * a mark_read answer). Read up to the room's newest message: nothing unread.
 */
export function readElsewhere(room, lastReadSeq) {
  if (!room || !(lastReadSeq > (room.last_read_seq || 0))) return false;
  room.last_read_seq = lastReadSeq;
  if (lastReadSeq >= (room.last_seq || 0)) {
    room.unread_count = 0;
    room.mention_count = 0;
  }
  return true;
}

/** Whether the room needs a mark_read up to `seq`. */
export function needsMark(room, seq) {
  return !!room && seq > 0 && (seq > (room.last_read_seq || 0) || (room.unread_count || 0) > 0 || (room.mention_count || 0) > 0);
}

/** When a room is opened: the seq the "New messages" divider goes after, or null if nothing is unread. */
export function dividerAfter(room) {
  return room && room.unread_count > 0 ? room.last_read_seq || 0 : null;
}

/** The id of the first message from someone else after seq `after` (ordered by seq), or null. */
export function firstUnreadId(ordered, after, meId) {
  if (after === null || after === undefined) return null;
  const m = ordered.find((x) => x.seq > after && x.user?.id !== meId && !x.pending);
  return m ? m.id : null;
}

/** Our last stored message, which "Seen by" goes under (not a tombstone), or null. */
export function ownLast(ordered, meId) {
  for (let i = ordered.length - 1; i >= 0; i--) {
    const m = ordered[i];
    if (m.user?.id === meId && m.seq && !m.pending && !m.failed && !m.deleted) return m;
  }
  return null;
}

/**
 * Who has read up to `seq`: the user ids, other than ours, whose read
 * position reached it, among `memberIds` when known, in the order given by
 * `reads` (a Map userId -> last_read_seq).
 */
export function seenBy(reads, seq, { meId, memberIds } = {}) {
  if (!reads || !seq) return [];
  const ids = [];
  for (const [userId, last] of reads) {
    if (userId === meId || last < seq) continue;
    if (memberIds && !memberIds.has(userId)) continue;
    ids.push(userId);
  }
  return ids;
}

/** "Seen by Ben", "Seen by Ben and Cy", "Seen by Ben, Cy and Di", "Seen by 5 people"; '' for nobody. */
export function seenText(names) {
  if (!names.length) return '';
  if (names.length === 1) return `Seen by ${names[0]}`;
  if (names.length <= 3) return `Seen by ${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  return `Seen by ${names.length} people`;
}
