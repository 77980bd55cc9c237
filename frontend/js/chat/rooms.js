// The rooms pane: your rooms (with unread badges) and the others, creating,
// joining, leaving, and deleting (the creator only, after a confirmation);
// rooms appearing and disappearing live.

import { del, get, getAll, post } from '../api.js';
import { $, h } from '../dom.js';
import { limits } from '../limits.js';
import * as rules from '../validate.js';
import { openRoom, renderConversation, renderRoomMeta } from './conversation.js';
import { badgeText, pageTitle, sortRooms, unreadTotal } from './model.js';
import { emit, feedRoom, socket } from './socket.js';
import { conv, convs, members, rooms, saveLastRead, state, typers } from './state.js';
import { el, toast } from './ui.js';

export function renderRooms() {
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
  const active = room.id === state.current;
  const badge = c.unread > 0
    ? h('span', { class: 'badge', text: badgeText(c.unread), attrs: { 'aria-label': `${c.unread} unread` } })
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

export function renderUnreadTotal() {
  const total = unreadTotal(convs, rooms, state.current);
  el.totalUnread.hidden = total === 0;
  el.totalUnread.textContent = badgeText(total);
  document.title = pageTitle(total, state.current ? rooms.get(state.current) : undefined);
}

/** (Re)loads the room list from REST; rooms gone meanwhile are dropped quietly. */
export async function loadRooms() {
  const list = await getAll('/chat/rooms', 'rooms');
  const seen = new Set();
  for (const r of list) {
    rooms.set(r.id, r);
    seen.add(r.id);
  }
  for (const id of [...rooms.keys()]) if (!seen.has(id)) removeRoom(id, { silent: true });
  renderRooms();
}

export function removeRoom(id, { silent = false, message } = {}) {
  const room = rooms.get(id);
  rooms.delete(id);
  convs.delete(id);
  members.delete(id);
  typers.delete(id);
  delete state.lastRead[id];
  saveLastRead();
  if (state.current === id) {
    state.current = null;
    history.replaceState(null, '', location.pathname);
    renderConversation();
    if (!silent && room) toast(message || `The room “${room.name}” was deleted.`, 'warn');
  }
  renderRooms();
}

async function createRoom(e) {
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
}

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

async function leaveRoom() {
  const id = state.current;
  const room = rooms.get(id);
  if (!room) return;
  el.leave.disabled = true;
  try {
    await post(`/chat/rooms/${id}/leave`);
    if (socket.connected) emit('leave_room', { room_id: id });
    const c = conv(id);
    c.feed = false;
    room.is_member = false;
    room.member_count = Math.max(0, (room.member_count || 1) - 1);
    state.current = null;
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
}

// Deleting: the creator only, after a confirmation.
function confirmDelete() {
  const room = rooms.get(state.current);
  if (!room) return;
  $('#confirm-text').textContent = `“${room.name}” and all its messages will be deleted for everyone. This cannot be undone.`;
  el.dialog.dataset.roomId = String(room.id);
  el.dialog.returnValue = ''; // Escape keeps the last value: never let it read as a confirmation
  el.dialog.showModal();
  $('#confirm-cancel').focus();
}

async function onDialogClose() {
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
}

/** Takes the room-name limit from /config once it is known. */
export function applyRoomLimits() {
  el.createForm.elements.name.maxLength = limits.max_room_name_chars;
}

export function initRooms() {
  el.createForm.addEventListener('submit', createRoom);
  el.createForm.elements.name.addEventListener('input', () => {
    const slot = $('[data-error-for="name"]', el.createForm);
    if (slot.textContent) {
      slot.textContent = rules.roomName(el.createForm.elements.name.value);
      el.createForm.elements.name.toggleAttribute('aria-invalid', !!slot.textContent);
    }
  });
  el.leave.addEventListener('click', leaveRoom);
  el.delete.addEventListener('click', confirmDelete);
  el.dialog.addEventListener('close', onDialogClose);

  socket.on('joined_room', ({ room_id, room } = {}) => {
    if (room && rooms.has(room_id)) {
      rooms.set(room_id, { ...rooms.get(room_id), ...room, is_member: true });
      renderRooms();
      if (room_id === state.current) renderRoomMeta();
    }
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
}
