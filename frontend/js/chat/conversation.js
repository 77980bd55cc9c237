// The conversation in the middle: opening a room, its messages grouped by
// sender and day (history and live merged by seq, own pending ones last),
// older messages on scroll up, and what has been read.

import { avatarEl, fullName, h } from '../dom.js';
import { dayLabel, groupMessages, timeOf } from '../format.js';
import { discard, resend } from './composer.js';
import { loadMembers, renderMembers } from './members.js';
import * as model from './model.js';
import { renderRooms, renderUnreadTotal } from './rooms.js';
import { emit, feedRoom, socket } from './socket.js';
import { conv, convs, profiles, rooms, saveLastRead, state } from './state.js';
import { clearTyper, renderTyping, stopTyping } from './typing.js';
import { closePane, el, toast } from './ui.js';

export function openRoom(id) {
  const room = rooms.get(id);
  if (!room) return;
  if (state.current && state.current !== id) stopTyping();
  state.current = id;
  localStorage.setItem(`chat.lastRoom.${state.me.id}`, String(id));
  history.replaceState(null, '', `#room=${id}`);
  if (!conv(id).feed) feedRoom(id);
  renderRooms();
  renderConversation({ scroll: 'bottom' });
  loadMembers(id);
  closePane('rooms-pane');
  el.input.focus({ preventScroll: true });
}

export function renderConversation({ scroll } = {}) {
  const room = rooms.get(state.current);
  el.empty.hidden = !!room;
  el.input.disabled = !room;
  el.send.disabled = !room;
  renderRoomActions();
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
  const dm = model.isDm(room);
  el.title.textContent = dm ? model.roomTitle(room) : `# ${room.name}`;
  renderRoomMeta();
  el.input.placeholder = `Message ${dm ? model.roomTitle(room) : `#${room.name}`}`;
  renderMessages({ scroll });
  renderTyping();
  renderMembers();
  markRead();
}

export function renderRoomMeta() {
  const room = rooms.get(state.current);
  if (room) el.meta.textContent = model.roomMeta(room);
}

/** Invite, Leave and Delete, as the viewer's role allows (none in a DM). */
export function renderRoomActions() {
  const can = model.roomActions(rooms.get(state.current));
  el.invite.hidden = !can.invite;
  el.leave.hidden = !can.leave;
  el.delete.hidden = !can.delete;
  if (!can.invite && el.inviteDialog.open) el.inviteDialog.close();
}

/**
 * Rebuilds the message list of the room in view. `scroll`: 'bottom' to stick
 * to the newest message, 'keep-bottom-distance' after older messages were
 * prepended, or undefined to stay at the bottom only if already there.
 */
export function renderMessages({ scroll } = {}) {
  const c = conv(state.current);
  const s = el.scroller;
  const atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < 60;
  const fromBottom = s.scrollHeight - s.scrollTop;
  const keepFocus = document.activeElement && el.list.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;

  const frag = document.createDocumentFragment();
  if (!c.loaded) frag.append(h('p', { class: 'muted small loading', text: 'Loading messages…' }));
  else if (c.byId.size === 0 && c.pending.size === 0) frag.append(h('p', { class: 'muted small loading', text: 'No messages yet. Say hello!' }));
  for (const day of groupMessages(model.orderedMessages(c))) {
    frag.append(h('div', { class: 'day-divider', attrs: { role: 'separator' } }, h('span', { text: dayLabel(day.day) })));
    for (const group of day.groups) frag.append(groupEl(group));
  }
  el.list.replaceChildren(frag);

  el.loadOlder.hidden = !(c.loaded && c.hasMore);
  el.loadOlder.disabled = c.loadingOlder;
  el.loadOlder.textContent = c.loadingOlder ? 'Loading…' : 'Load older messages';
  el.historyStart.hidden = !(c.loaded && c.hasMore === false && c.byId.size > 0);
  el.historyStart.textContent = model.isDm(rooms.get(state.current)) ? 'This is the beginning of the conversation.' : 'This is the beginning of the room.';

  if (scroll === 'bottom' || (scroll === undefined && atBottom)) s.scrollTop = s.scrollHeight;
  else if (scroll === 'keep-bottom-distance') s.scrollTop = s.scrollHeight - fromBottom;
  if (keepFocus) el.list.querySelector(`[data-focus-key="${keepFocus}"]`)?.focus();
}

/** A message's author with the latest known name and avatar. */
function userOf(m) {
  const u = m.user || {};
  return { ...u, ...(profiles.get(u.id) || {}) };
}

