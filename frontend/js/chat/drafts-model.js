// Drafts without the DOM, so node can test them: what was typed in a room
// and not sent, kept per room and per user in `storage` (localStorage on the
// page) so it survives switching rooms and reloading, and is gone once sent.
// One key per user, `chat.drafts.<userId>`: {"r<roomId>": text}, oldest
// first (the "r" keeps that order: integer-like keys would sort by number).

/** The most drafts kept: the oldest go first (a draft is small, but rooms come and go). */
export const MAX_DRAFTS = 50;

export const draftsKey = (userId) => `chat.drafts.${userId}`;

/** The drafts store of user `userId` in `storage` (anything with getItem/setItem/removeItem). */
export function draftStore(storage, userId) {
  const key = draftsKey(userId);
  const read = () => {
    try {
      const parsed = JSON.parse(storage.getItem(key) || '{}');
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {};
    } catch {
      return {};
    }
  };
  const write = (all) => {
    const ids = Object.keys(all);
    try {
      if (ids.length === 0) storage.removeItem(key);
      else storage.setItem(key, JSON.stringify(all));
    } catch {
      // storage full or refused: drafts are a nicety
    }
  };
  return {
    /** The draft of room `roomId`, or ''. */
    get(roomId) {
      const text = read()[`r${roomId}`];
      return typeof text === 'string' ? text : '';
    },
    /** Keeps `text` as room `roomId`'s draft; a blank one is no draft. */
    set(roomId, text) {
      if (!roomId) return;
      const all = read();
      const id = `r${roomId}`;
      delete all[id]; // re-inserted last: the newest
      if (text && text.trim()) all[id] = text;
      const ids = Object.keys(all);
      for (const old of ids.slice(0, Math.max(0, ids.length - MAX_DRAFTS))) delete all[old];
      write(all);
    },
    /** Forgets room `roomId`'s draft (sent, or the room is gone). */
    clear(roomId) {
      const all = read();
      const id = `r${roomId}`;
      if (!(id in all)) return;
      delete all[id];
      write(all);
    },
  };
}
