// The message box and sending: a message shows at once as pending, turns
// into the stored one when acked (or when its new_message arrives first), and
// on failure offers Retry with the same client_msg_id (the server keeps one
// message per id). Offline, pending messages wait and go out on reconnect.
// Members picked with `@` (mentions.js) go along in `mentions`. What is
// typed and not sent stays with its room (drafts-model.js), across room
// switches and reloads; ↑ in an empty box edits our last message.

import { newClientMsgId } from '../format.js';
import { limits } from '../limits.js';
import * as rules from '../validate.js';
import { changeableLast } from './changes-model.js';
import { mergeMessages, renderMessages } from './conversation.js';
import { draftStore } from './drafts-model.js';
import { startEdit } from './edit.js';
import { openEmojiPicker } from './emoji.js';
import { takeMentions } from './mentions.js';
import { orderedMessages, sendOutcome } from './model.js';
import { emit, reauthenticate, socket } from './socket.js';
import { conv, convs, state } from './state.js';
import { typingSettled } from './typing.js';
import { el, toast } from './ui.js';

const drafts = draftStore(localStorage, state.me.id);

/** The box shows room `roomId`'s draft (or nothing, with no room). */
export function showDraft(roomId) {
  el.input.value = roomId ? drafts.get(roomId) : '';
  autosize();
}

/** Room `roomId` is gone: so is its draft. */
export function dropDraft(roomId) {
  drafts.clear(roomId);
}

function sendMessage(content) {
  const roomId = state.current;
  const { me } = state;
  const local = {
    client_msg_id: newClientMsgId(),
    room_id: roomId,
    content,
    mentions: takeMentions(content),
    created_at: new Date().toISOString(),
    local_at: performance.now(),
    user: { id: me.id, first_name: me.first_name, last_name: me.last_name, avatar_url: me.avatar_url },
    pending: true,
    failed: false,
  };
  conv(roomId).pending.set(local.client_msg_id, local);
  emitSend(local);
  renderMessages({ scroll: 'bottom' });
}

/** Retry: the same message, the same client_msg_id. */
export function resend(local) {
  local.failed = false;
  local.pending = true;
  local.error = null;
  emitSend(local);
  if (local.room_id === state.current) renderMessages();
}

/** Drops a failed message. */
export function discard(local) {
  conv(local.room_id).pending.delete(local.client_msg_id);
  if (local.room_id === state.current) renderMessages();
}

/** Sends (or re-sends, with the same client_msg_id) one pending message. */
function emitSend(local) {
  if (!socket.connected) {
    local.queued = true; // flushed when the socket is back
    return;
  }
  local.queued = false;
  local.inFlight = true;
  const payload = { room_id: local.room_id, content: local.content, client_msg_id: local.client_msg_id };
  if (local.mentions?.length) payload.mentions = local.mentions;
  emit('send_message', payload, (err, ack) => {
    local.inFlight = false;
    const c = convs.get(local.room_id);
    if (!c || !c.pending.has(local.client_msg_id)) return; // confirmed by new_message already
    const outcome = sendOutcome(err, ack, socket.connected);
    switch (outcome.kind) {
      case 'requeue':
        // The connection dropped first: send again (same client_msg_id) once back.
        local.queued = true;
        break;
      case 'confirmed':
        mergeMessages(local.room_id, [outcome.message]);
        c.pending.delete(local.client_msg_id);
        break;
      case 'reauth':
        reauthenticate().then(() => emitSend(local));
        return;
      case 'wait':
        return; // new_message will confirm it
      default:
        local.pending = false;
        local.failed = true;
        local.error = outcome.error;
    }
    if (local.room_id === state.current) renderMessages();
  });
}

/** After a reconnect: sends every message still waiting. */
export function flushQueued() {
  for (const c of convs.values()) {
    for (const local of c.pending.values()) if (local.pending && !local.inFlight) emitSend(local);
  }
}

function autosize() {
  if (!el.input.value) {
    // Empty: one line, whatever the placeholder (a long one would wrap and count).
    el.input.style.height = '';
    return;
  }
  el.input.style.height = 'auto';
  el.input.style.height = `${Math.min(el.input.scrollHeight, 160)}px`;
}

/** Puts `emoji` at the caret (in place of a selection) and the keyboard back in the box. */
function insertEmoji(emoji) {
  const { input } = el;
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? start;
  input.setRangeText(emoji, start, end, 'end');
  input.focus();
  input.dispatchEvent(new Event('input', { bubbles: true })); // resize, draft, typing
}

/** Takes the message length limit from /config once it is known. */
export function applyComposerLimits() {
  el.input.maxLength = limits.max_message_chars;
}

export function initComposer() {
  el.composer.addEventListener('submit', (e) => {
    e.preventDefault();
    const content = el.input.value;
    if (!state.current || !content.trim()) return;
    const problem = rules.message(content);
    if (problem) {
      toast(problem, 'error');
      return;
    }
    sendMessage(content);
    drafts.clear(state.current);
    el.input.value = '';
    autosize();
    typingSettled();
  });

  el.input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      el.composer.requestSubmit();
    } else if (e.key === 'ArrowUp' && !el.input.value && !e.altKey && !e.ctrlKey && !e.metaKey && !e.shiftKey && state.current) {
      const last = changeableLast(orderedMessages(conv(state.current)), state.me.id);
      if (!last) return;
      e.preventDefault();
      startEdit(last);
    }
  });

  el.input.addEventListener('input', () => {
    autosize();
    if (state.current) drafts.set(state.current, el.input.value);
  });

  el.emoji.addEventListener('click', () => openEmojiPicker(insertEmoji));
}
