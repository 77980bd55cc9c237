// The chat page: rooms on the left, the conversation in the middle, members
// on the right. REST for rooms and members, Socket.IO (docs/REALTIME.md) for
// everything live. User-provided text only ever goes in as text nodes.

import { io } from '/vendor/socket.io.esm.min.js';
import { ApiError, del, get, getAll, post } from './api.js';
import { getToken, logout, onTokenChange, refresh, redirectToLogin, requireAuth, updateUser } from './auth.js';
import { $, avatarEl, fillAvatar, fullName, h } from './dom.js';
import { dayLabel, groupMessages, newClientMsgId, timeOf, typingText } from './format.js';
import * as rules from './validate.js';

const session = requireAuth();
if (!session) throw new Error('not signed in');

// ---------------------------------------------------------------- state

let me = session.user;
/** @type {Map<number, object>} rooms from REST, by id */
const rooms = new Map();
/** per-room message state, by room id */
const convs = new Map();
/** members of rooms we looked at: roomId -> Map(userId -> member) */
const members = new Map();
/** userId -> 'online' | 'offline' */
const presence = new Map();
/** userId -> when presence last changed by an event (ms) */
const presenceAt = new Map();
/** userId -> latest {first_name, last_name, avatar_url} */
const profiles = new Map();
/** roomId -> Map(userId -> {user, timer}) */
const typers = new Map();
let current = null; // room id in view
let everConnected = false;

const lastReadKey = () => `chat.lastRead.${me?.id}`;
let lastRead = loadLastRead();

function loadLastRead() {
  try {
    return JSON.parse(localStorage.getItem(lastReadKey()) || '{}');
  } catch {
    return {};
  }
}
function saveLastRead() {
  try {
    localStorage.setItem(lastReadKey(), JSON.stringify(lastRead));
  } catch {
    // storage full or blocked: badges just reset on reload
  }
}

function conv(roomId) {
  let c = convs.get(roomId);
  if (!c) {
    c = {
      byId: new Map(), // confirmed messages by id
      pending: new Map(), // own unconfirmed messages by client_msg_id
      hasMore: null, // older messages exist (null: unknown yet)
      loaded: false, // first history arrived
      loadingOlder: false,
      unread: 0,
      feed: false, // this socket receives the room's live events
    };
    convs.set(roomId, c);
  }
  return c;
}

const lastSeq = (c) => {
  let max = 0;
  for (const m of c.byId.values()) if (m.seq > max) max = m.seq;
  return max;
};
const firstSeq = (c) => {
  let min = Infinity;
  for (const m of c.byId.values()) if (m.seq < min) min = m.seq;
  return min === Infinity ? 0 : min;
};

// ---------------------------------------------------------------- elements

const el = {
  myRooms: $('#my-rooms'),
  otherRooms: $('#other-rooms'),
  myRoomsEmpty: $('#my-rooms-empty'),
  otherRoomsEmpty: $('#other-rooms-empty'),
  createForm: $('#create-room-form'),
  title: $('#room-title'),
  meta: $('#room-meta'),
  leave: $('#leave-room'),
  delete: $('#delete-room'),
  scroller: $('#messages'),
  list: $('#message-list'),
  empty: $('#empty-state'),
  loadOlder: $('#load-older'),
  historyStart: $('#history-start'),
  typing: $('#typing'),
  composer: $('#composer'),
  input: $('#message-input'),
  send: $('#send'),
  members: $('#members'),
  membersEmpty: $('#members-empty'),
  memberCount: $('#member-count'),
  banner: $('#banner'),
  conn: $('#conn'),
  toast: $('#toast'),
  totalUnread: $('#total-unread'),
  dialog: $('#confirm-dialog'),
};

// ---------------------------------------------------------------- header

function renderMe() {
  $('#me-name').textContent = fullName(me);
  const wrap = $('#me-avatar');
  wrap.dataset.avatarUser = String(me.id);
  wrap.className = `avatar avatar-sm avatar-c${me.id % 8}`;
  fillAvatar(wrap, me);
}

$('#logout').addEventListener('click', () => logout());

let toastTimer = null;
function toast(text, kind = 'info') {
  el.toast.textContent = text;
  el.toast.dataset.kind = kind;
  el.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    el.toast.hidden = true;
  }, 5000);
}

function setConn(state) {
  el.conn.dataset.state = state;
  $('.conn-label', el.conn).textContent = { online: 'Connected', offline: 'Offline', connecting: 'Connecting…' }[state];
  el.banner.hidden = state !== 'offline';
  document.body.classList.toggle('is-offline', state === 'offline');
}

// ---------------------------------------------------------------- panes (narrow screens)

