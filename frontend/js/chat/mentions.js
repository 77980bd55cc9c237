// Mentions: `@` in the message box suggests the room's members (arrow keys
// and Enter or Tab to pick, Escape to close, or a click); the ones picked go
// into send_message's `mentions`. A `mentioned` event for a room not in view
// shows a notice that opens the message (and notifies: notify.js).

import { avatarEl, fullName, h } from '../dom.js';
import { insertMention, matchMembers, mentionIds, mentionQuery } from './mentions-model.js';
import { roomTitle } from './model.js';
import { notifyMessage } from './notify.js';
import { jumpTo } from './search.js';
import { socket } from './socket.js';
import { members, rooms, state } from './state.js';
import { el, toast } from './ui.js';

/** Members picked for the message being written, per room (each has its draft): roomId -> [{id, label}]. */
const picks = new Map();
const chosenHere = () => picks.get(state.current) || [];
/** The open suggestions: {start, items, active}, or null. */
let open = null;

/** The ids of the members still mentioned in `content`; forgets the picks (the message is being sent). */
export function takeMentions(content) {
  const ids = mentionIds(content, chosenHere());
  picks.delete(state.current);
  return ids;
}

function close() {
  if (!open) return;
  open = null;
  el.mentionList.hidden = true;
  el.mentionList.replaceChildren();
  el.input.removeAttribute('aria-activedescendant');
}

function render() {
  el.mentionList.replaceChildren(...open.items.map((m, i) => h(
    'li',
    {
      id: `mention-option-${m.id}`,
      class: `mention-option${i === open.active ? ' is-active' : ''}`,
      dataset: { userId: String(m.id) },
      attrs: { role: 'option', 'aria-selected': String(i === open.active) },
      on: {
        // Keep the focus in the message box.
        mousedown: (e) => e.preventDefault(),
        click: () => choose(i),
      },
    },
    avatarEl(m, 'xs'),
    h('span', { class: 'mention-name', text: fullName(m) }),
  )));
  el.mentionList.hidden = false;
  el.input.setAttribute('aria-activedescendant', `mention-option-${open.items[open.active].id}`);
}

function onInput() {
  const found = state.current ? mentionQuery(el.input.value, el.input.selectionStart) : null;
  const list = found ? matchMembers([...(members.get(state.current)?.values() || [])], found.query, { meId: state.me.id }) : [];
  if (!list.length) {
    close();
    return;
  }
  const wasOpen = !!open;
  open = { start: found.start, items: list, active: 0 };
  render();
  if (!wasOpen) el.announcer.textContent = `${list.length} ${list.length === 1 ? 'person' : 'people'} to mention: up and down arrows to choose, Enter to pick.`;
}

function choose(i) {
  const m = open?.items[i];
  if (!m) return;
  const label = fullName(m);
  const { text, caret } = insertMention(el.input.value, open.start, el.input.selectionStart, label);
  picks.set(state.current, [...chosenHere(), { id: m.id, label }]);
  close();
  el.input.value = text;
  el.input.setSelectionRange(caret, caret);
  el.input.focus();
  el.input.dispatchEvent(new Event('input', { bubbles: true })); // resize, typing
}

function onKeydown(e) {
  if (!open || e.isComposing) return;
  const n = open.items.length;
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    open.active = (open.active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
    render();
  } else if (e.key === 'Enter' || e.key === 'Tab') {
    choose(open.active);
  } else if (e.key === 'Escape') {
    close();
  } else {
    return;
  }
  // Taken here: not a send, not a focus move, not closing a pane.
  e.preventDefault();
  e.stopImmediatePropagation();
}

/** `mentioned`: someone mentioned us; a notice unless we are looking at that room. */
function onMentioned({ room_id, message, user_id } = {}) {
  if (user_id !== state.me.id || !message) return;
  notifyMessage({ ...message, room_id: message.room_id ?? room_id });
  if (room_id === state.current && document.visibilityState === 'visible') return;
  const room = rooms.get(room_id);
  const where = room ? (room.kind === 'dm' ? 'a direct message' : `#${roomTitle(room)}`) : 'a room';
  const text = message.content.length > 80 ? `${message.content.slice(0, 79)}…` : message.content;
  toast(`${fullName(message.user)} mentioned you in ${where}: ${text}`, 'info', {
    label: 'Show',
    run: () => jumpTo(room_id, message.id, message.seq),
  });
}

export function initMentions() {
  el.input.setAttribute('aria-autocomplete', 'list');
  el.input.setAttribute('aria-controls', 'mention-list');
  // In the capture phase, so it runs before the composer's Enter-to-send.
  el.input.addEventListener('keydown', onKeydown, { capture: true });
  el.input.addEventListener('input', onInput);
  el.input.addEventListener('click', onInput);
  el.input.addEventListener('blur', close);
  socket.on('mentioned', onMentioned);
}
