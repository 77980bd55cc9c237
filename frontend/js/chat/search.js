// Searching messages (`GET /chat/search`) from the rooms pane: results as
// you type (or on Enter), each with its room, author, time and a snippet
// whose matches are <mark>ed (built as nodes: the snippet is text), "More
// results", and jumping to a message: open its room, load older history
// until it is there, show it highlighted.

import { get } from '../api.js';
import { fullName, h } from '../dom.js';
import { dayLabel, timeOf } from '../format.js';
import { highlightMessage, openRoom } from './conversation.js';
import { loadUntil } from './history.js';
import { isDm, roomTitle } from './model.js';
import { rooms, state } from './state.js';
import { closePane, el, toast } from './ui.js';

const PAGE_SIZE = 20;
const TYPING_PAUSE_MS = 350;

/** The search shown: {q, next, hits}; a newer one makes older answers moot. */
let current = null;
let typingTimer = null;

function hitEl(hit) {
  const room = rooms.get(hit.room_id);
  const where = room ? (isDm(room) ? roomTitle(room) : `#${roomTitle(room)}`) : 'a room';
  const at = new Date(hit.created_at);
  const snippet = (hit.snippet || []).map((run) => (run.highlighted ? h('mark', { text: run.text }) : run.text));
  return h(
    'li',
    {},
    h(
      'button',
      {
        type: 'button',
        class: 'search-hit',
        dataset: { roomId: String(hit.room_id), messageId: String(hit.message_id), seq: String(hit.seq) },
        on: { click: () => jumpTo(hit.room_id, hit.message_id, hit.seq) },
      },
      h('span', { class: 'search-hit-meta' },
        h('span', { class: 'search-hit-room', text: where }),
        h('span', { class: 'search-hit-author', text: fullName(hit.user) }),
        h('time', { dateTime: hit.created_at, text: `${dayLabel(at)} ${timeOf(at)}` }),
      ),
      h('span', { class: 'search-hit-snippet' }, snippet),
    ),
  );
}

function render() {
  const shown = !!current;
  el.searchPanel.hidden = !shown;
  if (!shown) return;
  el.searchResults.replaceChildren(...current.hits.map(hitEl));
  el.searchMore.hidden = !current.next;
  el.searchMore.disabled = !!current.loading;
  const n = current.hits.length;
  if (current.loading && !n) el.searchStatus.textContent = 'Searching…';
  else if (current.error) el.searchStatus.textContent = current.error;
  else el.searchStatus.textContent = n ? `${n}${current.next ? '+' : ''} ${n === 1 ? 'message' : 'messages'} found` : `Nothing found for “${current.q}”.`;
}

async function search(q, { more = false } = {}) {
  const query = q.trim();
  if (!query) {
    clearSearch();
    return;
  }
  if (!more) current = { q: query, next: null, hits: [] };
  const mine = current;
  mine.loading = true;
  mine.error = null;
  render();
  const params = new URLSearchParams({ q: query, page_size: String(PAGE_SIZE) });
  if (more && mine.next) params.set('page_token', mine.next);
  try {
    const page = await get(`/chat/search?${params}`);
    if (current !== mine) return;
    mine.hits.push(...(page.hits || []));
    mine.next = page.next_page_token || null;
  } catch (err) {
    if (current !== mine) return;
    mine.error = err.message || 'Search failed.';
  }
  mine.loading = false;
  render();
}

function clearSearch() {
  clearTimeout(typingTimer);
  current = null;
  render();
}

let jumping = 0;

/**
 * Opens room `roomId` at message `id` (seq `seq`): older history is loaded
 * until it is there, then it shows highlighted.
 */
export async function jumpTo(roomId, id, seq) {
  if (!rooms.get(roomId)?.is_member) {
    toast('That room is no longer in your list.', 'warn');
    return;
  }
  const mine = ++jumping;
  if (state.current !== roomId) openRoom(roomId);
  closePane('rooms-pane'); // on a narrow screen, show the conversation
  const found = await loadUntil(roomId, id, seq, () => jumping === mine && state.current === roomId);
  if (jumping !== mine || state.current !== roomId) return;
  if (!found) {
    toast('That message is no longer there.', 'warn');
    return;
  }
  highlightMessage(id);
}

export function initSearch() {
  el.searchForm.addEventListener('submit', (e) => {
    e.preventDefault();
    clearTimeout(typingTimer);
    search(el.searchInput.value);
  });
  el.searchInput.addEventListener('input', () => {
    clearTimeout(typingTimer);
    const q = el.searchInput.value.trim();
    if (!q) {
      clearSearch();
      return;
    }
    if (q.length < 2) return;
    typingTimer = setTimeout(() => search(q), TYPING_PAUSE_MS);
  });
  el.searchInput.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || !el.searchInput.value) return;
    e.stopPropagation(); // clears the search, not the pane
    el.searchInput.value = '';
    clearSearch();
  });
  el.searchMore.addEventListener('click', () => current && search(current.q, { more: true }));
  el.searchClear.addEventListener('click', () => {
    el.searchInput.value = '';
    clearSearch();
    el.searchInput.focus();
  });
}
