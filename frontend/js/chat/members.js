// The members pane with live presence and roles, each member's menu (Message,
// and what the viewer's role allows: roles, handing the room over, removing),
// and people changing: members joining, leaving, added, removed or given
// another role, going on- and offline, and new names or avatars showing
// everywhere at once. Someone going offline shows only after a few seconds
// (they may be changing pages: the next page's socket brings them back);
// while our own connection is down, nobody's presence is known, and the
// list says so.

import { del, getAll, post, put } from '../api.js';
import { updateUser } from '../auth.js';
import { avatarEl, fillAvatar, fullName, h } from '../dom.js';
import { renderConversation, renderRoomActions, renderRoomMeta } from './conversation.js';
import { isDm, memberActions, roleBadge, roomTitle, sortMembers } from './model.js';
import { openDm, removeRoom, renderRooms } from './rooms.js';
import { socket } from './socket.js';
import { convs, members, presence, presenceAt, profiles, rooms, state, typers } from './state.js';
import { clearTyper, renderTyping } from './typing.js';
import { confirmAction, el, renderMe, toast } from './ui.js';

/** roomId -> the fetch in flight (only the newest one's answer is used) */
const memberFetches = new Map();
/** roomId -> the timer of a refresh soon */
const memberRefresh = new Map();
/** How long someone who went offline still shows online: a page change (chat → profile) takes less. */
export const PRESENCE_GRACE_MS = 4000;
/** userId -> the timer that shows them offline, unless they come back first */
const goingOffline = new Map();

function rememberProfile(user) {
  profiles.set(user.id, { ...(profiles.get(user.id) || {}), first_name: user.first_name, last_name: user.last_name, avatar_url: user.avatar_url });
}

export async function loadMembers(roomId) {
  const started = Date.now();
  const token = {};
  memberFetches.set(roomId, token);
  try {
    const list = await getAll(`/chat/rooms/${roomId}/members`, 'members');
    if (memberFetches.get(roomId) !== token) return; // a newer fetch is under way
    const map = new Map();
    for (const m of list) {
      map.set(m.id, m);
      // A presence event newer than this fetch knows better than its snapshot;
      // someone in their grace period stays as they were unless back online.
      if (goingOffline.has(m.id)) {
        if (m.status === 'online') {
          clearTimeout(goingOffline.get(m.id));
          goingOffline.delete(m.id);
        }
      } else if (!((presenceAt.get(m.id) || 0) > started)) {
        presence.set(m.id, m.status);
      }
      rememberProfile(m);
    }
    members.set(roomId, map);
    const room = rooms.get(roomId);
    if (room) room.member_count = map.size;
    if (roomId === state.current) {
      renderMembers();
      renderRoomMeta();
    }
  } catch (err) {
    const room = rooms.get(roomId);
    if (err.status === 404) removeRoom(roomId, { message: room && `“${roomTitle(room)}” is no longer there for you.` });
    else if (roomId === state.current) toast(`Could not load members: ${err.message}`, 'error');
  }
}

function refreshMembersSoon(roomId) {
  if (roomId !== state.current) return;
  clearTimeout(memberRefresh.get(roomId));
  memberRefresh.set(roomId, setTimeout(() => loadMembers(roomId), 300));
}

/** The member whose menu is open: {roomId, userId}, or null. */
let menu = null;

/** Our connection dropped after it was up: what we know of presence is stale. */
const stale = () => state.everConnected && !socket.connected;

/** 'online', 'offline', or, while we are offline ourselves, 'unknown' for the others. */
function statusOf(m) {
  if (m.id === state.me.id) return socket.connected ? 'online' : stale() ? 'offline' : presence.get(m.id) || m.status || 'offline';
  if (stale()) return 'unknown';
  return presence.get(m.id) || m.status || 'offline';
}

export function renderMembers() {
  const map = members.get(state.current);
  el.membersEmpty.hidden = !!map;
  el.membersStale.hidden = !(map && stale());
  if (stale()) el.members.dataset.stale = 'true';
  else delete el.members.dataset.stale;
  if (!map) {
    el.members.replaceChildren();
    el.memberCount.textContent = '';
    return;
  }
  if (menu && (menu.roomId !== state.current || !map.has(menu.userId))) menu = null;
  const room = rooms.get(state.current);
  const viewer = { role: room?.is_member ? room.my_role : null, dm: isDm(room) };
  const list = sortMembers([...map.values()], statusOf, fullName);
  const online = list.filter((m) => statusOf(m) === 'online').length;
  el.memberCount.textContent = stale() ? `(${list.length})` : `(${online}/${list.length} online)`;
  // The list is rebuilt on each change: keep the keyboard where it was.
  const focused = el.members.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
  el.members.replaceChildren(...list.map((m) => memberItem(m, viewer)));
  if (focused) el.members.querySelector(`[data-focus-key="${focused}"]`)?.focus();
}

