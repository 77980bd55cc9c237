// Paging back through a room's history: older messages on scroll up or on
// "Load older messages" (`get_messages {before}`), and, for jumping to a
// message found by search, waiting for a room's first history and loading
// older pages until a seq is there.

import * as model from './model.js';
import { mergeMessages, renderMessages } from './conversation.js';
import { emit, socket } from './socket.js';
import { conv, convs, state } from './state.js';
import { el, toast } from './ui.js';

/** Whether a messages_history answer is the older page asked for by get_messages. */
export const isOlderAnswer = (c, messages) => model.isOlderPage(c, messages);

/** Resolves to true once room `roomId`'s first history has arrived (at once if it has), or false after `timeout` ms. */
export function whenLoaded(roomId, timeout = 15_000) {
  const c = conv(roomId);
  if (c.loaded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeout);
    (c.loadWaiters ||= []).push(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function settle(c, ok) {
  const waiters = c.olderWaiters || [];
  c.olderWaiters = [];
  for (const resolve of waiters) resolve(ok);
}

/**
 * Asks for the page before the oldest message held in room `roomId` (the room
 * in view by default). Resolves to whether a page came, once it is merged;
 * while a page is on its way, asking again waits for that one.
 */
export function loadOlder(roomId = state.current, limit = model.HISTORY_PAGE) {
  const c = convs.get(roomId);
  if (!roomId || !c || !c.loaded || !c.hasMore || !socket.connected) return Promise.resolve(false);
  const done = new Promise((resolve) => (c.olderWaiters ||= []).push(resolve));
  if (c.loadingOlder) return done;
  c.loadingOlder = true;
  const before = model.firstSeq(c);
  if (roomId === state.current) renderMessages();
  emit('get_messages', { room_id: roomId, before, limit }, (err, ack) => {
    const cc = convs.get(roomId);
    if (!cc) return;
    if (err || !ack?.ok) {
      cc.loadingOlder = false;
      settle(cc, false);
      if (ack && !ack.ok) toast(ack.error?.message || 'Could not load older messages.', 'error');
      if (roomId === state.current) renderMessages({ scroll: 'keep-bottom-distance' });
      return;
    }
    // The history normally comes as a messages_history event; some servers
    // also put it in the ack.
    if (Array.isArray(ack.messages)) onOlder(roomId, ack.messages, ack.has_more, before);
  });
  return done;
}

/** An older page arrived. */
export function onOlder(roomId, messages, hasMore, before) {
  const c = conv(roomId);
  if (!c.loadingOlder) {
    mergeMessages(roomId, messages);
    return;
  }
  c.loadingOlder = false;
  mergeMessages(roomId, messages);
  c.hasMore = model.olderPageHasMore(messages, hasMore, before);
  if (roomId === state.current) renderMessages({ scroll: 'keep-bottom-distance' });
  settle(c, true);
}

/**
 * Loads older pages of room `roomId` until message `id` (at `seq`) is held,
 * or there is nothing older. `stillWanted()` false stops it (the user went
 * elsewhere). Resolves to whether the message is there.
 */
export async function loadUntil(roomId, id, seq, stillWanted = () => true) {
  if (!(await whenLoaded(roomId))) return false;
  const c = conv(roomId);
  while (!c.byId.has(id) && c.hasMore && model.firstSeq(c) > seq) {
    if (!stillWanted()) return false;
    if (!(await loadOlder(roomId, 100))) break;
  }
  return c.byId.has(id);
}

export function initHistory() {
  el.loadOlder.addEventListener('click', () => loadOlder());
  el.scroller.addEventListener('scroll', () => {
    if (el.scroller.scrollTop < 120) loadOlder();
  }, { passive: true });
}
