// The rooms pane: your rooms and direct messages (with the server's unread
// counts and a mark for unread mentions, kept live by reads.js) and
// the other rooms; creating (public or private), joining, leaving, deleting
// (the owner only, after a confirmation), opening a DM; rooms appearing and
// disappearing live, including being added to or removed from one.

import { del, get, getAll, post } from '../api.js';
import { $, avatarEl, h } from '../dom.js';
import { limits } from '../limits.js';
import * as rules from '../validate.js';
import { closedRoom, openRoom, renderConversation, renderRoomActions, renderRoomMeta } from './conversation.js';
import { badgeText, isDm, pageTitle, roomSections, roomTitle, roomUpdateOutcome, staysListed, unreadTotal } from './model.js';
import { emit, feedRoom, socket } from './socket.js';
import { conv, convs, members, rooms, state, typers } from './state.js';
import { confirmAction, el, toast } from './ui.js';

export function renderRooms() {
  const { mine, others, dms } = roomSections([...rooms.values()]);
  // The lists are rebuilt on each change: keep the keyboard where it was.
  const pane = document.getElementById('rooms-pane');
  const focused = pane.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
  el.myRooms.replaceChildren(...mine.map(roomItem));
  el.dms.replaceChildren(...dms.map(roomItem));
  el.otherRooms.replaceChildren(...others.map(otherRoomItem));
  el.myRoomsEmpty.hidden = mine.length > 0;
  el.dmsEmpty.hidden = dms.length > 0;
  el.otherRoomsEmpty.hidden = others.length > 0;
  if (focused) pane.querySelector(`[data-focus-key="${focused}"]`)?.focus();
  renderUnreadTotal();
}

/** Before a room's name: '#', a lock for a private room, the other person's avatar for a DM. */
export function roomMark(room) {
  if (isDm(room)) return avatarEl(room.other_user, 'xs');
  if (room.visibility === 'private') {
    return [
      h('span', { class: 'icon icon-lock room-lock', attrs: { 'aria-hidden': 'true', title: 'Private room' } }),
      h('span', { class: 'visually-hidden', text: 'Private room:' }),
    ];
  }
  return h('span', { class: 'room-hash', attrs: { 'aria-hidden': 'true' }, text: '#' });
}

/** A room or DM we are in: a link that opens it, with its unread badge and a mark for mentions. */
function roomItem(room) {
  const active = room.id === state.current;
  const unread = active ? 0 : room.unread_count || 0;
  const mentions = active ? 0 : room.mention_count || 0;
  const badge = unread > 0
    ? h('span', { class: 'badge badge-unread', text: badgeText(unread), attrs: { 'aria-label': `${unread} unread` } })
    : null;
  const mention = mentions > 0
    ? h('span', { class: 'badge badge-mention', text: '@', attrs: { 'aria-label': `${mentions} ${mentions === 1 ? 'mention' : 'mentions'} of you`, title: 'You were mentioned' } })
    : null;
  const name = h('span', { class: 'room-name', text: roomTitle(room) });
  if (isDm(room) && room.other_user?.id) name.dataset.nameUser = String(room.other_user.id);
  const link = h(
    'a',
    {
      class: 'room-link',
      href: `#room=${room.id}`,
      dataset: { focusKey: `room-${room.id}` },
      attrs: { 'aria-current': active ? 'page' : null },
      on: {
        click: (e) => {
          e.preventDefault();
          openRoom(room.id);
        },
      },
    },
    roomMark(room),
    name,
    mention,
    badge,
  );
  return h('li', {
    class: `room-item${active ? ' is-active' : ''}${unread ? ' has-unread' : ''}${mentions ? ' has-mention' : ''}`,
    dataset: { roomId: String(room.id), kind: room.kind || 'room', visibility: room.visibility || 'public' },
  }, link);
}

function otherRoomItem(room) {
  const join = h('button', {
    type: 'button',
    class: 'btn btn-ghost btn-sm',
    text: 'Join',
    dataset: { focusKey: `join-${room.id}` },
    attrs: { 'aria-label': `Join ${room.name}` },
    on: { click: (e) => joinRoom(room.id, e.currentTarget) },
  });
  return h(
    'li',
    { class: 'room-item room-item-other', dataset: { roomId: String(room.id), kind: room.kind || 'room', visibility: room.visibility || 'public' } },
    h('span', { class: 'room-label' },
      h('span', { class: 'room-line' },
        roomMark(room),
        h('span', { class: 'room-name', text: room.name }),
      ),
      h('span', { class: 'muted small room-count', text: `${room.member_count} ${room.member_count === 1 ? 'member' : 'members'}` }),
    ),
    join,
  );
}