function memberItem(m, viewer) {
  const status = statusOf(m);
  const u = { ...m, ...(profiles.get(m.id) || {}) };
  const name = fullName(u);
  const self = m.id === state.me.id;
  const notes = [status === 'unknown' ? 'status unknown' : status];
  if (self) notes.push('you');
  const badge = roleBadge(m.role);
  const actions = memberActions({ viewerRole: viewer.role, targetRole: m.role, self, dm: viewer.dm });
  const open = actions.length > 0 && menu?.userId === m.id;
  const menuId = `member-menu-${m.id}`;
  return h(
    'li',
    { class: `member is-${status}`, dataset: { userId: String(m.id), status, role: m.role || 'member' } },
    h('span', { class: 'member-avatar' }, avatarEl(u, 'sm'), h('span', { class: `presence-dot presence-${status}`, attrs: { 'aria-hidden': 'true' } })),
    h('span', { class: 'member-text' },
      h('span', { class: 'member-line' },
        h('span', { class: 'member-name', text: name, dataset: { nameUser: String(m.id) } }),
        badge ? h('span', { class: `role-badge role-${badge}`, text: badge }) : null,
      ),
      h('span', { class: 'member-sub', text: notes.join(' · ') }),
    ),
    actions.length
      ? h('button', {
        type: 'button',
        class: 'btn btn-ghost btn-sm member-menu-toggle',
        text: '⋯',
        dataset: { focusKey: `menu-${m.id}` },
        attrs: { 'aria-label': `Actions for ${name}`, 'aria-expanded': String(open), 'aria-controls': open ? menuId : null },
        on: { click: () => toggleMenu(m.id) },
      })
      : null,
    open ? memberMenu(m, name, actions, menuId) : null,
  );
}

const ACTION_LABELS = {
  message: 'Message',
  make_admin: 'Make admin',
  remove_admin: 'Remove admin',
  make_owner: 'Make owner',
  remove: 'Remove',
};

function memberMenu(m, name, actions, id) {
  return h(
    'div',
    {
      class: 'member-menu',
      id,
      attrs: { role: 'group', 'aria-label': `Actions for ${name}` },
      on: {
        keydown: (e) => {
          if (e.key !== 'Escape') return;
          e.stopPropagation(); // the menu closes, not the pane
          closeMenu({ focus: m.id });
        },
      },
    },
    actions.map((action) => h('button', {
      type: 'button',
      class: `btn btn-sm ${action === 'remove' ? 'btn-danger' : 'btn-ghost'}`,
      text: ACTION_LABELS[action],
      dataset: { focusKey: `${action}-${m.id}`, action },
      on: { click: (e) => runAction(action, m, name, e.currentTarget) },
    })),
  );
}

function toggleMenu(userId) {
  const opening = menu?.userId !== userId;
  menu = opening ? { roomId: state.current, userId } : null;
  renderMembers();
  if (opening) el.members.querySelector(`#member-menu-${userId} button`)?.focus();
}

function closeMenu({ focus } = {}) {
  if (!menu) return;
  menu = null;
  renderMembers();
  if (focus) el.members.querySelector(`[data-focus-key="menu-${focus}"]`)?.focus();
}

// ---------------------------------------------------------------- what the menu does

async function runAction(action, m, name, button) {
  const roomId = state.current;
  button.disabled = true;
  try {
    if (action === 'message') await openDm(m.id);
    else if (action === 'make_admin') await setRole(roomId, m.id, 'admin');
    else if (action === 'remove_admin') await setRole(roomId, m.id, 'member');
    else if (action === 'make_owner') await handOver(roomId, m.id, name);
    else if (action === 'remove') await removeMember(roomId, m.id, name);
  } catch (err) {
    toast(err.message, 'error');
    if (err.status === 404 || err.status === 403 || err.status === 409) loadMembers(roomId);
  } finally {
    button.disabled = false;
  }
  closeMenu({ focus: action === 'message' ? null : m.id });
}

async function setRole(roomId, userId, role) {
  const member = await put(`/chat/rooms/${roomId}/members/${userId}`, { role });
  setMemberRole(roomId, userId, member?.role || role);
}

async function handOver(roomId, userId, name) {
  const room = rooms.get(roomId);
  const sure = await confirmAction({
    title: `Make ${name} the owner?`,
    text: `${name} will own “${room?.name ?? 'this room'}”: only they can change roles, hand it over or delete it. You will stay on as an admin.`,
    ok: 'Make owner',
  });
  if (!sure) return;
  const updated = await post(`/chat/rooms/${roomId}/owner`, { user_id: userId });
  rooms.set(roomId, { ...rooms.get(roomId), ...updated });
  setMemberRole(roomId, userId, 'owner');
  setMemberRole(roomId, state.me.id, updated?.my_role || 'admin');
  toast(`${name} now owns “${updated?.name ?? room?.name}”.`);
}