const scrim = $('#scrim');
let openPane = null;
function setPane(id, open, { focus = true } = {}) {
  const pane = document.getElementById(id);
  const toggle = document.querySelector(`[aria-controls="${id}"]`);
  if (open && openPane && openPane !== id) setPane(openPane, false, { focus: false });
  pane.classList.toggle('is-open', open);
  toggle.setAttribute('aria-expanded', String(open));
  openPane = open ? id : openPane === id ? null : openPane;
  scrim.hidden = !openPane;
  document.body.classList.toggle('pane-open', !!openPane);
  if (open && focus) (pane.querySelector('.pane-close') || pane).focus();
  if (!open && focus) toggle.focus();
}
for (const btn of document.querySelectorAll('.pane-toggle')) {
  btn.addEventListener('click', () => {
    const id = btn.getAttribute('aria-controls');
    setPane(id, btn.getAttribute('aria-expanded') !== 'true');
  });
}
for (const btn of document.querySelectorAll('[data-close-pane]')) {
  btn.addEventListener('click', () => setPane(btn.dataset.closePane, false));
}
scrim.addEventListener('click', () => openPane && setPane(openPane, false));
$('#empty-open-rooms').addEventListener('click', () => setPane('rooms-pane', true));
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && openPane && !el.dialog.open) setPane(openPane, false);
});
const narrow = window.matchMedia('(max-width: 1023px)');
narrow.addEventListener('change', () => openPane && setPane(openPane, false, { focus: false }));

// ---------------------------------------------------------------- rooms

function sortRooms(list) {
  return list.sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }));
}

function renderRooms() {
  const mine = sortRooms([...rooms.values()].filter((r) => r.is_member));
  const others = sortRooms([...rooms.values()].filter((r) => !r.is_member));
  el.myRooms.replaceChildren(...mine.map(myRoomItem));
  el.otherRooms.replaceChildren(...others.map(otherRoomItem));
  el.myRoomsEmpty.hidden = mine.length > 0;
  el.otherRoomsEmpty.hidden = others.length > 0;
  renderUnreadTotal();
}

function myRoomItem(room) {
  const c = conv(room.id);
  const active = room.id === current;
  const badge = c.unread > 0
    ? h('span', { class: 'badge', text: c.unread > 99 ? '99+' : String(c.unread), attrs: { 'aria-label': `${c.unread} unread` } })
    : null;
  const link = h(
    'a',
    {
      class: 'room-link',
      href: `#room=${room.id}`,
      attrs: { 'aria-current': active ? 'page' : null },
      on: {
        click: (e) => {
          e.preventDefault();
          openRoom(room.id);
        },
      },
    },
    h('span', { class: 'room-hash', attrs: { 'aria-hidden': 'true' }, text: '#' }),
    h('span', { class: 'room-name', text: room.name }),
    badge,
  );
  return h('li', { class: `room-item${active ? ' is-active' : ''}${c.unread ? ' has-unread' : ''}`, dataset: { roomId: String(room.id) } }, link);
}

function otherRoomItem(room) {
  const join = h('button', {
    type: 'button',
    class: 'btn btn-ghost btn-sm',
    text: 'Join',
    attrs: { 'aria-label': `Join ${room.name}` },
    on: { click: (e) => joinRoom(room.id, e.currentTarget) },
  });
  return h(
    'li',
    { class: 'room-item room-item-other', dataset: { roomId: String(room.id) } },
    h('span', { class: 'room-label' },
      h('span', { class: 'room-line' },
        h('span', { class: 'room-hash', attrs: { 'aria-hidden': 'true' }, text: '#' }),
        h('span', { class: 'room-name', text: room.name }),
      ),
      h('span', { class: 'muted small room-count', text: `${room.member_count} ${room.member_count === 1 ? 'member' : 'members'}` }),
    ),
    join,
  );
}

function renderUnreadTotal() {
  let total = 0;
  for (const [id, c] of convs) if (rooms.has(id) && id !== current) total += c.unread;
  el.totalUnread.hidden = total === 0;
  el.totalUnread.textContent = total > 99 ? '99+' : String(total);
  document.title = total ? `(${total}) Chat` : current && rooms.get(current) ? `${rooms.get(current).name} — Chat` : 'Chat';
}

async function loadRooms() {
  const list = await getAll('/chat/rooms', 'rooms');
  const seen = new Set();
  for (const r of list) {
    rooms.set(r.id, r);
    seen.add(r.id);
  }
  for (const id of [...rooms.keys()]) if (!seen.has(id)) removeRoom(id, { silent: true });
  renderRooms();
}

function removeRoom(id, { silent = false, message } = {}) {
  const room = rooms.get(id);
  rooms.delete(id);
  convs.delete(id);
  members.delete(id);
  typers.delete(id);
  delete lastRead[id];
  saveLastRead();
  if (current === id) {
    current = null;
    history.replaceState(null, '', location.pathname);
    renderConversation();
    if (!silent && room) toast(message || `The room “${room.name}” was deleted.`, 'warn');
  }
  renderRooms();
}

