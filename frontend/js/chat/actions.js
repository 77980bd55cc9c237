// What can be done to a sent message, and changes to messages arriving live:
// each message's actions menu (quick reactions, Edit for the sender, Delete
// for the sender or a room's owner or admin), deleting after a confirmation,
// the reactions under a message (click toggles), and `message_updated`,
// `message_deleted`, `reaction_changed` applied by change_seq
// (changes-model.js). Editing in place is edit.js. On a narrow screen a tap
// on a message opens its menu (and shows its time); "More reactions" opens
// the emoji picker (emoji.js).

import { h } from '../dom.js';
import { QUICK_EMOJI, applyMessage, applyReaction, messageActions, reactionLabel } from './changes-model.js';
import { renderMessages } from './conversation.js';
import { dropEdit, startEdit } from './edit.js';
import { openEmojiPicker } from './emoji.js';
import { isDm } from './model.js';
import { noteDeleted } from './reads-model.js';
import { renderRooms } from './rooms.js';
import { emit, failureText, socket } from './socket.js';
import { convs, rooms, state } from './state.js';
import { confirmAction, el, focusInList as focusKey, narrowRooms, toast } from './ui.js';

/** The message whose menu is open: {roomId, id}, or null. */
let menu = null;

const actionsOf = (m) => {
  const room = rooms.get(m.room_id ?? state.current);
  return messageActions(m, { meId: state.me.id, role: room?.is_member ? room.my_role : null, dm: isDm(room) });
};
const isOpen = (m) => !!menu && menu.id === m.id && menu.roomId === state.current;

function rerender(roomId) {
  if (roomId === state.current) renderMessages();
}

// ---------------------------------------------------------------- the menu

/** The "⋯" button that opens a message's menu, or null when nothing can be done to it. */
export function actionsToggle(m) {
  if (!actionsOf(m).react) return null;
  const open = isOpen(m);
  return h('button', {
    type: 'button',
    class: 'btn btn-ghost btn-sm msg-actions-toggle',
    text: '⋯',
    dataset: { focusKey: `actions-${m.id}` },
    attrs: { 'aria-label': 'Message actions', 'aria-expanded': String(open), 'aria-controls': open ? `msg-menu-${m.id}` : null },
    on: { click: () => toggleMenu(m) },
  });
}

/** The open menu of `m`: quick reactions, Edit, Delete. */
export function messageMenu(m) {
  if (!isOpen(m)) return null;
  const can = actionsOf(m);
  return h(
    'div',
    {
      class: 'msg-menu',
      id: `msg-menu-${m.id}`,
      attrs: { role: 'group', 'aria-label': 'Message actions' },
      on: {
        keydown: (e) => {
          if (e.key !== 'Escape') return;
          e.stopPropagation();
          closeMenu({ focus: m.id });
        },
      },
    },
    h('span', { class: 'msg-menu-emoji' }, QUICK_EMOJI.map((emoji, i) => h('button', {
      type: 'button',
      class: 'btn btn-ghost btn-sm msg-quick-react',
      text: emoji,
      dataset: { focusKey: `quick-${m.id}-${i}`, emoji },
      attrs: { 'aria-label': `React with ${emoji}` },
      on: { click: () => react(m, emoji, { closing: true }) },
    })), h('button', {
      type: 'button',
      class: 'btn btn-ghost btn-sm msg-more-react',
      text: '+',
      dataset: { focusKey: `more-${m.id}` },
      attrs: { 'aria-label': 'More reactions', 'aria-haspopup': 'dialog' },
      on: { click: () => openEmojiPicker((emoji) => react(m, emoji, { closing: true })) },
    })),
    can.edit ? h('button', { type: 'button', class: 'btn btn-ghost btn-sm', text: 'Edit', dataset: { focusKey: `edit-${m.id}` }, on: { click: () => { menu = null; startEdit(m); } } }) : null,
    can.delete ? h('button', { type: 'button', class: 'btn btn-danger btn-sm', text: 'Delete', dataset: { focusKey: `delete-${m.id}` }, on: { click: () => remove(m) } }) : null,
  );
}

function toggleMenu(m) {
  const opening = !isOpen(m);
  menu = opening ? { roomId: state.current, id: m.id } : null;
  renderMessages();
  focusKey(opening ? `quick-${m.id}-0` : `actions-${m.id}`);
}

function closeMenu({ focus } = {}) {
  if (!menu) return;
  menu = null;
  renderMessages();
  if (focus) focusKey(`actions-${focus}`);
}

// ---------------------------------------------------------------- reactions

