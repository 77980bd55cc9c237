// The emoji picker: a dialog with a search box and the emoji of
// emoji-data.js by group; arrow keys move between them, Enter or a click
// picks one, Escape closes. It serves the message box ("Insert emoji") and
// reactions ("More reactions" in a message's menu).

import { $, h } from '../dom.js';
import { EMOJI_GROUPS, searchEmoji } from './emoji-data.js';

const dialog = $('#emoji-dialog');
const search = $('#emoji-search');
const grid = $('#emoji-grid');
const status = $('#emoji-status');
/** What a pick does, for the picker open now. */
let onPick = null;

function option(item) {
  return h('button', {
    type: 'button',
    class: 'emoji-option',
    text: item.emoji,
    dataset: { emoji: item.emoji },
    attrs: { 'aria-label': `${item.emoji} ${item.name}`, title: item.name, tabindex: '-1' },
    on: { click: () => pick(item.emoji) },
  });
}

function render() {
  const q = search.value.trim();
  if (q) {
    const found = searchEmoji(q);
    grid.replaceChildren(h('div', { class: 'emoji-set' }, found.map(option)));
    status.textContent = found.length ? '' : `No emoji for “${q}”.`;
  } else {
    grid.replaceChildren(...EMOJI_GROUPS.map((g) => h(
      'section',
      { class: 'emoji-group', attrs: { 'aria-label': g.name } },
      h('h3', { class: 'emoji-group-name', text: g.name }),
      h('div', { class: 'emoji-set' }, g.emoji.map(option)),
    )));
    status.textContent = '';
  }
  const first = grid.querySelector('.emoji-option');
  if (first) first.tabIndex = 0; // one tab stop: the arrows move inside
}

function pick(emoji) {
  const run = onPick;
  onPick = null;
  dialog.close();
  run?.(emoji);
}

/** Arrow keys between the emoji (a row is as wide as the grid shows it), Home and End. */
function onGridKey(e) {
  const options = [...grid.querySelectorAll('.emoji-option')];
  const at = options.indexOf(document.activeElement);
  if (at === -1) return;
  const top = options[at].offsetTop;
  const perRow = Math.max(1, options.filter((o) => o.offsetTop === options[0].offsetTop && o.parentElement === options[0].parentElement).length);
  const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: perRow, ArrowUp: -perRow, Home: -at, End: options.length - 1 - at };
  if (!(e.key in moves)) return;
  e.preventDefault();
  let next = Math.min(options.length - 1, Math.max(0, at + moves[e.key]));
  if (e.key === 'ArrowUp' && next === at && top > options[0].offsetTop) next = 0;
  options[at].tabIndex = -1;
  options[next].tabIndex = 0;
  options[next].focus();
}

/** Opens the picker; `then(emoji)` runs with the one picked. */
export function openEmojiPicker(then) {
  onPick = then;
  search.value = '';
  render();
  dialog.showModal();
  search.focus();
}

export function initEmoji() {
  search.addEventListener('input', render);
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      const first = grid.querySelector('.emoji-option');
      if (first) pick(first.dataset.emoji);
    } else if (e.key === 'ArrowDown') {
      e.preventDefault();
      grid.querySelector('.emoji-option')?.focus();
    }
  });
  grid.addEventListener('keydown', onGridKey);
  // A click on the backdrop (the dialog itself, outside its box) closes it.
  dialog.addEventListener('click', (e) => {
    if (e.target === dialog) dialog.close();
  });
  dialog.addEventListener('close', () => {
    onPick = null;
  });
}