el.createForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = el.createForm;
  const input = form.elements.name;
  const slot = $('[data-error-for="name"]', form);
  const problem = rules.roomName(input.value);
  slot.textContent = problem;
  input.toggleAttribute('aria-invalid', !!problem);
  if (problem) {
    input.focus();
    return;
  }
  if (form.dataset.busy) return;
  form.dataset.busy = '1';
  const button = form.querySelector('button');
  button.disabled = true;
  try {
    const room = await post('/chat/rooms', { name: input.value.trim() });
    room.is_member = true;
    rooms.set(room.id, room);
    input.value = '';
    renderRooms();
    feedRoom(room.id);
    openRoom(room.id);
  } catch (err) {
    slot.textContent = err.code === 'already_exists' ? 'A room with this name already exists.' : err.message;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  } finally {
    delete form.dataset.busy;
    button.disabled = false;
  }
});
el.createForm.elements.name.addEventListener('input', () => {
  const slot = $('[data-error-for="name"]', el.createForm);
  if (slot.textContent) {
    slot.textContent = rules.roomName(el.createForm.elements.name.value);
    el.createForm.elements.name.toggleAttribute('aria-invalid', !!slot.textContent);
  }
});

async function joinRoom(id, button) {
  if (button) button.disabled = true;
  try {
    const answer = await post(`/chat/rooms/${id}/join`);
    rooms.set(id, { ...answer.room, is_member: true });
    renderRooms();
    feedRoom(id);
    openRoom(id);
  } catch (err) {
    if (err.status === 404) removeRoom(id, { silent: true });
    toast(err.status === 404 ? 'That room no longer exists.' : err.message, 'error');
    if (button) button.disabled = false;
  }
}

el.leave.addEventListener('click', async () => {
  const id = current;
  const room = rooms.get(id);
  if (!room) return;
  el.leave.disabled = true;
  try {
    await post(`/chat/rooms/${id}/leave`);
    if (socket.connected) emitInOrder('leave_room', { room_id: id });
    const c = conv(id);
    c.feed = false;
    room.is_member = false;
    room.member_count = Math.max(0, (room.member_count || 1) - 1);
    current = null;
    history.replaceState(null, '', location.pathname);
    convs.delete(id);
    renderRooms();
    renderConversation();
    toast(`You left “${room.name}”.`);
  } catch (err) {
    toast(err.message, 'error');
  } finally {
    el.leave.disabled = false;
  }
});

// Deleting: the creator only, after a confirmation.
el.delete.addEventListener('click', () => {
  const room = rooms.get(current);
  if (!room) return;
  $('#confirm-text').textContent = `“${room.name}” and all its messages will be deleted for everyone. This cannot be undone.`;
  el.dialog.dataset.roomId = String(room.id);
  el.dialog.returnValue = ''; // Escape keeps the last value: never let it read as a confirmation
  el.dialog.showModal();
  $('#confirm-cancel').focus();
});
el.dialog.addEventListener('close', async () => {
  if (el.dialog.returnValue !== 'confirm') return;
  const id = Number(el.dialog.dataset.roomId);
  const room = rooms.get(id);
  try {
    await del(`/chat/rooms/${id}`);
    removeRoom(id, { message: room ? `You deleted “${room.name}”.` : undefined });
  } catch (err) {
    if (err.status === 404) removeRoom(id, { silent: true });
    else toast(err.status === 403 ? 'Only the creator of a room can delete it.' : err.message, 'error');
  }
});

// ---------------------------------------------------------------- conversation

function isCreator(room) {
  return !!room && !!me && Number(room.created_by?.id) === Number(me.id);
}

function openRoom(id) {
  const room = rooms.get(id);
  if (!room) return;
  if (current && current !== id) stopTyping();
  current = id;
  localStorage.setItem(`chat.lastRoom.${me.id}`, String(id));
  history.replaceState(null, '', `#room=${id}`);
  if (!conv(id).feed) feedRoom(id);
  renderRooms();
  renderConversation({ scroll: 'bottom' });
  loadMembers(id);
  if (openPane === 'rooms-pane') setPane('rooms-pane', false, { focus: false });
  el.input.focus({ preventScroll: true });
}

function renderConversation({ scroll } = {}) {
  const room = rooms.get(current);
  el.empty.hidden = !!room;
  el.input.disabled = !room;
  el.send.disabled = !room;
  el.leave.hidden = !room;
  el.delete.hidden = !isCreator(room);
  if (!room) {
    el.title.textContent = 'Choose a room';
    el.meta.textContent = '';
    el.list.replaceChildren();
    el.loadOlder.hidden = true;
    el.historyStart.hidden = true;
    el.typing.textContent = '';
    el.members.replaceChildren();
    el.membersEmpty.hidden = false;
    el.memberCount.textContent = '';
    renderUnreadTotal();
    return;
  }
  el.title.textContent = `# ${room.name}`;
  renderRoomMeta();
  el.input.placeholder = `Message #${room.name}`;
  renderMessages({ scroll });
  renderTyping();
  renderMembers();
  markRead();
}

