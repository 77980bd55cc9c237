// Read positions: the server's unread and mention counts kept live as
// messages arrive or are deleted (reads-model.js), marking the room in view
// read (`mark_read` with its newest seq), the "New messages" divider when a
// room with unread messages is opened, and "Seen by" under our own last
// message (`GET /chat/rooms/{id}/reads`, then `read_updated`).

import { get, post } from '../api.js';
import { lastSeq } from './model.js';
import { personOf } from './message.js';
import * as reads from './reads-model.js';
import { isAtBottom, renderMessages } from './conversation.js';
import { renderRooms } from './rooms.js';
import { emit, socket } from './socket.js';
import { conv, convs, members, rooms, state } from './state.js';

/** Messages arriving in `roomId` are read at once: it is in view, on a visible page, scrolled to the newest. */
const viewing = (roomId) => roomId === state.current && document.visibilityState === 'visible' && isAtBottom();

/** Messages merged into a room's store (history or live): counted if new and unread. */
export function noteArrivals(roomId, messages) {
  if (reads.noteArrivals(rooms.get(roomId), messages, { meId: state.me.id, viewing: viewing(roomId) })) renderRooms();
}

/** roomId -> {inFlight, next}: one mark_read at a time per room, the newest seq next. */
const marking = new Map();

/**
 * The room in view, on a visible page, has been read up to its newest
 * message: when it is scrolled to the bottom, or (`force`) just opened.
 */
export function markRead({ force = false } = {}) {
  const id = state.current;
  if (!id || document.visibilityState !== 'visible') return;
  if (!force && !isAtBottom()) return;
  const c = convs.get(id);
  const room = rooms.get(id);
  if (!c?.loaded || !room?.is_member) return;
  const seq = lastSeq(c);
  if (!reads.needsMark(room, seq)) return;
  reads.markedRead(room, seq);
  renderRooms();
  sendMark(id, seq);
}

function sendMark(roomId, seq) {
  const m = marking.get(roomId) || { inFlight: false, next: 0 };
  marking.set(roomId, m);
  if (m.inFlight) {
    m.next = Math.max(m.next, seq);
    return;
  }
  m.inFlight = true;
  const done = (answer) => {
    if (answer) reads.readElsewhere(rooms.get(roomId), answer.last_read_seq);
    m.inFlight = false;
    const next = m.next;
    m.next = 0;
    if (next > seq) sendMark(roomId, next);
  };
  if (socket.connected) {
    emit('mark_read', { room_id: roomId, seq }, (err, ack) => done(!err && ack?.ok ? ack : null));
  } else {
    // Offline: REST gets there if the network does; else the next view marks again.
    post(`/chat/rooms/${roomId}/read`, { seq }).then(done, () => done(null));
  }
}

/** When opening room `id`: where the "New messages" divider goes (before it is marked read). */
export function prepareDivider(id) {
  for (const [roomId, c] of convs) if (roomId !== id) c.divider = null;
  const c = conv(id);
  c.divider = reads.dividerAfter(rooms.get(id));
  c.dividerShown = false;
}

/** roomId -> the reads fetch in flight (only the newest one's answer is used) */
const readFetches = new Map();

/** Everyone's read position in room `id`, for "Seen by". */
export async function loadReads(id) {
  const token = {};
  readFetches.set(id, token);
  try {
    const answer = await get(`/chat/rooms/${id}/reads`);
    if (readFetches.get(id) !== token || !rooms.has(id)) return;
    const c = conv(id);
    const fresh = new Map();
    for (const r of answer.reads || []) fresh.set(r.user_id, r.last_read_seq);
    // read_updated events that came meanwhile know as much or better.
    for (const [userId, seq] of c.reads || []) if (!(fresh.get(userId) >= seq)) fresh.set(userId, seq);
    c.reads = fresh;
    if (id === state.current) renderMessages();
  } catch {
    // "Seen by" is a nicety: without it the conversation works the same
  }
}

/** {id, text}: the message "Seen by" goes under and what it says. */
export function seenLine(roomId, ordered) {
  const c = convs.get(roomId);
  const own = reads.ownLast(ordered, state.me.id);
  if (!c?.reads || !own) return null;
  const map = members.get(roomId);
  const ids = reads.seenBy(c.reads, own.seq, { meId: state.me.id, memberIds: map ? new Set(map.keys()) : undefined });
  const names = ids.map((userId) => {
    const u = personOf(userId);
    return (u.first_name || '').trim() || `User ${userId}`;
  });
  return { id: own.id, text: reads.seenText(names) };
}

function onReadUpdated({ room_id, user_id, last_read_seq } = {}) {
  if (!room_id || !user_id) return;
  if (user_id === state.me.id) {
    // Read in another tab or device.
    if (reads.readElsewhere(rooms.get(room_id), last_read_seq)) renderRooms();
    return;
  }
  const c = conv(room_id);
  if (!c.reads) c.reads = new Map();
  if (c.reads.get(user_id) >= last_read_seq) return;
  c.reads.set(user_id, last_read_seq);
  if (room_id === state.current) renderMessages();
}

export function initReads() {
  document.addEventListener('visibilitychange', () => markRead());
  socket.on('read_updated', onReadUpdated);
}
