// The conversation in the middle: opening a room, its messages grouped by
// sender and day (history and live merged by seq, own pending ones last, a
// "New messages" divider), and one message shown highlighted. Scrolled up,
// new messages leave the view where it is: a divider marks the first of them
// and "Jump to latest" counts them (they are marked read once seen). Paging
// back through older messages is in history.js; one message's element,
// message.js.

import { fullName, h } from '../dom.js';
import { dayLabel, groupMessages } from '../format.js';
import { applyMessage, noteChange } from './changes-model.js';
import { dropDraft, showDraft } from './composer.js';
import { initHistory, isOlderAnswer, onOlder } from './history.js';
import { loadMembers, renderMembers } from './members.js';
import { groupEl, userOf } from './message.js';
import * as model from './model.js';
import { notifyMessage, renderMute } from './notify.js';
import { firstUnreadId } from './reads-model.js';
import { loadReads, markRead, noteArrivals, prepareDivider, seenLine } from './reads.js';
import { renderRooms, renderUnreadTotal } from './rooms.js';
import { feedRoom, socket } from './socket.js';
import { conv, rooms, state } from './state.js';
import { clearTyper, renderTyping, stopTyping } from './typing.js';
import { closePane, el, focusAfterClose } from './ui.js';

/** The message shown highlighted (after a search), or null. */
let highlightId = null;
let highlightTimer = null;

export function openRoom(id) {
  const room = rooms.get(id);
  if (!room) return;
  if (state.current && state.current !== id) stopTyping();
  const changed = state.current !== id;
  if (changed) {
    highlightId = null;
    prepareDivider(id);
    conv(id).unseen = 0;
  }
  state.current = id;
  if (changed) showDraft(id);
  localStorage.setItem(`chat.lastRoom.${state.me.id}`, String(id));
  history.replaceState(null, '', `#room=${id}`);
  if (!conv(id).feed) feedRoom(id);
  renderRooms();
  renderConversation({ scroll: 'bottom' });
  loadMembers(id);
  loadReads(id);
  closePane('rooms-pane');
  el.input.focus({ preventScroll: true });
}

