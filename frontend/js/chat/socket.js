// The Socket.IO connection (docs/REALTIME.md): emitting with an ack timeout,
// joining a room's live feed, and keeping the socket authenticated. The
// handlers of the room, message, typing and member events live in the modules
// they concern; main.js handles connect and disconnect.

import { io } from '/vendor/socket.io.esm.min.js';
import { getToken, onTokenChange, redirectToLogin, refresh } from '../auth.js';
import { lastSeq } from './model.js';
import { removeRoom } from './rooms.js';
import { conv, state } from './state.js';
import { renderMe, setConn, toast } from './ui.js';

export const socket = io({
  autoConnect: false, // connected by start() in main.js, once the room list is known
  transports: ['websocket'],
  reconnectionDelay: 500,
  reconnectionDelayMax: 5000,
  auth: (cb) => {
    getToken()
      .then((token) => cb({ token }))
      .catch(() => cb({}));
  },
});
// For the end-to-end tests and for debugging from the console.
window.chatSocket = socket;

/**
 * Emits `event` now, with an ack within `timeout` ms: `cb(err, ack)`. There is
 * no queue here: the gateway handles one socket's events one at a time, in
 * the order they arrive (docs/REALTIME.md). Offline, `cb` gets an error at
 * once rather than socket.io buffering the event for the next connection.
 */
export function emit(event, payload, cb = () => {}, timeout = 10_000) {
  if (!socket.connected) {
    cb(new Error('disconnected'));
    return;
  }
  socket.timeout(timeout).emit(event, payload, cb);
}

/**
 * Joins a room's live feed; after a drop, asks only for what was missed:
 * messages after `since`, and changes to the ones held after `since_change`.
 */
export function feedRoom(roomId) {
  const c = conv(roomId);
  c.feed = true;
  if (!socket.connected) return;
  const payload = { room_id: roomId };
  const seq = lastSeq(c);
  if (c.loaded && seq) {
    payload.since = seq;
    payload.since_change = c.lastChange;
  }
  emit('join_room', payload, (err, ack) => {
    if (err) return; // a reconnect will try again
    if (ack && ack.ok === false) {
      const code = ack.error?.code;
      if (code === 'not_found') removeRoom(roomId);
      else if (code === 'token_expired') reauthenticate().then(() => feedRoom(roomId));
      else if (roomId === state.current) toast(ack.error?.message || 'Could not join the room.', 'error');
    }
  }, 15_000);
}

/** What to tell the user when an emitted event failed: `err` (no answer) or a refusing `ack`. */
export function failureText(err, ack, fallback) {
  if (err) return socket.connected ? 'No answer from the server.' : 'You are offline: try again once reconnected.';
  return ack?.error?.message || fallback;
}

let reauthing = null;
/** After token_expired: a fresh token, then `authenticate` on the socket. */
export function reauthenticate() {
  if (reauthing) return reauthing;
  reauthing = refresh()
    .then((s) => new Promise((resolve) => {
      socket.timeout(10_000).emit('authenticate', { token: s.token }, () => resolve());
    }))
    .catch(() => {})
    .finally(() => {
      reauthing = null;
    });
  return reauthing;
}

let authFailures = 0;

export function initSocket() {
  socket.on('connect', () => {
    authFailures = 0;
  });

  socket.on('connect_error', async (err) => {
    setConn(state.everConnected ? 'offline' : 'connecting');
    const code = err?.data?.code || err?.message;
    if (code === 'unauthenticated' || code === 'token_expired') {
      authFailures++;
      if (authFailures > 2) {
        redirectToLogin('expired');
        return;
      }
      try {
        await refresh();
      } catch {
        // network trouble: the manager's retry will come back here
      }
      if (!socket.active) socket.connect();
    }
  });

  socket.on('connected', ({ user } = {}) => {
    if (user?.id) {
      state.me = { ...state.me, ...user };
      renderMe();
    }
  });

  socket.on('error', (e = {}) => {
    if (e.code === 'session_ended') {
      // Signed out (here or everywhere, or the session was revoked).
      redirectToLogin('expired');
      return;
    }
    if (e.code === 'token_expired' || e.code === 'unauthenticated') {
      reauthenticate();
      return;
    }
    if (e.event === 'typing') return; // not worth bothering anyone
    if (e.code === 'not_found' && e.event === 'join_room') return;
    toast(e.message || 'Something went wrong.', 'error');
  });

  // A refreshed token (in this tab or another) goes to the socket right away,
  // so the server never sees it expire.
  onTokenChange((s) => {
    if (socket.connected && s?.token) socket.emit('authenticate', { token: s.token });
  });
}
