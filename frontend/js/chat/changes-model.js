// Changes to sent messages without the DOM or the socket, so node can test
// them: edits, tombstones and reactions applied by change_seq, and what the
// viewer may do to a message.
//
// The rule (docs of the gateway's change feed): apply a change to a message
// only when its change_seq is greater than the one held for that message.
// The room's `lastChange` is the highest change_seq heard from the feed (a
// change event, or `messages_history.last_change`); it goes back as
// `since_change` on a rejoin. An ack's change_seq never moves it: an earlier
// change may still be on its way as an event.

/** The quick reactions offered on every message: fully qualified, as the server stores them. */
export const QUICK_EMOJI = ['👍', '❤️', '😂', '🎉', '😮', '😢'];

const held = (m) => m?.change_seq || 0;

/** The room's feed has reached change `changeSeq`. */
export function noteChange(c, changeSeq) {
  if (Number.isFinite(changeSeq) && changeSeq > c.lastChange) c.lastChange = changeSeq;
}

/**
 * Reactions as the reader sees them: `after` (from an event sent to the
 * whole room, whose reactions carry no `me`) with `me` taken from `before`
 * where `after` does not say. Emoji with no reactions left are dropped.
 */
export function keepMine(after, before) {
  const mine = new Map((before || []).map((r) => [r.emoji, !!r.me]));
  return (after || [])
    .filter((r) => r && r.count > 0)
    .map((r) => ({ emoji: r.emoji, count: r.count, me: typeof r.me === 'boolean' ? r.me : mine.get(r.emoji) || false }));
}

/**
 * A changed message (`message_updated`, `message_deleted`, a change in
 * `messages_history.changes`, or an ack): replaces the held one if newer.
 * `fromFeed`: it came from the room's feed, so it also moves `lastChange`.
 * Returns whether the message in view changed.
 */
export function applyMessage(c, message, { changeSeq = message?.change_seq, fromFeed = true } = {}) {
  if (!message || message.id === undefined) return false;
  if (fromFeed) noteChange(c, changeSeq);
  const before = c.byId.get(message.id);
  if (!before || !(changeSeq > held(before))) return false;
  c.byId.set(message.id, {
    ...before,
    ...message,
    change_seq: changeSeq,
    reactions: message.deleted ? [] : keepMine(message.reactions, before.reactions),
  });
  return true;
}

/**
 * `reaction_changed {message_id, change_seq, emoji, user_id, added,
 * reactions}`: the message's new reaction counts; `me` for that emoji when
 * the reactor is the reader. Returns whether the message in view changed.
 */
export function applyReaction(c, event, meId) {
  if (!event) return false;
  noteChange(c, event.change_seq);
  const before = c.byId.get(event.message_id);
  if (!before || !(event.change_seq > held(before))) return false;
  const reactions = keepMine(event.reactions, before.reactions);
  if (event.user_id === meId) {
    for (const r of reactions) if (r.emoji === event.emoji) r.me = !!event.added;
  }
  c.byId.set(event.message_id, { ...before, reactions, change_seq: event.change_seq });
  return true;
}

/**
 * What the viewer may do to a message: react (any member, to a message
 * that is stored and not deleted), edit (the sender), delete (the sender,
 * or a room's owner or admin). The server checks every one of these again.
 */
export function messageActions(m, { meId, role = null, dm = false } = {}) {
  if (!m || !m.id || m.pending || m.failed || m.deleted) return { react: false, edit: false, delete: false };
  const own = m.user?.id === meId;
  const moderator = !dm && (role === 'owner' || role === 'admin');
  return { react: true, edit: own, delete: own || moderator };
}

/** Our last message that may still be edited (↑ in an empty box), from `ordered` (by seq), or null. */
export function changeableLast(ordered, meId) {
  for (let i = ordered.length - 1; i >= 0; i--) {
    const m = ordered[i];
    if (m.user?.id === meId && messageActions(m, { meId }).edit) return m;
  }
  return null;
}

/** The label of a reaction button, for screen readers. */
export function reactionLabel({ emoji, count, me }) {
  const people = `${count} ${count === 1 ? 'reaction' : 'reactions'}`;
  return `${emoji} ${people}${me ? ', including yours: remove yours' : ': add yours'}`;
}
