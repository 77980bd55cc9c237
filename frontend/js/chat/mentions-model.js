// Mentions without the DOM or the socket, so node can test them: the `@`
// being typed in the composer, the members it could mean, putting the one
// chosen into the text, the ids that go into send_message's `mentions`, and
// finding the mentions in a message to highlight them.

import { fullName } from '../dom.js';

/** The most suggestions shown at once. */
export const MAX_SUGGESTIONS = 6;

const WORD = /[\p{L}\p{N}_]/u;

/**
 * The `@name` being typed just before the caret: {start (the index of
 * '@'), query}, or null. The '@' starts the text or follows a space.
 */
export function mentionQuery(text, caret) {
  const before = (text || '').slice(0, caret);
  const m = /(^|\s)@([^\s@]{0,40})$/u.exec(before);
  if (!m) return null;
  return { start: before.length - m[2].length - 1, query: m[2] };
}

/**
 * The members `query` may mean (not ourselves): those whose name, or a word
 * of it, starts with it, case-insensitively; whole-name matches first, then
 * by name. An empty query offers everyone.
 */
export function matchMembers(list, query, { meId, limit = MAX_SUGGESTIONS } = {}) {
  const q = (query || '').toLocaleLowerCase();
  const found = [];
  for (const m of list || []) {
    if (!m || m.id === meId) continue;
    const name = fullName(m).toLocaleLowerCase();
    const whole = name.startsWith(q);
    if (!whole && !name.split(/\s+/).some((w) => w.startsWith(q))) continue;
    found.push({ m, whole, name });
  }
  found.sort((a, b) => Number(b.whole) - Number(a.whole) || a.name.localeCompare(b.name));
  return found.slice(0, limit).map((f) => f.m);
}

/** Replaces `@query` (from `start` to `caret`) with `@label ` : {text, caret}. */
export function insertMention(text, start, caret, label) {
  const inserted = `@${label} `;
  return { text: text.slice(0, start) + inserted + text.slice(caret), caret: start + inserted.length };
}

/** The ids of the chosen members ({id, label}) whose `@label` is still in `content`, each once. */
export function mentionIds(content, chosen) {
  const ids = [];
  for (const { id, label } of chosen || []) {
    if (!ids.includes(id) && hasMention(content, label)) ids.push(id);
  }
  return ids;
}

function endsWord(text, at) {
  return at >= text.length || !WORD.test(text[at]);
}

function hasMention(content, label) {
  const needle = `@${label}`;
  let at = content.indexOf(needle);
  while (at !== -1) {
    if (endsWord(content, at + needle.length)) return true;
    at = content.indexOf(needle, at + 1);
  }
  return false;
}

/**
 * `content` split into runs, the mentions of `people` ([{id, labels}], each
 * label a name written after '@') marked with their `userId`:
 * [{text, userId?}]. The longest label wins where several fit.
 */
export function mentionSegments(content, people) {
  const text = content || '';
  const options = [];
  for (const p of people || []) for (const label of p.labels || []) if (label) options.push({ id: p.id, needle: `@${label}` });
  options.sort((a, b) => b.needle.length - a.needle.length);
  const runs = [];
  let plain = '';
  let i = 0;
  while (i < text.length) {
    const hit = text[i] === '@' && options.find((o) => text.startsWith(o.needle, i) && endsWord(text, i + o.needle.length));
    if (hit) {
      if (plain) runs.push({ text: plain });
      plain = '';
      runs.push({ text: hit.needle, userId: hit.id });
      i += hit.needle.length;
    } else {
      plain += text[i];
      i += 1;
    }
  }
  if (plain) runs.push({ text: plain });
  return runs;
}

/** The names a member may be mentioned by: the full name, then the first name. */
export function mentionLabels(user) {
  const full = fullName(user);
  const first = (user?.first_name || '').trim();
  return first && first !== full ? [full, first] : [full];
}
