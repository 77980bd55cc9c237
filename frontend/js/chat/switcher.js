// The quick switcher (Ctrl/Cmd+K): a dialog over your rooms and direct
// messages, matched fuzzily as you type (fuzzy-model.js), the matched
// letters marked; arrows choose, Enter or a click opens, Escape closes.

import { $, h } from '../dom.js';
import { openRoom } from './conversation.js';
import { markedRuns, rankMatches } from './fuzzy-model.js';
import { badgeText, isDm, roomOrder, roomTitle } from './model.js';
import { roomMark } from './rooms.js';
import { rooms, state } from './state.js';

const dialog = $('#switcher');
const input = $('#switcher-input');
const list = $('#switcher-list');
const empty = $('#switcher-empty');
/** The rooms shown: [{item, match}]. */
let results = [];
let active = 0;

function optionEl({ item: room, match }, i) {
  const name = h('span', { class: 'switcher-name' }, markedRuns(roomTitle(room), match.indices).map((r) => (r.marked ? h('mark', { text: r.text }) : r.text)));
  const unread = room.id !== state.current && room.unread_count > 0
    ? h('span', { class: 'badge badge-unread', text: badgeText(room.unread_count), attrs: { 'aria-label': `${room.unread_count} unread` } })
    : null;
  return h(
    'li',
    {
      id: `switcher-option-${room.id}`,
      class: `switcher-option${i === active ? ' is-active' : ''}`,
      dataset: { roomId: String(room.id) },
      attrs: { role: 'option', 'aria-selected': String(i === active) },
      on: {
        mousedown: (e) => e.preventDefault(), // the keyboard stays in the box
        click: () => choose(i),
      },
    },
    roomMark(room),
    name,
    h('span', { class: 'muted small switcher-kind', text: isDm(room) ? 'direct message' : room.id === state.current ? 'open now' : '' }),
    unread,
  );
}

function render() {
  list.replaceChildren(...results.map(optionEl));
  empty.hidden = results.length > 0;
  const current = results[active];
  if (current) {
    input.setAttribute('aria-activedescendant', `switcher-option-${current.item.id}`);
    list.querySelector('.is-active')?.scrollIntoView({ block: 'nearest' });
  } else {
    input.removeAttribute('aria-activedescendant');
  }
}

function update() {
  const candidates = roomOrder([...rooms.values()].filter((r) => r.is_member));
  results = rankMatches(input.value, candidates, roomTitle, { limit: 8 });
  active = 0;
  render();
}

function choose(i) {
  const chosen = results[i];
  if (!chosen) return;
  dialog.close();
  openRoom(chosen.item.id);
}

/** Opens the switcher (or, open already, selects what was typed). */
export function openSwitcher() {
  if (dialog.open) {
    input.select();
    return;
  }
  if (document.querySelector('dialog[open]')) return; // another dialog has the page
  input.value = '';
  update();
  dialog.showModal();
  input.focus();
}

export function initSwitcher() {
  input.addEventListener('input', update);
  input.addEventListener('keydown', (e) => {
    const n = results.length;
    if ((e.key === 'ArrowDown' || e.key === 'ArrowUp') && n) {
      e.preventDefault();
      active = (active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
      render();
    } else if (e.key === 'Enter') {
      e.preventDefault();
      choose(active);
    }
  });
  dialog.addEventListener('click', (e) => {
    if (e.target === dialog) dialog.close();
  });
}
