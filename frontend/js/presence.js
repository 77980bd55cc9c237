// Presence on pages other than the chat (the profile page): presence is
// tracked from Socket.IO connections (docs/REALTIME.md), so a signed-in page
// keeps one open, with the session's token, and its user stays online for
// everyone while there. It sends nothing and listens only for the session
// ending. (The chat page's own socket is js/chat/socket.js.)

import { io } from '/vendor/socket.io.esm.min.js';
import { getToken, onTokenChange, redirectToLogin, refresh } from './auth.js';

export function keepPresence() {
  const socket = io({
    transports: ['websocket'],
    reconnectionDelay: 1000,
    reconnectionDelayMax: 10_000,
    auth: (cb) => {
      getToken()
        .then((token) => cb({ token }))
        .catch(() => cb({}));
    },
  });
  let authFailures = 0;
  socket.on('connect', () => {
    authFailures = 0;
  });
  socket.on('connect_error', async (err) => {
    const code = err?.data?.code || err?.message;
    if (code !== 'unauthenticated' && code !== 'token_expired') return; // the manager retries by itself
    if (++authFailures > 2) return; // the page's own requests will meet the expired session
    try {
      await refresh();
    } catch {
      // network trouble: try again below all the same
    }
    if (!socket.active) socket.connect();
  });
  socket.on('error', (e = {}) => {
    if (e.code === 'session_ended') redirectToLogin('expired');
    else if (e.code === 'token_expired') refresh().then((s) => socket.emit('authenticate', { token: s.token })).catch(() => {});
  });
  // A token refreshed here or in another tab goes to the socket before the old one expires.
  onTokenChange((s) => {
    if (socket.connected && s?.token) socket.emit('authenticate', { token: s.token });
  });
  window.presenceSocket = socket; // for the end-to-end tests
  return socket;
}