async function removeMember(roomId, userId, name) {
  await del(`/chat/rooms/${roomId}/members/${userId}`);
  dropMember(roomId, userId);
  toast(`${name} was removed.`);
}

/** A member's new role, in the list and (for ourselves) in what we may do. */
function setMemberRole(roomId, userId, role) {
  const m = members.get(roomId)?.get(userId);
  if (m) m.role = role;
  const room = rooms.get(roomId);
  if (userId === state.me.id && room) {
    room.my_role = role;
    renderRooms();
  }
  if (roomId === state.current) {
    renderRoomActions();
    renderMembers();
  }
}

/** Someone else is no longer a member. */
function dropMember(roomId, userId) {
  clearTyper(roomId, userId);
  const map = members.get(roomId);
  if (!map?.delete(userId)) return;
  const room = rooms.get(roomId);
  if (room) room.member_count = map.size;
  if (roomId === state.current) {
    renderMembers();
    renderRoomMeta();
  }
}

/** Someone else became a member with `role`. */
export function addMember(roomId, user, role) {
  rememberProfile(user);
  const map = members.get(roomId);
  if (!map || map.has(user.id)) return;
  map.set(user.id, { ...user, role: role || 'member', status: presence.get(user.id) || 'offline' });
  const room = rooms.get(roomId);
  if (room) room.member_count = map.size;
  if (roomId === state.current) {
    renderMembers();
    renderRoomMeta();
  }
}

function setPresence(userId, status) {
  presence.set(userId, status);
  presenceAt.set(userId, Date.now());
  if (status === 'offline') for (const roomId of typers.keys()) clearTyper(roomId, userId);
  renderMembers();
}

/** Someone's new name or avatar: in the stores and on screen, without a reload. */
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
  let dm = false;
  for (const room of rooms.values()) {
    if (room.other_user?.id !== user_id) continue;
    Object.assign(room.other_user, patch);
    dm = true;
  }
  if (user_id === state.me.id) {
    state.me = { ...state.me, ...patch };
    updateUser(patch);
    renderMe();
  }
  const u = { id: user_id, ...patch };
  for (const wrap of document.querySelectorAll(`[data-avatar-user="${user_id}"]`)) fillAvatar(wrap, u);
  for (const name of document.querySelectorAll(`[data-name-user="${user_id}"]`)) name.textContent = fullName(u);
  if (dm) {
    renderRooms(); // DMs are listed by name
    if (rooms.get(state.current)?.other_user?.id === user_id) renderConversation();
  }
  renderTyping();
}

export function initMembers() {
  socket.on('user_status_changed', ({ user_id, status } = {}) => {
    if (!user_id) return;
    clearTimeout(goingOffline.get(user_id));
    goingOffline.delete(user_id);
    if (status === 'offline' && user_id !== state.me.id && presence.get(user_id) === 'online') {
      goingOffline.set(user_id, setTimeout(() => {
        goingOffline.delete(user_id);
        setPresence(user_id, 'offline');
      }, PRESENCE_GRACE_MS));
      return;
    }
    setPresence(user_id, status);
  });

  socket.on('user_joined', ({ room_id, user } = {}) => {
    if (user?.id) {
      rememberProfile(user);
      const map = members.get(room_id);
      if (map && !map.has(user.id)) {
        map.set(user.id, { ...user, status: presence.get(user.id) || 'online' });
        if (room_id === state.current) renderMembers();
      }
    }
    refreshMembersSoon(room_id);
  });

  socket.on('user_left', ({ room_id, user } = {}) => {
    if (user?.id) clearTyper(room_id, user.id);
    refreshMembersSoon(room_id);
  });

  socket.on('user_updated', onUserUpdated);

  // Our own membership is the rooms pane's business (rooms.js).
  socket.on('member_added', ({ room_id, user, role } = {}) => {
    if (!user?.id || user.id === state.me.id) return;
    addMember(room_id, user, role);
    refreshMembersSoon(room_id); // for their presence
  });

  socket.on('member_removed', ({ room_id, user } = {}) => {
    if (!user?.id || user.id === state.me.id) return;
    dropMember(room_id, user.id);
  });

  socket.on('role_changed', ({ room_id, user, role } = {}) => {
    if (user?.id && role) setMemberRole(room_id, user.id, role);
  });

  // A click elsewhere closes a member's menu.
  document.addEventListener('click', (e) => {
    if (menu && !e.target.closest?.('.member-menu, .member-menu-toggle')) closeMenu();
  });
}
