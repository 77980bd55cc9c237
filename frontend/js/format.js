// Pure helpers for the chat page: no DOM, so they can be unit-tested in node.

/** The line under the messages: who is typing. `names` are display names. */
export function typingText(names) {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'several people are typing…';
}

const sameDay = (a, b) =>
  a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();

let timeFormat = null;
/** The time of day in the reader's locale: "3:09 PM", "15:09" (no leading zero where the locale has none). */
export function timeOf(date, locale) {
  if (locale) return new Intl.DateTimeFormat(locale, { hour: 'numeric', minute: '2-digit' }).format(date);
  timeFormat ||= new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
  return timeFormat.format(date);
}

/** "Today", "Yesterday", or a date. */
export function dayLabel(date, now = new Date()) {
  if (sameDay(date, now)) return 'Today';
  const y = new Date(now);
  y.setDate(now.getDate() - 1);
  if (sameDay(date, y)) return 'Yesterday';
  return date.toLocaleDateString(undefined, {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: date.getFullYear() === now.getFullYear() ? undefined : 'numeric',
  });
}

export function isSameDay(a, b) {
  return sameDay(a, b);
}

const GROUP_GAP_MS = 5 * 60 * 1000;

/**
 * Splits messages (ascending) into day sections of sender groups: consecutive
 * messages by one sender within five minutes share a header.
 * Returns [{day: Date, groups: [{userId, messages: [...]}]}].
 */
export function groupMessages(messages) {
  const days = [];
  let day = null;
  let group = null;
  for (const m of messages) {
    const at = new Date(m.created_at);
    const when = Number.isNaN(at.getTime()) ? new Date() : at;
    if (!day || !sameDay(day.day, when)) {
      day = { day: when, groups: [] };
      days.push(day);
      group = null;
    }
    const uid = m.user?.id;
    const last = group?.messages[group.messages.length - 1];
    const lastAt = last ? new Date(last.created_at).getTime() : 0;
    if (!group || group.userId !== uid || when.getTime() - lastAt > GROUP_GAP_MS) {
      group = { userId: uid, messages: [] };
      day.groups.push(group);
    }
    group.messages.push(m);
  }
  return days;
}

/** A random idempotency key for send_message (works outside secure contexts too). */
export function newClientMsgId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return 'c-' + [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}