function renderRoomMeta() {
  const room = rooms.get(current);
  if (!room) return;
  const n = room.member_count ?? 0;
  el.meta.textContent = `${n} ${n === 1 ? 'member' : 'members'} · created by ${room.created_by?.name || 'someone'}`;
}

function messageList(c) {
  const confirmed = [...c.byId.values()].sort((a, b) => a.seq - b.seq);
  const pending = [...c.pending.values()].sort((a, b) => a.local_at - b.local_at);
  return confirmed.concat(pending);
}

/**
 * Rebuilds the message list of the room in view. `scroll`: 'bottom' to stick
 * to the newest message, 'keep-bottom-distance' after older messages were
 * prepended, or undefined to stay at the bottom only if already there.
 */
function renderMessages({ scroll } = {}) {
  const c = conv(current);
  const s = el.scroller;
  const atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < 60;
  const fromBottom = s.scrollHeight - s.scrollTop;
  const keepFocus = document.activeElement && el.list.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;

  const frag = document.createDocumentFragment();
  if (!c.loaded) frag.append(h('p', { class: 'muted small loading', text: 'Loading messages…' }));
  else if (c.byId.size === 0 && c.pending.size === 0) frag.append(h('p', { class: 'muted small loading', text: 'No messages yet. Say hello!' }));
  for (const day of groupMessages(messageList(c))) {
    frag.append(h('div', { class: 'day-divider', attrs: { role: 'separator' } }, h('span', { text: dayLabel(day.day) })));
    for (const group of day.groups) frag.append(groupEl(group));
  }
  el.list.replaceChildren(frag);

  el.loadOlder.hidden = !(c.loaded && c.hasMore);
  el.loadOlder.disabled = c.loadingOlder;
  el.loadOlder.textContent = c.loadingOlder ? 'Loading…' : 'Load older messages';
  el.historyStart.hidden = !(c.loaded && c.hasMore === false && c.byId.size > 0);

  if (scroll === 'bottom' || (scroll === undefined && atBottom)) s.scrollTop = s.scrollHeight;
  else if (scroll === 'keep-bottom-distance') s.scrollTop = s.scrollHeight - fromBottom;
  if (keepFocus) el.list.querySelector(`[data-focus-key="${keepFocus}"]`)?.focus();
}

function userOf(m) {
  const u = m.user || {};
  return { ...u, ...(profiles.get(u.id) || {}) };
}

function groupEl(group) {
  const first = group.messages[0];
  const user = userOf(first);
  const own = user.id === me.id;
  const at = new Date(first.created_at);
  return h(
    'article',
    { class: `msg-group${own ? ' is-own' : ''}`, dataset: { userId: String(user.id) } },
    avatarEl(user, 'md'),
    h(
      'div',
      { class: 'msg-body' },
      h(
        'header',
        { class: 'msg-meta' },
        h('span', { class: 'msg-author', text: fullName(user), dataset: { nameUser: String(user.id) } }),
        h('time', { class: 'msg-time', dateTime: first.created_at, text: timeOf(at), attrs: { title: at.toLocaleString() } }),
      ),
      group.messages.map(messageEl),
    ),
  );
}

function messageEl(m) {
  const state = m.failed ? 'failed' : m.pending ? 'pending' : 'sent';
  const at = new Date(m.created_at);
  const node = h(
    'div',
    {
      class: `msg msg-${state}`,
      dataset: {
        msgId: m.id ? String(m.id) : '',
        seq: m.seq ? String(m.seq) : '',
        clientMsgId: m.client_msg_id || '',
        state,
      },
    },
    h('p', { class: 'msg-text', text: m.content }),
    h('time', { class: 'msg-time-inline', dateTime: m.created_at, text: timeOf(at), attrs: { 'aria-hidden': 'true' } }),
  );
  if (state === 'pending') node.append(h('span', { class: 'msg-status', text: m.queued ? 'Waiting for connection…' : 'Sending…' }));
  if (state === 'failed') {
    node.append(
      h('span', { class: 'msg-status msg-status-error', text: m.error || 'Not sent.' }),
      h('button', {
        type: 'button',
        class: 'btn btn-ghost btn-sm msg-retry',
        text: 'Retry',
        dataset: { focusKey: `retry-${m.client_msg_id}` },
        on: { click: () => resend(m) },
      }),
      h('button', {
        type: 'button',
        class: 'btn btn-ghost btn-sm msg-discard',
        text: 'Discard',
        on: {
          click: () => {
            conv(m.room_id).pending.delete(m.client_msg_id);
            if (m.room_id === current) renderMessages();
          },
        },
      }),
    );
  }
  return node;
}

function markRead() {
  if (!current || document.visibilityState !== 'visible') return;
  const c = conv(current);
  const seq = lastSeq(c);
  const changed = c.unread !== 0 || (seq && lastRead[current] !== seq);
  c.unread = 0;
  if (seq) lastRead[current] = seq;
  if (changed) {
    saveLastRead();
    renderRooms();
  }
}
document.addEventListener('visibilitychange', markRead);

