// The members pane with live presence, and people changing: members joining
// and leaving, going on- and offline, and new names or avatars showing
// everywhere at once.

import { getAll } from '../api.js';
import { updateUser } from '../auth.js';
import { avatarEl, fillAvatar, fullName, h } from '../dom.js';
import { renderRoomMeta } from './conversation.js';
import { sortMembers } from './model.js';
import { removeRoom } from './rooms.js';
import { socket } from './socket.js';
import { convs, members, presence, presenceAt, profiles, rooms, state, typers } from './state.js';
import { clearTyper, renderTyping } from './typing.js';
import { el, renderMe, toast } from './ui.js';

/** roomId -> the fetch in flight (only the newest one's answer is used) */
const memberFetches = new Map();
/** roomId -> the timer of a refresh soon */
const memberRefresh = new Map();

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
      // A presence event newer than this fetch knows better than its snapshot.
      if (!((presenceAt.get(m.id) || 0) > started)) presence.set(m.id, m.status);
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
    if (err.status === 404) removeRoom(roomId);
    else if (roomId === state.current) toast(`Could not load members: ${err.message}`, 'error');
  }
}

function refreshMembersSoon(roomId) {
  if (roomId !== state.current) return;
  clearTimeout(memberRefresh.get(roomId));
  memberRefresh.set(roomId, setTimeout(() => loadMembers(roomId), 300));
}

export function renderMembers() {
  const map = members.get(state.current);
  el.membersEmpty.hidden = !!map;
  if (!map) {
    el.members.replaceChildren();
    el.memberCount.textContent = '';
    return;
  }
  const { me } = state;
  const statusOf = (m) => (m.id === me.id && socket.connected ? 'online' : presence.get(m.id) || m.status || 'offline');
  const list = sortMembers([...map.values()], statusOf, fullName);
  const online = list.filter((m) => statusOf(m) === 'online').length;
  el.memberCount.textContent = `(${online}/${list.length} online)`;
  el.members.replaceChildren(
    ...list.map((m) => {
      const status = statusOf(m);
      const u = { ...m, ...(profiles.get(m.id) || {}) };
      const notes = [status];
      if (m.id === me.id) notes.push('you');
      if (m.id === rooms.get(state.current)?.created_by?.id) notes.push('creator');
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
  if (user_id === state.me.id) {
    state.me = { ...state.me, ...patch };
    updateUser(patch);
    renderMe();
  }
  const u = { id: user_id, ...patch };
  for (const wrap of document.querySelectorAll(`[data-avatar-user="${user_id}"]`)) fillAvatar(wrap, u);
  for (const name of document.querySelectorAll(`[data-name-user="${user_id}"]`)) name.textContent = fullName(u);
  renderTyping();
}

export function initMembers() {
  socket.on('user_status_changed', ({ user_id, status } = {}) => {
    if (!user_id) return;
    presence.set(user_id, status);
    presenceAt.set(user_id, Date.now());
    if (status === 'offline') for (const roomId of typers.keys()) clearTyper(roomId, user_id);
    renderMembers();
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
}
