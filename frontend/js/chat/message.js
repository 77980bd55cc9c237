// One sender group and one message of the conversation, as DOM: the text
// (rich text, richtext.js, with mentions highlighted), "(edited)", the
// tombstone of a deleted message, delivery state with Retry, the actions
// button and menu, the reactions, and "Seen by" under our own last message.
// Text only ever goes in as text.

import { avatarEl, fullName, h } from '../dom.js';
import { timeOf } from '../format.js';
import { actionsToggle, messageMenu, reactionBar } from './actions.js';
import { editForm, isEditing } from './edit.js';
import { discard, resend } from './composer.js';
import { mentionLabels, mentionSegments } from './mentions-model.js';
import { richText } from './richtext.js';
import { members, profiles, state } from './state.js';

/** A user with the latest known name and avatar. */
export function personOf(id, fallback = {}) {
  if (id === state.me.id) return { ...fallback, ...state.me };
  return { ...fallback, ...(members.get(state.current)?.get(id) || {}), ...(profiles.get(id) || {}), id };
}

/** A message's author with the latest known name and avatar. */
export function userOf(m) {
  const u = m.user || {};
  return { ...u, ...(profiles.get(u.id) || {}) };
}

/**
 * A run of messages by one sender. `view`: {seen: {id, text}, highlightId}
 * for the messages that show more than themselves.
 */
export function groupEl(group, view) {
  const first = group.messages[0];
  const user = userOf(first);
  const own = user.id === state.me.id;
  const at = new Date(first.created_at);
  return h(
    'article',
    { class: `msg-group${own ? ' is-own' : ''}`, dataset: { userId: String(user.id) } },
    avatarEl(user, 'md'),
    h(
      'div',
      { class: 'msg-body' },
      h(
        'header',
        { class: 'msg-meta' },
        h('span', { class: 'msg-author', text: fullName(user), dataset: { nameUser: String(user.id) } }),
        h('time', { class: 'msg-time', dateTime: first.created_at, text: timeOf(at), attrs: { title: at.toLocaleString() } }),
      ),
      group.messages.map((m) => messageEl(m, view)),
    ),
  );
}

/** The text as rich text (richtext.js), mentions as highlighted runs (ours stronger). */
function textEl(m) {
  const people = (m.mentions || []).map((id) => ({ id, labels: mentionLabels(personOf(id)) }));
  const textRun = (text) => {
    if (!people.length) return text;
    return mentionSegments(text, people).map((r) => (r.userId === undefined
      ? r.text
      : h('span', { class: `mention${r.userId === state.me.id ? ' mention-me' : ''}`, text: r.text, dataset: { mentionUser: String(r.userId) } })));
  };
  return h('div', { class: 'msg-text' }, richText(m.content, { textRun }));
}

function messageEl(m, view = {}) {
  const delivery = m.failed ? 'failed' : m.pending ? 'pending' : 'sent';
  const at = new Date(m.created_at);
  const mentionsMe = !m.deleted && (m.mentions || []).includes(state.me.id);
  const highlighted = m.id && m.id === view.highlightId;
  const classes = ['msg', `msg-${delivery}`];
  if (m.deleted) classes.push('is-deleted');
  if (mentionsMe) classes.push('mentions-me');
  if (highlighted) classes.push('is-highlighted');
  const dataset = {
    msgId: m.id ? String(m.id) : '',
    seq: m.seq ? String(m.seq) : '',
    clientMsgId: m.client_msg_id || '',
    state: delivery,
  };
  if (m.id) dataset.focusKey = `msg-${m.id}`;
  if (highlighted) dataset.highlighted = 'true';
  const toggle = actionsToggle(m);
  if (toggle) classes.push('has-actions');
  const node = h('div', { class: classes.join(' '), dataset, attrs: { tabindex: highlighted ? '-1' : null } });
  const editing = isEditing(m);
  const content = h('div', { class: `msg-content${editing ? ' is-editing' : ''}` });
  if (m.deleted) content.append(h('p', { class: 'msg-text msg-tombstone', text: 'This message was deleted' }));
  else if (editing) content.append(editForm(m));
  else content.append(textEl(m));
  if (m.edited_at && !m.deleted && !editing) {
    const edited = new Date(m.edited_at);
    content.append(' ', h('span', { class: 'msg-edited', text: '(edited)', attrs: { title: `Edited ${edited.toLocaleString()}` } }));
  }
  node.append(content, h('time', { class: 'msg-time-inline', dateTime: m.created_at, text: timeOf(at), attrs: { 'aria-hidden': 'true' } }));
  if (toggle) node.append(toggle);
  if (delivery === 'pending') node.append(h('span', { class: 'msg-status', text: m.queued ? 'Waiting for connection…' : 'Sending…' }));
  if (delivery === 'failed') {
    node.append(
      h('span', { class: 'msg-status msg-status-error', text: m.error || 'Not sent.' }),
      h('button', {
        type: 'button',
        class: 'btn btn-ghost btn-sm msg-retry',
        text: 'Retry',
        dataset: { focusKey: `retry-${m.client_msg_id}` },
        on: { click: () => resend(m) },
      }),
      h('button', {
        type: 'button',
        class: 'btn btn-ghost btn-sm msg-discard',
        text: 'Discard',
        on: { click: () => discard(m) },
      }),
    );
  }
  for (const part of [messageMenu(m), reactionBar(m)]) if (part) node.append(part);
  if (m.id && view.seen && view.seen.id === m.id && view.seen.text) node.append(h('p', { class: 'msg-seen', text: view.seen.text }));
  return node;
}