export function renderUnreadTotal() {
  const total = unreadTotal(rooms, state.current);
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

/** Forgets a room altogether; if it was in view, closes it with `message` (unless `silent`). */
export function removeRoom(id, { silent = false, message } = {}) {
  const room = rooms.get(id);
  rooms.delete(id);
  convs.delete(id);
  members.delete(id);
  typers.delete(id);
  const closed = closeIfOpen(id, silent || !room ? null : message || `The room “${roomTitle(room)}” was deleted.`);
  renderRooms();
  if (closed) closedRoom(id);
}

/** Closes room `id` if it is in view (saying `message`); returns whether it was. */
function closeIfOpen(id, message) {
  if (state.current !== id) return false;
  state.current = null;
  history.replaceState(null, '', location.pathname);
  renderConversation();
  if (message) toast(message, 'warn');
  return true;
}

/**
 * We are no longer a member of room `id` (we left or were removed): a public
 * room moves to the other rooms, anything else goes. If it was in view it
 * closes, with `message` when given.
 */
function endMembership(id, { message } = {}) {
  const room = rooms.get(id);
  if (!room) return;
  if (!staysListed(room)) {
    removeRoom(id, { silent: !message, message });
    return;
  }
  const c = convs.get(id);
  if (c) c.feed = false;
  room.is_member = false;
  room.my_role = null;
  room.member_count = Math.max(0, (room.member_count || 1) - 1);
  convs.delete(id);
  members.delete(id);
  typers.delete(id);
  const closed = closeIfOpen(id, message);
  renderRooms();
  if (closed) closedRoom(id);
}

/**
 * Fetches room `id` into the list (it appeared, or we were added); follows
 * it if we are in it. Its unread count is the server's (a DM someone opened
 * with us may arrive with its first message already counted).
 */
async function fetchRoom(id) {
  const room = await get(`/chat/rooms/${id}`);
  rooms.set(id, { ...rooms.get(id), ...room });
  if (room.is_member && !conv(id).feed) feedRoom(id);
  renderRooms();
  if (id === state.current) {
    renderRoomMeta();
    renderRoomActions();
  }
  return room;
}

/** Opens (creating it if need be) the DM with `userId`, and shows it. */
export async function openDm(userId) {
  const room = await post('/chat/dms', { user_id: userId });
  rooms.set(room.id, { ...rooms.get(room.id), ...room, is_member: true });
  renderRooms();
  openRoom(room.id);
  return room;
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
    const visibility = form.elements.private.checked ? 'private' : 'public';
    const room = await post('/chat/rooms', { name: input.value.trim(), visibility });
    room.is_member = true;
    rooms.set(room.id, room);
    input.value = '';
    form.elements.private.checked = false;
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
    endMembership(id);
    toast(`You left “${room.name}”.`);
  } catch (err) {
    toast(err.message, 'error');
  } finally {
    el.leave.disabled = false;
  }
}

// Deleting: the owner only, after a confirmation.
async function deleteRoom() {
  const room = rooms.get(state.current);
  if (!room) return;
  const sure = await confirmAction({
    title: 'Delete room?',
    text: `“${room.name}” and all its messages will be deleted for everyone. This cannot be undone.`,
    ok: 'Delete',
  });
  if (!sure) return;
  try {
    await del(`/chat/rooms/${room.id}`);
    removeRoom(room.id, { message: `You deleted “${room.name}”.` });
  } catch (err) {
    if (err.status === 404) removeRoom(room.id, { silent: true });
    else toast(err.status === 403 ? 'Only the owner of a room can delete it.' : err.message, 'error');
  }
}

/** `room_updated`: a rename or a change of visibility. */
function onRoomUpdated({ room_id, name, visibility } = {}) {
  const room = rooms.get(room_id);
  switch (roomUpdateOutcome(room, { visibility })) {
    case 'drop':
      removeRoom(room_id, { silent: true });
      return;
    case 'fetch':
      fetchRoom(room_id).catch(() => {});
      return;
    case 'patch':
      if (name) room.name = name;
      if (visibility) room.visibility = visibility;
      renderRooms();
      if (room_id === state.current) renderConversation();
      return;
    default:
  }
}

/** Takes the room-name limit from /config once it is known. */
export function applyRoomLimits() {
  el.createForm.elements.name.maxLength = limits.max_room_name_chars;
}

export function initRooms() {
  el.createForm.addEventListener('submit', createRoom);
  // Moving on from an empty name: nothing is wrong any more.
  el.createForm.elements.name.addEventListener('blur', () => {
    const input = el.createForm.elements.name;
    if (input.value.trim()) return;
    $('[data-error-for="name"]', el.createForm).textContent = '';
    input.removeAttribute('aria-invalid');
  });
  el.createForm.elements.name.addEventListener('input', () => {
    const slot = $('[data-error-for="name"]', el.createForm);
    if (slot.textContent) {
      slot.textContent = rules.roomName(el.createForm.elements.name.value);
      el.createForm.elements.name.toggleAttribute('aria-invalid', !!slot.textContent);
    }
  });
  el.leave.addEventListener('click', leaveRoom);
  el.delete.addEventListener('click', deleteRoom);

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

  // A new public room, or a private room or DM we are in (someone opened a DM with us).
  socket.on('room_created', async ({ room_id } = {}) => {
    if (!room_id || rooms.has(room_id)) return;
    try {
      await fetchRoom(room_id);
    } catch {
      // deleted again already, or not visible to us
    }
  });

  socket.on('room_updated', onRoomUpdated);

  // Someone else's membership is the members pane's business (members.js).
  socket.on('member_added', async ({ room_id, user } = {}) => {
    if (!room_id || user?.id !== state.me.id) return;
    const was = rooms.get(room_id)?.is_member;
    try {
      const room = await fetchRoom(room_id);
      if (!was && room.is_member) toast(`You were added to “${roomTitle(room)}”.`);
    } catch {
      // removed again already
    }
  });

  socket.on('member_removed', ({ room_id, user } = {}) => {
    if (!room_id || user?.id !== state.me.id || !rooms.has(room_id)) return;
    endMembership(room_id, { message: `You were removed from “${roomTitle(rooms.get(room_id))}”.` });
  });
}
