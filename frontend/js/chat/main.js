// The chat page (chat.html): rooms on the left, the conversation in the
// middle, members on the right. REST for rooms and members, Socket.IO
// (docs/REALTIME.md) for everything live. This module wires the others
// together, handles (re)connecting, and starts the page.

import { ApiError, get } from '../api.js';
import { updateUser } from '../auth.js';
import { loadLimits } from '../limits.js';
import { initActions } from './actions.js';
import { applyComposerLimits, flushQueued, initComposer } from './composer.js';
import { initConversation, openRoom, renderConversation } from './conversation.js';
import { initEmoji } from './emoji.js';
import { initInvite } from './invite.js';
import { initKeys } from './keys.js';
import { initMembers, loadMembers, renderMembers } from './members.js';
import { initMentions } from './mentions.js';
import { sortRooms } from './model.js';
import { initNotify } from './notify.js';
import { initReads, loadReads } from './reads.js';
import { applyRoomLimits, initRooms, loadRooms } from './rooms.js';
import { initSearch } from './search.js';
import { feedRoom, initSocket, socket } from './socket.js';
import { rooms, state } from './state.js';
import { initSwitcher } from './switcher.js';
import { clearAllTypers, initTyping } from './typing.js';
import { initUi, renderMe, setConn, toast } from './ui.js';

async function onConnect() {
  setConn('online');
  const reconnect = state.everConnected;
  state.everConnected = true;
  if (reconnect) {
    // Rooms may have come and gone while we were away.
    try {
      await loadRooms();
    } catch {
      // keep what we have
    }
  }
  for (const room of rooms.values()) if (room.is_member) feedRoom(room.id);
  if (state.current && !rooms.get(state.current)?.is_member) feedRoom(state.current);
  flushQueued();
  if (state.current) {
    renderMembers();
    if (reconnect) {
      loadMembers(state.current);
      loadReads(state.current);
    }
  }
}

function onDisconnect(reason) {
  setConn('offline');
  clearAllTypers();
  renderMembers();
  if (reason === 'io server disconnect') socket.connect(); // the server dropped us: come back
}

const roomFromHash = () => Number(new URLSearchParams(location.hash.slice(1)).get('room'));

async function start() {
  renderMe();
  setConn('connecting');
  try {
    const fresh = await get('/auth/me');
    state.me = { ...state.me, ...fresh };
    updateUser(fresh);
    renderMe();
    // Read positions live on the server now; forget the ones this page kept.
    localStorage.removeItem(`chat.lastRead.${state.me.id}`);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 0) toast(err.message, 'error');
  }
  try {
    await loadRooms();
  } catch (err) {
    toast(`Could not load rooms: ${err.message}`, 'error');
  }
  const remembered = Number(localStorage.getItem(`chat.lastRoom.${state.me.id}`));
  const firstMine = sortRooms([...rooms.values()].filter((r) => r.is_member))[0]?.id;
  const pick = [roomFromHash(), remembered, firstMine].find((id) => id && rooms.get(id)?.is_member);
  if (pick) openRoom(pick);
  else renderConversation();
  socket.connect();
}

initUi();
initSocket();
initRooms();
initConversation();
initActions();
initReads();
initMentions(); // before the composer: Enter picks a suggestion rather than sending
initComposer();
initTyping();
initMembers();
initInvite();
initSearch();
initEmoji();
initSwitcher();
initKeys();
initNotify();
socket.on('connect', onConnect);
socket.on('disconnect', onDisconnect);
window.addEventListener('hashchange', () => {
  const id = roomFromHash();
  if (id && id !== state.current && rooms.get(id)?.is_member) openRoom(id);
});
// The server's limits; the defaults hold until (and unless) they arrive.
loadLimits().then(() => {
  applyComposerLimits();
  applyRoomLimits();
});
start();