/** Adds messages to a room's store; returns how many were new. */
function mergeMessages(roomId, list, { live = false } = {}) {
  const c = conv(roomId);
  const readUpTo = lastRead[roomId];
  let added = 0;
  let unread = 0;
  for (const m of list || []) {
    if (!m || m.id === undefined) continue;
    if (m.client_msg_id && c.pending.has(m.client_msg_id) && m.user?.id === me.id) c.pending.delete(m.client_msg_id);
    if (c.byId.has(m.id)) continue;
    c.byId.set(m.id, m);
    added++;
    const fromOther = m.user?.id !== me.id;
    const seen = roomId === current && document.visibilityState === 'visible';
    if (fromOther && !seen && (live || (readUpTo !== undefined && m.seq > readUpTo))) unread++;
  }
  c.unread += unread;
  if (readUpTo === undefined && !live) {
    // A room never opened here: start counting from now.
    const seq = lastSeq(c);
    if (seq) {
      lastRead[roomId] = seq;
      saveLastRead();
    }
  }
  return added;
}

function loadOlder() {
  const c = conv(current);
  if (!current || !c.loaded || !c.hasMore || c.loadingOlder || !socket.connected) return;
  c.loadingOlder = true;
  const roomId = current;
  const before = firstSeq(c);
  renderMessages();
  emitInOrder('get_messages', { room_id: roomId, before, limit: 50 }, 10_000, (err, ack) => {
    const cc = convs.get(roomId);
    if (!cc) return;
    if (err || !ack?.ok) {
      cc.loadingOlder = false;
      if (ack && !ack.ok) toast(ack.error?.message || 'Could not load older messages.', 'error');
      if (roomId === current) renderMessages({ scroll: 'keep-bottom-distance' });
      return;
    }
    // The history normally comes as a messages_history event; some servers
    // also put it in the ack.
    if (Array.isArray(ack.messages)) onOlder(roomId, ack.messages, ack.has_more, before);
  });
}

function onOlder(roomId, messages, hasMore, before) {
  const c = conv(roomId);
  if (!c.loadingOlder) {
    mergeMessages(roomId, messages);
    return;
  }
  c.loadingOlder = false;
  mergeMessages(roomId, messages);
  c.hasMore = typeof hasMore === 'boolean' ? hasMore : messages.length >= 50;
  if (messages.length === 0 || before <= 1) c.hasMore = typeof hasMore === 'boolean' ? hasMore && messages.length > 0 : false;
  if (roomId === current) renderMessages({ scroll: 'keep-bottom-distance' });
}

el.loadOlder.addEventListener('click', loadOlder);
el.scroller.addEventListener('scroll', () => {
  if (el.scroller.scrollTop < 120) loadOlder();
}, { passive: true });

// ---------------------------------------------------------------- sending

function sendMessage(content) {
  const roomId = current;
  const local = {
    client_msg_id: newClientMsgId(),
    room_id: roomId,
    content,
    created_at: new Date().toISOString(),
    local_at: performance.now(),
    user: { id: me.id, first_name: me.first_name, last_name: me.last_name, avatar_url: me.avatar_url },
    pending: true,
    failed: false,
  };
  conv(roomId).pending.set(local.client_msg_id, local);
  emitSend(local);
  renderMessages({ scroll: 'bottom' });
}

function resend(local) {
  local.failed = false;
  local.pending = true;
  local.error = null;
  emitSend(local);
  if (local.room_id === current) renderMessages();
}

/** Sends (or re-sends, with the same client_msg_id) one pending message. */
function emitSend(local) {
  if (!socket.connected) {
    local.queued = true; // flushed when the socket is back
    return;
  }
  local.queued = false;
  local.inFlight = true;
  const payload = { room_id: local.room_id, content: local.content, client_msg_id: local.client_msg_id };
  emitInOrder('send_message', payload, 10_000, (err, ack) => {
    local.inFlight = false;
    const c = convs.get(local.room_id);
    if (!c || !c.pending.has(local.client_msg_id)) return; // confirmed by new_message already
    if (err && !socket.connected) {
      // The connection dropped first: send again (same client_msg_id) once back.
      local.queued = true;
    } else if (!err && ack?.ok && ack.message) {
      mergeMessages(local.room_id, [ack.message], { live: true });
      c.pending.delete(local.client_msg_id);
    } else if (!err && ack?.error?.code === 'token_expired') {
      reauthenticate().then(() => emitSend(local));
      return;
    } else if (!err && ack?.ok) {
      // An ack without the message: the new_message event will confirm it.
      return;
    } else {
      local.pending = false;
      local.failed = true;
      local.error = err ? 'No answer from the server.' : ack?.error?.message || 'Not sent.';
    }
    if (local.room_id === current) renderMessages();
  });
}

function flushQueued() {
  for (const c of convs.values()) {
    for (const local of c.pending.values()) if (local.pending && !local.inFlight) emitSend(local);
  }
}

