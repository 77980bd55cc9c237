// The invite dialog, for a room's owner and admins: people found by name as
// you type (GET /profile/users, people you share a room with first), each
// with an Add button that makes them a member at once
// (POST /chat/rooms/:id/members). They see the room appear live.

import { get, post } from '../api.js';
import { $, avatarEl, fullName, h } from '../dom.js';
import { addMember } from './members.js';
import { socket } from './socket.js';
import { members, rooms, state } from './state.js';
import { el } from './ui.js';

const SEARCH_DELAY_MS = 250; // wait for a pause in typing
const RESULTS = 10;

const input = $('#invite-query');
const status = $('#invite-status');
const results = $('#invite-results');

/** The room people are invited to while the dialog is open. */
let roomId = null;
let timer = null;
/** The newest search: answers to older ones are dropped. */
let asked = 0;
let found = [];
/** Who was added while the dialog is open. */
const added = new Set();

const HINT = 'Type a name to find people.';

export function openInvite() {
  const room = rooms.get(state.current);
  if (!room) return;
  roomId = room.id;
  found = [];
  added.clear();
  $('#invite-title').textContent = `Invite people to “${room.name}”`;
  input.value = '';
  status.textContent = HINT;
  results.replaceChildren();
  el.inviteDialog.showModal();
  input.focus();
}

function onInput() {
  clearTimeout(timer);
  const query = input.value.trim();
  if (!query) {
    asked++;
    found = [];
    renderResults();
    status.textContent = HINT;
    return;
  }
  timer = setTimeout(() => search(query), SEARCH_DELAY_MS);
}

async function search(query) {
  const ticket = ++asked;
  status.textContent = 'Searching…';
  try {
    const params = new URLSearchParams({ query, limit: String(RESULTS) });
    const answer = await get(`/profile/users?${params}`);
    if (ticket !== asked) return;
    found = answer?.users || [];
    renderResults();
    status.textContent = found.length
      ? `${found.length} ${found.length === 1 ? 'person' : 'people'} found.`
      : `Nobody found for “${query}”.`;
  } catch (err) {
    if (ticket === asked) status.textContent = err.message;
  }
}

function renderResults() {
  const map = members.get(roomId);
  results.replaceChildren(...found.map((u) => resultItem(u, map)));
}

function resultItem(u, map) {
  const name = fullName(u);
  let action;
  if (u.id === state.me.id) action = h('span', { class: 'muted small', text: 'You' });
  else if (added.has(u.id)) action = h('span', { class: 'muted small', text: 'Added' });
  else if (map?.has(u.id)) action = h('span', { class: 'muted small', text: 'Member' });
  else {
    action = h('button', {
      type: 'button',
      class: 'btn btn-primary btn-sm',
      text: 'Add',
      attrs: { 'aria-label': `Add ${name}` },
      on: { click: (e) => add(u, name, e.currentTarget) },
    });
  }
  return h(
    'li',
    { class: 'invite-result', dataset: { userId: String(u.id) } },
    avatarEl(u, 'sm'),
    h('span', { class: 'invite-name', text: name }),
    action,
  );
}

async function add(user, name, button) {
  const id = roomId;
  button.disabled = true;
  try {
    const member = await post(`/chat/rooms/${id}/members`, { user_id: user.id });
    added.add(user.id);
    addMember(id, { ...user, ...member }, member?.role);
    status.textContent = `${name} is now a member.`;
    if (id === roomId) renderResults();
    input.focus();
  } catch (err) {
    status.textContent = err.message;
    button.disabled = false;
  }
}

export function initInvite() {
  el.invite.addEventListener('click', openInvite);
  input.addEventListener('input', onInput);
  $('#invite-form').addEventListener('submit', (e) => {
    e.preventDefault(); // Enter searches now
    clearTimeout(timer);
    const query = input.value.trim();
    if (query) search(query);
  });
  $('#invite-done').addEventListener('click', () => el.inviteDialog.close());
  el.inviteDialog.addEventListener('close', () => {
    clearTimeout(timer);
    asked++;
    roomId = null;
    el.invite.focus();
  });
  // Someone else added meanwhile: no Add button for them.
  socket.on('member_added', ({ room_id } = {}) => {
    if (el.inviteDialog.open && room_id === roomId) renderResults();
  });
}
