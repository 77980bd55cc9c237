// The chat page's shared state: the one place it is declared. Modules read and
// change it here and keep only private details (timers, fetches in flight) of
// their own. Importing this module requires a session: without one the user
// is sent to the login page and nothing else on the page runs.

import { requireAuth } from '../auth.js';
import { newConv } from './model.js';

const session = requireAuth();
if (!session) throw new Error('not signed in');

export const state = {
  /** the signed-in user, as last heard of */
  me: session.user,
  /** the room id in view, or null */
  current: null,
  /** the socket has connected once (a later connect is a reconnect) */
  everConnected: false,
};

/** @type {Map<number, object>} rooms from REST, by id (with the server's last_seq, last_read_seq, unread_count, mention_count, kept live by reads.js) */
export const rooms = new Map();
/** roomId -> message state (see newConv in model.js) */
export const convs = new Map();
/** members of rooms we looked at: roomId -> Map(userId -> member) */
export const members = new Map();
/** userId -> 'online' | 'offline' */
export const presence = new Map();
/** userId -> when presence last changed by an event (ms) */
export const presenceAt = new Map();
/** userId -> latest {first_name, last_name, avatar_url} */
export const profiles = new Map();
/** roomId -> Map(userId -> {user, timer}): who is typing where */
export const typers = new Map();

/** A room's message state, created on first use. */
export function conv(roomId) {
  let c = convs.get(roomId);
  if (!c) {
    c = newConv();
    convs.set(roomId, c);
  }
  return c;
}