export function renderConversation({ scroll } = {}) {
  const room = rooms.get(state.current);
  el.empty.hidden = !!room;
  el.input.disabled = !room;
  el.send.disabled = !room;
  el.emoji.disabled = !room;
  renderRoomActions();
  if (!room) {
    el.input.placeholder = 'Choose a room to write in';
    showDraft(null);
    el.jump.hidden = true;
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
  el.input.placeholder = model.composerPlaceholder(room);
  renderMessages({ scroll });
  renderTyping();
  renderMembers();
  markRead({ force: scroll === 'bottom' });
}

/**
 * Room `id` in view went away (deleted, left, removed from it): nothing of
 * it stays in the composer, and the keyboard, if it was in the
 * conversation or nowhere, goes to the room list.
 */
export function closedRoom(id) {
  dropDraft(id);
  focusAfterClose();
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
  renderMute();
}

/** The "New messages" line. */
const newDivider = () => h('div', { class: 'new-divider', id: 'new-divider', attrs: { role: 'separator' } }, h('span', { text: 'New messages' }));

/**
 * Rebuilds the message list of the room in view. `scroll`: 'bottom' to stick
 * to the newest message (or the "New messages" divider, the first time it
 * shows), 'keep-bottom-distance' after older messages were prepended, or
 * undefined to stay at the bottom only if already there.
 */
export function renderMessages({ scroll } = {}) {
  const roomId = state.current;
  const c = conv(roomId);
  const s = el.scroller;
  const atBottom = isAtBottom();
  const fromBottom = s.scrollHeight - s.scrollTop;
  const keepFocus = document.activeElement && el.list.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;

  const ordered = model.orderedMessages(c);
  const view = { seen: seenLine(roomId, ordered), highlightId };
  const unreadId = firstUnreadId(ordered, c.divider, state.me.id);
  const frag = document.createDocumentFragment();
  if (!c.loaded) frag.append(h('p', { class: 'muted small loading', text: 'Loading messages…' }));
  else if (c.byId.size === 0 && c.pending.size === 0) frag.append(h('p', { class: 'muted small loading', text: 'No messages yet. Say hello!' }));
  let divider = null;
  for (const day of groupMessages(ordered)) {
    frag.append(h('div', { class: 'day-divider', attrs: { role: 'separator' } }, h('span', { text: dayLabel(day.day) })));
    for (const group of day.groups) {
      const at = unreadId === null ? -1 : group.messages.findIndex((m) => m.id === unreadId);
      if (at < 0) {
        frag.append(groupEl(group, view));
        continue;
      }
      // The divider goes above the first unread message, splitting its group.
      if (at > 0) frag.append(groupEl({ ...group, messages: group.messages.slice(0, at) }, view));
      divider = newDivider();
      frag.append(divider, groupEl({ ...group, messages: group.messages.slice(at) }, view));
    }
  }
  el.list.replaceChildren(frag);

  el.loadOlder.hidden = !(c.loaded && c.hasMore);
  el.loadOlder.disabled = c.loadingOlder;
  el.loadOlder.textContent = c.loadingOlder ? 'Loading…' : 'Load older messages';
  el.historyStart.hidden = !(c.loaded && c.hasMore === false && c.byId.size > 0);
  el.historyStart.textContent = model.isDm(rooms.get(roomId)) ? 'This is the beginning of the conversation.' : 'This is the beginning of the room.';

  if (scroll === 'bottom' || (scroll === undefined && atBottom)) {
    s.scrollTop = s.scrollHeight;
    c.unseen = 0;
  } else if (scroll === 'keep-bottom-distance') {
    s.scrollTop = s.scrollHeight - fromBottom;
  }
  if (scroll === 'bottom' && divider && !c.dividerShown) {
    // Opening a room with unread messages: from the first of them, if it is above the view.
    c.dividerShown = true;
    const top = divider.getBoundingClientRect().top - s.getBoundingClientRect().top + s.scrollTop;
    if (top < s.scrollTop) s.scrollTop = Math.max(0, top - 12);
  }
  if (keepFocus) el.list.querySelector(`[data-focus-key="${keepFocus}"]`)?.focus({ preventScroll: true });
  renderJump();
}

/** Whether the room in view is scrolled to its newest message. */
export function isAtBottom() {
  const s = el.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 60;
}

/** "Jump to latest · 3 new", while new messages wait below the view. */
function renderJump() {
  const n = state.current ? conv(state.current).unseen || 0 : 0;
  el.jump.hidden = n === 0;
  if (!n) return;
  const label = model.jumpLabel(n);
  el.jump.replaceChildren(h('span', { class: 'jump-arrow', text: '↓', attrs: { 'aria-hidden': 'true' } }), label.text);
  el.jump.setAttribute('aria-label', label.aria);
}

function jumpToLatest() {
  const c = conv(state.current);
  c.unseen = 0;
  el.scroller.scrollTop = el.scroller.scrollHeight;
  renderJump();
  markRead();
  el.input.focus({ preventScroll: true });
}

function onScroll() {
  if (!state.current || !isAtBottom()) return;
  const c = conv(state.current);
  if (c.unseen) {
    c.unseen = 0;
    renderJump();
  }
  markRead();
}

/**
 * Shows message `id` of the room in view highlighted for a few seconds,
 * scrolled to the middle of the view and focused (for screen readers).
 */
export function highlightMessage(id) {
  highlightId = id;
  clearTimeout(highlightTimer);
  renderMessages();
  const node = el.list.querySelector(`[data-msg-id="${id}"]`);
  node?.scrollIntoView({ block: 'center' });
  node?.focus({ preventScroll: true });
  highlightTimer = setTimeout(() => {
    highlightId = null;
    const shown = el.list.querySelector(`[data-msg-id="${id}"]`);
    shown?.classList.remove('is-highlighted');
    shown?.removeAttribute('data-highlighted');
  }, 4000);
}

/** Adds confirmed messages to a room's store (counting the unread ones); returns how many were new. */
export function mergeMessages(roomId, list) {
  const { added } = model.mergeMessages(conv(roomId), list, { meId: state.me.id });
  noteArrivals(roomId, list);
  return added;
}

function onHistory({ room_id, messages = [], has_more, since, changes, last_change } = {}) {
  if (!rooms.has(room_id)) return;
  const c = conv(room_id);
  if (typeof since === 'number' && has_more && c.loaded) {
    // Away too long: the server sent only the newest page. Show that page
    // and let scrolling up fetch what came before, rather than a silent gap.
    model.resetToPage(c);
  }
  if (isOlderAnswer(c, messages)) {
    onOlder(room_id, messages, has_more, model.firstSeq(c));
    return;
  }
  const first = !c.loaded;
  mergeMessages(room_id, messages);
  // A join's answer also holds the messages changed while we were away
  // (their latest state) and where the room's change feed stands.
  for (const m of changes || []) applyMessage(c, m, { fromFeed: false });
  noteChange(c, last_change);
  if (first) {
    c.loaded = true;
    c.hasMore = model.firstPageHasMore(messages, has_more);
    for (const resolve of c.loadWaiters || []) resolve();
    c.loadWaiters = [];
  }
  if (room_id === state.current) {
    renderMessages({ scroll: first ? 'bottom' : undefined });
    markRead({ force: first });
  }
  renderRooms();
}

function onNewMessage(m) {
  if (!m || !rooms.has(m.room_id)) return;
  const here = m.room_id === state.current;
  const c = conv(m.room_id);
  const before = model.lastSeq(c);
  const scrolledUp = here && !isAtBottom();
  const added = mergeMessages(m.room_id, [m]);
  clearTyper(m.room_id, m.user?.id);
  if (added) notifyMessage(m);
  const theirs = m.user?.id !== state.me.id;
  if (here && added && theirs && scrolledUp) {
    // Reading older messages: leave the view, mark where the new ones start, count them.
    if (!c.unseen) {
      c.divider = before;
      c.dividerShown = true;
    }
    c.unseen = (c.unseen || 0) + 1;
  }
  if (here) {
    renderMessages(theirs ? undefined : { scroll: 'bottom' });
    markRead();
    // The list is rebuilt on each change, so it is not itself a live region:
    // new messages from others are read out here instead.
    if (added && m.user?.id !== state.me.id) el.announcer.textContent = `${fullName(userOf(m))}: ${m.content}`;
  } else if (added) {
    renderRooms();
  }
}

export function initConversation() {
  initHistory();
  el.jump.addEventListener('click', jumpToLatest);
  el.scroller.addEventListener('scroll', onScroll, { passive: true });
  socket.on('messages_history', onHistory);
  socket.on('new_message', onNewMessage);
}
