// "Ana is typing…": telling the room while we type (at most every 3 s, and a
// stop after 3 s idle, on blur or on leaving the room), and showing who else
// is typing in the room in view.

import { fullName } from '../dom.js';
import { typingText } from '../format.js';
import { emit, socket } from './socket.js';
import { profiles, state, typers } from './state.js';
import { el } from './ui.js';

const RESEND_MS = 3000; // "still typing" at most this often
const IDLE_MS = 3000; // a stop after this long without a key
const SAFETY_MS = 8000; // forget a typer whose stop got lost (the server clears after 5 s)

let typingSent = false;
let typingSentAt = 0;
let typingStopTimer = null;
let typingRoom = null;

function onInput() {
  if (!state.current) return;
  if (!el.input.value.trim()) {
    stopTyping();
    return;
  }
  const now = Date.now();
  if (!typingSent || now - typingSentAt > RESEND_MS) {
    if (socket.connected) emit('typing', { room_id: state.current, is_typing: true });
    typingSent = true;
    typingSentAt = now;
    typingRoom = state.current;
  }
  clearTimeout(typingStopTimer);
  typingStopTimer = setTimeout(stopTyping, IDLE_MS);
}

/** Tells the room we stopped typing, if we said we were. */
export function stopTyping() {
  clearTimeout(typingStopTimer);
  if (typingSent && typingRoom && socket.connected) emit('typing', { room_id: typingRoom, is_typing: false });
  typingSent = false;
}

/** After a send: the server has cleared our typing state itself. */
export function typingSettled() {
  typingSent = false;
  clearTimeout(typingStopTimer);
}

function onTyping({ room_id, user, is_typing }) {
  if (!user || user.id === state.me.id) return;
  let map = typers.get(room_id);
  if (!map) typers.set(room_id, (map = new Map()));
  const old = map.get(user.id);
  if (old) clearTimeout(old.timer);
  if (is_typing) {
    const timer = setTimeout(() => {
      map.delete(user.id);
      if (room_id === state.current) renderTyping();
    }, SAFETY_MS);
    map.set(user.id, { user, timer });
  } else {
    map.delete(user.id);
  }
  if (room_id === state.current) renderTyping();
}

export function clearTyper(roomId, userId) {
  const map = typers.get(roomId);
  const entry = map?.get(userId);
  if (!entry) return;
  clearTimeout(entry.timer);
  map.delete(userId);
  if (roomId === state.current) renderTyping();
}

/** Forgets everyone's typing (the connection dropped). */
export function clearAllTypers() {
  for (const map of typers.values()) for (const t of map.values()) clearTimeout(t.timer);
  typers.clear();
  renderTyping();
}

export function renderTyping() {
  const map = typers.get(state.current);
  const names = map ? [...map.values()].map(({ user }) => {
    const u = { ...user, ...(profiles.get(user.id) || {}) };
    return (u.first_name || '').trim() || fullName(u);
  }) : [];
  el.typing.textContent = typingText(names);
}

export function initTyping() {
  el.input.addEventListener('input', onInput);
  el.input.addEventListener('blur', () => stopTyping());
  socket.on('user_typing', onTyping);
}
