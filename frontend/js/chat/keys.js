// The chat page's keyboard shortcuts: Ctrl/Cmd+K opens the quick switcher
// (switcher.js); Alt+↑ / Alt+↓ go to the previous or next room, in the
// rooms pane's order. ↑ in an empty message box edits our last message
// (composer.js); Escape closes what is open (menus, drawers and dialogs,
// each where it lives).

import { openRoom } from './conversation.js';
import { roomOrder } from './model.js';
import { openSwitcher } from './switcher.js';
import { rooms, state } from './state.js';

/** Opens the room `step` places from the one in view (wrapping round). */
function moveRoom(step) {
  const ids = roomOrder([...rooms.values()].filter((r) => r.is_member)).map((r) => r.id);
  if (!ids.length) return;
  const at = ids.indexOf(state.current);
  const next = at === -1 ? ids[step > 0 ? 0 : ids.length - 1] : ids[(at + step + ids.length) % ids.length];
  if (next !== state.current) openRoom(next);
}

export function initKeys() {
  document.addEventListener('keydown', (e) => {
    if (e.isComposing || e.defaultPrevented) return;
    const mod = e.ctrlKey || e.metaKey;
    if (mod && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'k') {
      e.preventDefault();
      openSwitcher();
    } else if (e.altKey && !mod && !e.shiftKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
      if (document.querySelector('dialog[open]')) return;
      e.preventDefault();
      moveRoom(e.key === 'ArrowDown' ? 1 : -1);
    }
  });
}