el.composer.addEventListener('submit', (e) => {
  e.preventDefault();
  const content = el.input.value;
  if (!current || !content.trim()) return;
  if ([...content.trim()].length > 4000) {
    toast('A message can be at most 4000 characters.', 'error');
    return;
  }
  sendMessage(content);
  el.input.value = '';
  autosize();
  typingSent = false;
  clearTimeout(typingStopTimer);
});

el.input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    el.composer.requestSubmit();
  }
});

function autosize() {
  el.input.style.height = 'auto';
  el.input.style.height = `${Math.min(el.input.scrollHeight, 160)}px`;
}

// ---------------------------------------------------------------- typing

let typingSent = false;
let typingSentAt = 0;
let typingStopTimer = null;
let typingRoom = null;

el.input.addEventListener('input', () => {
  autosize();
  if (!current) return;
  if (!el.input.value.trim()) {
    stopTyping();
    return;
  }
  const now = Date.now();
  if (!typingSent || now - typingSentAt > 3000) {
    if (socket.connected) emitInOrder('typing', { room_id: current, is_typing: true });
    typingSent = true;
    typingSentAt = now;
    typingRoom = current;
  }
  clearTimeout(typingStopTimer);
  typingStopTimer = setTimeout(stopTyping, 3000);
});
el.input.addEventListener('blur', () => stopTyping());

function stopTyping() {
  clearTimeout(typingStopTimer);
  if (typingSent && typingRoom && socket.connected) emitInOrder('typing', { room_id: typingRoom, is_typing: false });
  typingSent = false;
}

function onTyping({ room_id, user, is_typing }) {
  if (!user || user.id === me.id) return;
  let map = typers.get(room_id);
  if (!map) typers.set(room_id, (map = new Map()));
  const old = map.get(user.id);
  if (old) clearTimeout(old.timer);
  if (is_typing) {
    // Server clears after 5 s; this is only a safety net for a lost "stop".
    const timer = setTimeout(() => {
      map.delete(user.id);
      if (room_id === current) renderTyping();
    }, 8000);
    map.set(user.id, { user, timer });
  } else {
    map.delete(user.id);
  }
  if (room_id === current) renderTyping();
}

function clearTyper(roomId, userId) {
  const map = typers.get(roomId);
  const entry = map?.get(userId);
  if (!entry) return;
  clearTimeout(entry.timer);
  map.delete(userId);
  if (roomId === current) renderTyping();
}

function renderTyping() {
  const map = typers.get(current);
  const names = map ? [...map.values()].map(({ user }) => {
    const u = { ...user, ...(profiles.get(user.id) || {}) };
    return (u.first_name || '').trim() || fullName(u);
  }) : [];
  el.typing.textContent = typingText(names);
}

// ---------------------------------------------------------------- members

const memberFetches = new Map();
async function loadMembers(roomId) {
  const started = Date.now();
  const token = {};
  memberFetches.set(roomId, token);
  try {
    const list = await getAll(`/chat/rooms/${roomId}/members`, 'members');
    if (memberFetches.get(roomId) !== token) return; // a newer fetch is under way
    const map = new Map();
    for (const m of list) {
      map.set(m.id, m);
      if (!((presenceAt.get(m.id) || 0) > started)) presence.set(m.id, m.status);
      profiles.set(m.id, { ...(profiles.get(m.id) || {}), first_name: m.first_name, last_name: m.last_name, avatar_url: m.avatar_url });
    }
    members.set(roomId, map);
    const room = rooms.get(roomId);
    if (room) room.member_count = map.size;
    if (roomId === current) {
      renderMembers();
      renderRoomMeta();
    }
  } catch (err) {
    if (err.status === 404) removeRoom(roomId);
    else if (roomId === current) toast(`Could not load members: ${err.message}`, 'error');
  }
}

let memberRefresh = new Map();
function refreshMembersSoon(roomId) {
  if (roomId !== current) return;
  clearTimeout(memberRefresh.get(roomId));
  memberRefresh.set(roomId, setTimeout(() => loadMembers(roomId), 300));
}

function renderMembers() {
  const map = members.get(current);
  el.membersEmpty.hidden = !!map;
  if (!map) {
    el.members.replaceChildren();
    el.memberCount.textContent = '';
    return;
  }
  const statusOf = (m) => (m.id === me.id && socket.connected ? 'online' : presence.get(m.id) || m.status || 'offline');
  const list = [...map.values()].sort((a, b) => {
    const sa = statusOf(a) === 'online' ? 0 : 1;
    const sb = statusOf(b) === 'online' ? 0 : 1;
    return sa - sb || fullName(a).localeCompare(fullName(b));
  });
  const online = list.filter((m) => statusOf(m) === 'online').length;
  el.memberCount.textContent = `(${online}/${list.length} online)`;
  el.members.replaceChildren(
    ...list.map((m) => {
      const status = statusOf(m);
      const u = { ...m, ...(profiles.get(m.id) || {}) };
      const notes = [status];
      if (m.id === me.id) notes.push('you');
      if (m.id === rooms.get(current)?.created_by?.id) notes.push('creator');
      return h(
        'li',
        { class: `member is-${status}`, dataset: { userId: String(m.id), status } },
        h('span', { class: 'member-avatar' }, avatarEl(u, 'sm'), h('span', { class: `presence-dot presence-${status}`, attrs: { 'aria-hidden': 'true' } })),
        h('span', { class: 'member-text' },
          h('span', { class: 'member-name', text: fullName(u), dataset: { nameUser: String(m.id) } }),
          h('span', { class: 'member-sub', text: notes.join(' · ') }),
        ),
      );
    }),
  );
}

