// The page's fixed elements, the header (who is signed in, connection state),
// the toast, the confirmation dialog, and the side panes that collapse behind
// buttons on narrow screens.

import { logout } from '../auth.js';
import { $, fillAvatar, fullName, h } from '../dom.js';
import { state } from './state.js';

export const el = {
  myRooms: $('#my-rooms'),
  otherRooms: $('#other-rooms'),
  myRoomsEmpty: $('#my-rooms-empty'),
  otherRoomsEmpty: $('#other-rooms-empty'),
  dms: $('#dm-list'),
  dmsEmpty: $('#dm-empty'),
  createForm: $('#create-room-form'),
  title: $('#room-title'),
  meta: $('#room-meta'),
  invite: $('#invite-people'),
  leave: $('#leave-room'),
  delete: $('#delete-room'),
  scroller: $('#messages'),
  jump: $('#jump-latest'),
  list: $('#message-list'),
  empty: $('#empty-state'),
  loadOlder: $('#load-older'),
  historyStart: $('#history-start'),
  typing: $('#typing'),
  composer: $('#composer'),
  input: $('#message-input'),
  send: $('#send'),
  emoji: $('#emoji-button'),
  members: $('#members'),
  membersEmpty: $('#members-empty'),
  membersStale: $('#members-stale'),
  mute: $('#mute-room'),
  memberCount: $('#member-count'),
  banner: $('#banner'),
  conn: $('#conn'),
  toast: $('#toast'),
  totalUnread: $('#total-unread'),
  dialog: $('#confirm-dialog'),
  inviteDialog: $('#invite-dialog'),
  announcer: $('#announcer'),
  mentionList: $('#mention-list'),
  searchForm: $('#search-form'),
  searchInput: $('#search-input'),
  searchPanel: $('#search-panel'),
  searchStatus: $('#search-status'),
  searchResults: $('#search-results'),
  searchMore: $('#search-more'),
  searchClear: $('#search-clear'),
};

// ---------------------------------------------------------------- header

export function renderMe() {
  const { me } = state;
  $('#me-name').textContent = fullName(me);
  const wrap = $('#me-avatar');
  wrap.dataset.avatarUser = String(me.id);
  wrap.className = `avatar avatar-sm avatar-c${me.id % 8}`;
  fillAvatar(wrap, me);
}

/** Below this width the rooms pane is a drawer behind a button. */
export const narrowRooms = window.matchMedia('(max-width: 767px)');

/**
 * The room in view closed: if the keyboard was in the conversation (or
 * fell to the page), it goes to the room list — the first room, else the
 * New room box — or, where that list is a drawer, to the button that shows it.
 */
export function focusAfterClose() {
  const active = document.activeElement;
  if (active && active !== document.body && !$('#main').contains(active)) return;
  const target = narrowRooms.matches
    ? $('#empty-open-rooms')
    : $('#my-rooms .room-link') || $('#dm-list .room-link') || $('#room-name');
  target?.focus();
}

/** Puts the keyboard on the element with data-focus-key `key` in the message list, if it is there. */
export function focusInList(key) {
  el.list.querySelector(`[data-focus-key="${key}"]`)?.focus();
}

let toastTimer = null;
/**
 * Shows `text` for a few seconds (longer with an `action`: {label, run}, a
 * button that runs it and closes the toast).
 */
export function toast(text, kind = 'info', action = null) {
  el.toast.replaceChildren(h('span', { class: 'toast-text', text }));
  if (action) {
    el.toast.append(h('button', {
      type: 'button',
      class: 'btn btn-sm toast-action',
      text: action.label,
      on: {
        click: () => {
          el.toast.hidden = true;
          action.run();
        },
      },
    }));
  }
  el.toast.dataset.kind = kind;
  el.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    el.toast.hidden = true;
  }, action ? 10_000 : 5000);
}

let confirmAnswer = null;
/**
 * Asks before something that can't be undone: resolves true on the OK
 * button, false on Cancel or Escape. `title`, `text` and `ok` are text.
 */
export function confirmAction({ title, text, ok, danger = true }) {
  $('#confirm-title').textContent = title;
  $('#confirm-text').textContent = text;
  const button = $('#confirm-ok');
  button.textContent = ok;
  button.className = `btn ${danger ? 'btn-danger' : 'btn-primary'}`;
  el.dialog.returnValue = ''; // Escape keeps the last value: never let it read as a confirmation
  el.dialog.showModal();
  $('#confirm-cancel').focus();
  return new Promise((resolve) => {
    confirmAnswer = resolve;
  });
}

/** 'online' | 'offline' | 'connecting' */
export function setConn(conn) {
  el.conn.dataset.state = conn;
  $('.conn-label', el.conn).textContent = { online: 'Connected', offline: 'Offline', connecting: 'Connecting…' }[conn];
  el.banner.hidden = conn !== 'offline';
  document.body.classList.toggle('is-offline', conn === 'offline');
}

// ---------------------------------------------------------------- panes (narrow screens)

const scrim = $('#scrim');
let openPane = null;

export function setPane(id, open, { focus = true } = {}) {
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

/** Closes pane `id` if it is the one open (no focus move). */
export function closePane(id) {
  if (openPane === id) setPane(id, false, { focus: false });
}

export function initUi() {
  $('#logout').addEventListener('click', () => logout());
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
    if (e.key === 'Escape' && openPane && !document.querySelector('dialog[open]')) setPane(openPane, false);
  });
  el.dialog.addEventListener('close', () => {
    const answer = confirmAnswer;
    confirmAnswer = null;
    answer?.(el.dialog.returnValue === 'confirm');
  });
  const narrow = window.matchMedia('(max-width: 1023px)');
  narrow.addEventListener('change', () => openPane && setPane(openPane, false, { focus: false }));
}
