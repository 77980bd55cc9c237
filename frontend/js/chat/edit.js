// Editing a message in place: its text becomes a box (Enter saves,
// Shift+Enter breaks the line, Escape cancels), kept with its caret across
// the list's rebuilds; the answer to `edit_message` holds the new state.

import { h } from '../dom.js';
import * as rules from '../validate.js';
import { applyMessage } from './changes-model.js';
import { renderMessages } from './conversation.js';
import { emit, failureText } from './socket.js';
import { convs, state } from './state.js';
import { el, focusInList, toast } from './ui.js';

/** The message being edited: {roomId, id, draft, caret, saving}, or null. */
let editing = null;

export const isEditing = (m) => !!editing && editing.id === m.id && editing.roomId === state.current && !m.deleted;

/** Message `id` of room `roomId` is gone (deleted): stop editing it. Returns whether it was being edited. */
export function dropEdit(roomId, id) {
  if (editing?.roomId !== roomId || editing.id !== id) return false;
  editing = null;
  return true;
}

/** The message's text as a form: Enter saves, Shift+Enter breaks the line, Escape cancels. */
export function editForm(m) {
  const edit = editing; // this form's edit, even once another one starts
  const input = h('textarea', {
    class: 'msg-edit-input',
    id: `msg-edit-${m.id}`,
    value: edit.draft,
    rows: 2,
    maxLength: el.input.maxLength,
    dataset: { focusKey: `edit-input-${m.id}` },
    on: {
      input: (e) => {
        edit.draft = e.target.value;
        edit.caret = e.target.selectionStart;
      },
      keyup: (e) => { edit.caret = e.target.selectionStart; },
      focus: (e) => e.target.setSelectionRange(edit.caret, edit.caret),
      keydown: (e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          cancelEdit();
        } else if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          saveEdit();
        }
      },
    },
  });
  return h(
    'form',
    { class: 'msg-edit', on: { submit: (e) => { e.preventDefault(); saveEdit(); } } },
    h('label', { class: 'visually-hidden', htmlFor: `msg-edit-${m.id}`, text: 'Edit message' }),
    input,
    h('span', { class: 'msg-edit-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary btn-sm', text: 'Save', disabled: !!edit.saving, dataset: { focusKey: `edit-save-${m.id}` } }),
      h('button', { type: 'button', class: 'btn btn-ghost btn-sm', text: 'Cancel', dataset: { focusKey: `edit-cancel-${m.id}` }, on: { click: cancelEdit } }),
      h('span', { class: 'muted small', text: 'Enter to save, Escape to cancel' }),
    ),
  );
}

export function startEdit(m) {
  editing = { roomId: state.current, id: m.id, draft: m.content, caret: m.content.length, saving: false };
  renderMessages();
  focusInList(`edit-input-${m.id}`);
}

function cancelEdit() {
  if (!editing) return;
  const { id } = editing;
  editing = null;
  renderMessages();
  focusInList(`actions-${id}`);
}

function saveEdit() {
  if (!editing || editing.saving) return;
  const edit = editing;
  const c = convs.get(edit.roomId);
  const m = c?.byId.get(edit.id);
  if (!m) {
    cancelEdit();
    return;
  }
  if (edit.draft.trim() === m.content.trim()) {
    cancelEdit();
    return;
  }
  const problem = edit.draft.trim() ? rules.message(edit.draft) : 'A message cannot be empty: delete it instead.';
  if (problem) {
    toast(problem, 'error');
    return;
  }
  edit.saving = true;
  renderMessages();
  emit('edit_message', { room_id: edit.roomId, message_id: edit.id, content: edit.draft }, (err, ack) => {
    edit.saving = false;
    if (err || !ack?.ok) {
      toast(failureText(err, ack, 'Could not save the edit.'), 'error');
      if (edit.roomId === state.current) renderMessages();
      return;
    }
    applyMessage(c, ack.message, { fromFeed: false });
    if (editing === edit) editing = null;
    if (edit.roomId === state.current) {
      renderMessages();
      focusInList(`actions-${edit.id}`);
    }
  });
}