// ---------------------------------------------------------------- live profile changes

function onUserUpdated({ user_id, first_name, last_name, avatar_url }) {
  const patch = { first_name, last_name, avatar_url: avatar_url || null };
  profiles.set(user_id, { ...(profiles.get(user_id) || {}), ...patch });
  for (const c of convs.values()) {
    for (const m of c.byId.values()) if (m.user?.id === user_id) Object.assign(m.user, patch);
    for (const m of c.pending.values()) if (m.user?.id === user_id) Object.assign(m.user, patch);
  }
  for (const map of members.values()) {
    const m = map.get(user_id);
    if (m) Object.assign(m, patch);
  }
  if (user_id === me.id) {
    me = { ...me, ...patch };
    updateUser(patch);
    renderMe();
  }
  const u = { id: user_id, ...patch };
  for (const wrap of document.querySelectorAll(`[data-avatar-user="${user_id}"]`)) fillAvatar(wrap, u);
  for (const name of document.querySelectorAll(`[data-name-user="${user_id}"]`)) name.textContent = fullName(u);
  renderTyping();
}

// ---------------------------------------------------------------- socket

const socket = io({
  autoConnect: false, // connected by start(), once the room list is known
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

let authFailures = 0;

// The gateway may handle one socket's events concurrently, so two sends in
// quick succession could be stored out of order, and a `typing` could land
// after the `send_message` that should have cleared it. Events therefore go
// out one at a time, each after the previous one's ack (or its timeout).
const outbox = [];
let outboxBusy = false;
function emitInOrder(event, payload, timeout = 10_000, cb = () => {}) {
  outbox.push({ event, payload, timeout, cb });
  pumpOutbox();
}
function pumpOutbox() {
  if (outboxBusy) return;
  const item = outbox.shift();
  if (!item) return;
  if (!socket.connected) {
    item.cb(new Error('disconnected'));
    pumpOutbox();
    return;
  }
  outboxBusy = true;
  socket.timeout(item.timeout).emit(item.event, item.payload, (err, ack) => {
    outboxBusy = false;
    try {
      item.cb(err, ack);
    } finally {
      pumpOutbox();
    }
  });
}

/** Joins a room's live feed; after a drop, asks only for what was missed. */
function feedRoom(roomId) {
  const c = conv(roomId);
  c.feed = true;
  if (!socket.connected) return;
  const payload = { room_id: roomId };
  const seq = lastSeq(c);
  if (c.loaded && seq) payload.since = seq;
  emitInOrder('join_room', payload, 15_000, (err, ack) => {
    if (err) return; // a reconnect will try again
    if (ack && ack.ok === false) {
      const code = ack.error?.code;
      if (code === 'not_found') removeRoom(roomId);
      else if (code === 'token_expired') reauthenticate().then(() => feedRoom(roomId));
      else if (roomId === current) toast(ack.error?.message || 'Could not join the room.', 'error');
    }
  });
}

socket.on('connect', async () => {
  authFailures = 0;
  setConn('online');
  const reconnect = everConnected;
  everConnected = true;
  if (reconnect) {
    // Rooms may have come and gone while we were away.
    try {
      await loadRooms();
    } catch {
      // keep what we have
    }
  }
  for (const room of rooms.values()) if (room.is_member) feedRoom(room.id);
  if (current && !rooms.get(current)?.is_member) feedRoom(current);
  flushQueued();
  if (current) {
    renderMembers();
    if (reconnect) loadMembers(current);
  }
});

socket.on('disconnect', (reason) => {
  setConn('offline');
  for (const map of typers.values()) for (const t of map.values()) clearTimeout(t.timer);
  typers.clear();
  renderTyping();
  renderMembers();
  if (reason === 'io server disconnect') socket.connect(); // the server dropped us: come back
});

socket.on('connect_error', async (err) => {
  setConn(everConnected ? 'offline' : 'connecting');
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
    me = { ...me, ...user };
    renderMe();
  }
});

socket.on('joined_room', ({ room_id, room } = {}) => {
  if (room && rooms.has(room_id)) {
    rooms.set(room_id, { ...rooms.get(room_id), ...room, is_member: true });
    renderRooms();
    if (room_id === current) renderRoomMeta();
  }
});

socket.on('messages_history', ({ room_id, messages = [], has_more } = {}) => {
  if (!rooms.has(room_id)) return;
  const c = conv(room_id);
  const min = firstSeq(c);
  if (c.loadingOlder && c.loaded && (messages.length === 0 || messages[messages.length - 1].seq < min)) {
    onOlder(room_id, messages, has_more, min);
    return;
  }
  const first = !c.loaded;
  mergeMessages(room_id, messages);
  if (first) {
    c.loaded = true;
    c.hasMore = typeof has_more === 'boolean' ? has_more : messages.length >= 50 && (messages[0]?.seq ?? 1) > 1;
  }
  if (room_id === current) {
    renderMessages({ scroll: first ? 'bottom' : undefined });
    markRead();
  }
  renderRooms();
});

socket.on('new_message', (m) => {
  if (!m || !rooms.has(m.room_id)) return;
  const added = mergeMessages(m.room_id, [m], { live: true });
  clearTyper(m.room_id, m.user?.id);
  if (m.room_id === current) {
    renderMessages(m.user?.id === me.id ? { scroll: 'bottom' } : undefined);
    markRead();
    // The list is rebuilt on each change, so it is not itself a live region:
    // new messages from others are read out here instead.
    if (added && m.user?.id !== me.id) $('#announcer').textContent = `${fullName(userOf(m))}: ${m.content}`;
  } else if (added) {
    renderRooms();
  }
});

socket.on('user_typing', onTyping);

socket.on('user_status_changed', ({ user_id, status } = {}) => {
  if (!user_id) return;
  presence.set(user_id, status);
  presenceAt.set(user_id, Date.now());
  if (status === 'offline') for (const roomId of typers.keys()) clearTyper(roomId, user_id);
  renderMembers();
});

socket.on('user_joined', ({ room_id, user } = {}) => {
  if (user?.id) {
    profiles.set(user.id, { ...(profiles.get(user.id) || {}), first_name: user.first_name, last_name: user.last_name, avatar_url: user.avatar_url });
    const map = members.get(room_id);
    if (map && !map.has(user.id)) {
      map.set(user.id, { ...user, status: presence.get(user.id) || 'online' });
      if (room_id === current) renderMembers();
    }
  }
  refreshMembersSoon(room_id);
});

socket.on('user_left', ({ room_id, user } = {}) => {
  if (user?.id) clearTyper(room_id, user.id);
  refreshMembersSoon(room_id);
});

socket.on('left_room', ({ room_id } = {}) => {
  const c = convs.get(room_id);
  if (c) c.feed = false;
});

socket.on('room_deleted', ({ room_id } = {}) => {
  if (rooms.has(room_id)) removeRoom(room_id);
});

socket.on('room_created', async ({ room_id } = {}) => {
  if (!room_id || rooms.has(room_id)) return;
  try {
    const room = await get(`/chat/rooms/${room_id}`);
    if (!rooms.has(room_id)) rooms.set(room_id, room);
    renderRooms();
  } catch {
    // deleted again already, or not visible to us
  }
});

socket.on('user_updated', onUserUpdated);

socket.on('error', (e = {}) => {
  if (e.code === 'token_expired') {
    reauthenticate();
    return;
  }
  if (e.code === 'unauthenticated') {
    reauthenticate();
    return;
  }
  if (e.event === 'typing') return; // not worth bothering anyone
  if (e.code === 'not_found' && e.event === 'join_room') return;
  toast(e.message || 'Something went wrong.', 'error');
});

let reauthing = null;
/** After token_expired: a fresh token, then `authenticate` on the socket. */
function reauthenticate() {
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

// A refreshed token (in this tab or another) goes to the socket right away,
// so the server never sees it expire.
onTokenChange((s) => {
  if (socket.connected && s?.token) socket.emit('authenticate', { token: s.token });
});

// ---------------------------------------------------------------- start

async function start() {
  renderMe();
  setConn('connecting');
  try {
    const fresh = await get('/auth/me');
    me = { ...me, ...fresh };
    updateUser(fresh);
    lastRead = loadLastRead();
    renderMe();
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 0) toast(err.message, 'error');
  }
  try {
    await loadRooms();
  } catch (err) {
    toast(`Could not load rooms: ${err.message}`, 'error');
  }
  const fromHash = Number(new URLSearchParams(location.hash.slice(1)).get('room'));
  const remembered = Number(localStorage.getItem(`chat.lastRoom.${me.id}`));
  const firstMine = sortRooms([...rooms.values()].filter((r) => r.is_member))[0]?.id;
  const pick = [fromHash, remembered, firstMine].find((id) => id && rooms.get(id)?.is_member);
  if (pick) openRoom(pick);
  else renderConversation();
  socket.connect();
}

window.addEventListener('hashchange', () => {
  const id = Number(new URLSearchParams(location.hash.slice(1)).get('room'));
  if (id && id !== current && rooms.get(id)?.is_member) openRoom(id);
});

start();