/** The reactions under a message: each emoji with its count, ours pressed; a click toggles ours. */
export function reactionBar(m) {
  if (m.deleted || !m.reactions?.length) return null;
  return h(
    'div',
    { class: 'reactions', attrs: { role: 'group', 'aria-label': 'Reactions' } },
    m.reactions.map((r) => h('button', {
      type: 'button',
      class: `reaction${r.me ? ' is-mine' : ''}`,
      dataset: { focusKey: `reaction-${m.id}-${r.emoji}`, emoji: r.emoji },
      attrs: { 'aria-pressed': String(!!r.me), 'aria-label': reactionLabel(r), title: r.me ? 'Remove your reaction' : 'React' },
      on: { click: () => react(m, r.emoji) },
    }, h('span', { class: 'reaction-emoji', text: r.emoji, attrs: { 'aria-hidden': 'true' } }), h('span', { class: 'reaction-count', text: String(r.count) }))),
  );
}

/** Toggles our `emoji` on `m`; the answer holds the message as we see it. */
function react(m, emoji, { closing = false } = {}) {
  const roomId = state.current;
  if (closing) {
    menu = null;
    renderMessages();
    focusKey(`actions-${m.id}`);
  }
  emit('react', { room_id: roomId, message_id: m.id, emoji }, (err, ack) => {
    if (err || !ack?.ok) {
      toast(failureText(err, ack, 'Could not react.'), 'error');
      return;
    }
    const c = convs.get(roomId);
    if (c && applyMessage(c, ack.message, { fromFeed: false })) rerender(roomId);
  });
}

// ---------------------------------------------------------------- deleting

async function remove(m) {
  const roomId = state.current;
  const own = m.user?.id === state.me.id;
  menu = null;
  renderMessages();
  const sure = await confirmAction({
    title: 'Delete message?',
    text: own
      ? 'It will show as “This message was deleted” for everyone. This cannot be undone.'
      : 'You are deleting someone else’s message as a moderator. It will show as “This message was deleted” for everyone.',
    ok: 'Delete',
  });
  if (!sure) {
    focusKey(`actions-${m.id}`);
    return;
  }
  emit('delete_message', { room_id: roomId, message_id: m.id }, (err, ack) => {
    if (err || !ack?.ok) {
      toast(failureText(err, ack, 'Could not delete the message.'), 'error');
      return;
    }
    const c = convs.get(roomId);
    if (c && applyMessage(c, ack.message, { fromFeed: false })) rerender(roomId);
  });
  el.input.focus({ preventScroll: true });
}

// ---------------------------------------------------------------- live changes

/** After a change to a message: a menu or an edit of a message now deleted is closed. */
function settle(roomId, id) {
  const m = convs.get(roomId)?.byId.get(id);
  if (!m?.deleted) return;
  if (menu?.roomId === roomId && menu.id === id) menu = null;
  if (dropEdit(roomId, id) && roomId === state.current) toast('The message you were editing was deleted.', 'warn');
}

function onUpdated({ room_id, message, change_seq } = {}) {
  const c = convs.get(room_id);
  if (!c || !message) return;
  if (applyMessage(c, message, { changeSeq: change_seq ?? message.change_seq })) {
    settle(room_id, message.id);
    rerender(room_id);
  }
}

function onDeleted({ room_id, message_id, seq, change_seq, message } = {}) {
  const c = convs.get(room_id);
  if (!c) return;
  const tombstone = { ...(message || {}), id: message_id, seq, deleted: true, content: '' };
  const before = c.byId.get(message_id);
  // A repeat (replayed to a joining socket) is not a second deletion.
  const fresh = !(change_seq <= c.lastChange);
  if (fresh && noteDeleted(rooms.get(room_id), tombstone, before, { meId: state.me.id })) renderRooms();
  if (applyMessage(c, tombstone, { changeSeq: change_seq })) {
    settle(room_id, message_id);
    rerender(room_id);
  }
}

function onReaction(event = {}) {
  const c = convs.get(event.room_id);
  if (c && applyReaction(c, event, state.me.id)) rerender(event.room_id);
}

/**
 * On a narrow screen (touch, no hover), a tap on a message's text or
 * empty space toggles its menu; links, buttons and boxes keep their taps.
 * Returns whether the tap was taken.
 */
function onTap(e) {
  if (!narrowRooms.matches) return false;
  const node = e.target.closest?.('.msg[data-msg-id]');
  if (!node || e.target.closest('a, button, input, textarea, .msg-menu, .reactions')) return false;
  if (getSelection()?.type === 'Range') return false; // selecting text, not tapping
  const m = convs.get(state.current)?.byId.get(Number(node.dataset.msgId));
  if (!m || !actionsOf(m).react) return false;
  toggleMenu(m);
  return true;
}

export function initActions() {
  socket.on('message_updated', onUpdated);
  socket.on('message_deleted', onDeleted);
  socket.on('reaction_changed', onReaction);
  el.list.addEventListener('click', (e) => {
    if (onTap(e)) e.stopPropagation();
  });
  // A click elsewhere closes a message's menu; so does Escape, wherever the keyboard is.
  document.addEventListener('click', (e) => {
    if (menu && !e.target.closest?.('.msg-menu, .msg-actions-toggle')) closeMenu();
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && menu && !document.querySelector('dialog[open]')) closeMenu();
  });
}