function groupEl(group) {
  const first = group.messages[0];
  const user = userOf(first);
  const own = user.id === state.me.id;
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
  const delivery = m.failed ? 'failed' : m.pending ? 'pending' : 'sent';
  const at = new Date(m.created_at);
  const node = h(
    'div',
    {
      class: `msg msg-${delivery}`,
      dataset: {
        msgId: m.id ? String(m.id) : '',
        seq: m.seq ? String(m.seq) : '',
        clientMsgId: m.client_msg_id || '',
        state: delivery,
      },
    },
    h('p', { class: 'msg-text', text: m.content }),
    h('time', { class: 'msg-time-inline', dateTime: m.created_at, text: timeOf(at), attrs: { 'aria-hidden': 'true' } }),
  );
  if (delivery === 'pending') node.append(h('span', { class: 'msg-status', text: m.queued ? 'Waiting for connection…' : 'Sending…' }));
  if (delivery === 'failed') {
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
        on: { click: () => discard(m) },
      }),
    );
  }
  return node;
}

/** The room in view, on a visible page, has been read up to its newest message. */
export function markRead() {
  const { current, lastRead } = state;
  if (!current || document.visibilityState !== 'visible') return;
  const c = conv(current);
  const seq = model.lastSeq(c);
  const changed = c.unread !== 0 || (seq && lastRead[current] !== seq);
  c.unread = 0;
  if (seq) lastRead[current] = seq;
  if (changed) {
    saveLastRead();
    renderRooms();
  }
}

/** Adds confirmed messages to a room's store; returns how many were new. */
export function mergeMessages(roomId, list, { live = false } = {}) {
  const { added, readFrom } = model.mergeMessages(conv(roomId), list, {
    meId: state.me.id,
    live,
    seen: roomId === state.current && document.visibilityState === 'visible',
    readUpTo: state.lastRead[roomId],
  });
  if (readFrom) {
    // A room never opened here: start counting from now.
    state.lastRead[roomId] = readFrom;
    saveLastRead();
  }
  return added;
}

function loadOlder() {
  const roomId = state.current;
  const c = conv(roomId);
  if (!roomId || !c.loaded || !c.hasMore || c.loadingOlder || !socket.connected) return;
  c.loadingOlder = true;
  const before = model.firstSeq(c);
  renderMessages();
  emit('get_messages', { room_id: roomId, before, limit: model.HISTORY_PAGE }, (err, ack) => {
    const cc = convs.get(roomId);
    if (!cc) return;
    if (err || !ack?.ok) {
      cc.loadingOlder = false;
      if (ack && !ack.ok) toast(ack.error?.message || 'Could not load older messages.', 'error');
      if (roomId === state.current) renderMessages({ scroll: 'keep-bottom-distance' });
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
  c.hasMore = model.olderPageHasMore(messages, hasMore, before);
  if (roomId === state.current) renderMessages({ scroll: 'keep-bottom-distance' });
}

function onHistory({ room_id, messages = [], has_more, since } = {}) {
  if (!rooms.has(room_id)) return;
  const c = conv(room_id);
  if (typeof since === 'number' && has_more && c.loaded) {
    // Away too long: the server sent only the newest page. Show that page
    // and let scrolling up fetch what came before, rather than a silent gap.
    model.resetToPage(c);
  }
  if (model.isOlderPage(c, messages)) {
    onOlder(room_id, messages, has_more, model.firstSeq(c));
    return;
  }
  const first = !c.loaded;
  mergeMessages(room_id, messages);
  if (first) {
    c.loaded = true;
    c.hasMore = model.firstPageHasMore(messages, has_more);
  }
  if (room_id === state.current) {
    renderMessages({ scroll: first ? 'bottom' : undefined });
    markRead();
  }
  renderRooms();
}

function onNewMessage(m) {
  if (!m || !rooms.has(m.room_id)) return;
  const added = mergeMessages(m.room_id, [m], { live: true });
  clearTyper(m.room_id, m.user?.id);
  if (m.room_id === state.current) {
    renderMessages(m.user?.id === state.me.id ? { scroll: 'bottom' } : undefined);
    markRead();
    // The list is rebuilt on each change, so it is not itself a live region:
    // new messages from others are read out here instead.
    if (added && m.user?.id !== state.me.id) el.announcer.textContent = `${fullName(userOf(m))}: ${m.content}`;
  } else if (added) {
    renderRooms();
  }
}

export function initConversation() {
  document.addEventListener('visibilitychange', markRead);
  el.loadOlder.addEventListener('click', loadOlder);
  el.scroller.addEventListener('scroll', () => {
    if (el.scroller.scrollTop < 120) loadOlder();
  }, { passive: true });
  socket.on('messages_history', onHistory);
  socket.on('new_message', onNewMessage);
}
