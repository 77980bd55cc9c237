// Notifications without the DOM, so node can test them: which messages
// notify (a direct message, or a mention of us, while the tab is hidden;
// never our own, never a muted room, never the room we are looking at),
// what a notification says, and the user's settings (desktop notifications,
// a sound, muted rooms), kept per user in `storage` under
// `chat.notify.<userId>`.

/** The longest body a notification shows. */
export const BODY_CHARS = 140;

export const notifyKey = (userId) => `chat.notify.${userId}`;

/** The settings of user `userId` in `storage`: {get(), setDesktop, setSound, setMuted, isMuted}. */
export function notifySettings(storage, userId) {
  const key = notifyKey(userId);
  const read = () => {
    let raw = {};
    try {
      raw = JSON.parse(storage.getItem(key) || '{}') || {};
    } catch {
      raw = {};
    }
    return {
      desktop: raw.desktop !== false, // on unless turned off: the browser's permission is the real switch
      sound: raw.sound === true,
      muted: Array.isArray(raw.muted) ? raw.muted.filter(Number.isFinite) : [],
    };
  };
  const write = (next) => {
    try {
      storage.setItem(key, JSON.stringify(next));
    } catch {
      // storage refused: the settings hold for this page only
    }
  };
  return {
    get: read,
    setDesktop(on) {
      write({ ...read(), desktop: !!on });
    },
    setSound(on) {
      write({ ...read(), sound: !!on });
    },
    setMuted(roomId, muted) {
      const s = read();
      const others = s.muted.filter((id) => id !== roomId);
      write({ ...s, muted: muted ? [...others, roomId] : others });
    },
    isMuted(roomId) {
      return read().muted.includes(roomId);
    },
  };
}

/**
 * Why `message` notifies: 'dm', 'mention', or null for no notification.
 * `room`: the room it is in (kind 'dm' for a direct message); `hidden`:
 * the tab is hidden; `viewing`: its room is in view on a visible tab;
 * `muted`: its room is muted.
 */
export function notifyReason(message, { room, meId, hidden, viewing = false, muted = false } = {}) {
  if (!message || message.deleted || !hidden || viewing || muted) return null;
  if (message.user?.id === meId) return null;
  if (room?.kind === 'dm') return 'dm';
  if ((message.mentions || []).includes(meId)) return 'mention';
  return null;
}

/**
 * What the notification says: {title, body, tag}. A DM by the sender's
 * name; a mention "Ana Lima in #general". The body is the text, cut short.
 */
export function notificationText(message, { reason, senderName, roomName }) {
  const text = (message.content || '').replace(/\s+/g, ' ').trim();
  const chars = [...text];
  const body = chars.length > BODY_CHARS ? `${chars.slice(0, BODY_CHARS - 1).join('')}…` : text;
  const title = reason === 'dm' ? senderName : `${senderName} in #${roomName}`;
  return { title, body, tag: `chat-message-${message.id}` };
}
