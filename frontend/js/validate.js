// The server's input rules, mirrored so forms can say what is wrong before
// sending. The server stays the authority: its errors are shown too. The
// length and size limits come from js/limits.js (the server's /config).

import { limits, megabytes } from './limits.js';

const chars = (s) => [...s].length;

export const PASSWORD_RULE = '8–128 characters with an upper-case letter, a lower-case letter and a digit';

/** An error message for the email, or '' when it looks valid. */
export function email(raw) {
  const v = raw.trim();
  if (!v) return 'Email is required.';
  if (v.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(v) || !v.includes('.')) return 'Enter a valid email address.';
  return '';
}

export function password(raw) {
  if (!raw) return 'Password is required.';
  const n = chars(raw);
  if (n < 8) return `Password must be at least 8 characters (${n} so far).`;
  if (n > 128) return 'Password must be at most 128 characters.';
  const missing = [];
  if (!/\p{Uppercase}/u.test(raw)) missing.push('an upper-case letter');
  if (!/\p{Lowercase}/u.test(raw)) missing.push('a lower-case letter');
  if (!/[0-9]/.test(raw)) missing.push('a digit');
  if (missing.length) return `Password needs ${joinList(missing)}.`;
  return '';
}

/** 0–4 and a word, for the strength meter. Meeting the rule scores at least 2. */
export function strength(raw) {
  if (!raw) return { score: 0, label: '' };
  let score = 0;
  const n = chars(raw);
  const classes = [/\p{Uppercase}/u, /\p{Lowercase}/u, /[0-9]/, /[^\p{L}\p{N}]/u].filter((r) => r.test(raw)).length;
  if (n >= 8) score++;
  if (n >= 12) score++;
  if (n >= 16) score++;
  if (classes >= 3) score++;
  if (classes === 4) score++;
  if (password(raw)) score = Math.min(score, 1);
  else score = Math.max(score, 2);
  // Accepted by the server, but easy to guess.
  if (/^(.)\1+$/.test(raw) || /passw(o|0)rd|qwerty|123456|letmein/i.test(raw)) score = Math.min(score, 1);
  score = Math.min(score, 4);
  return { score, label: ['Too weak', 'Weak', 'Fair', 'Good', 'Strong'][score] };
}

export function name(raw, label) {
  const v = raw.trim();
  if (!v) return `${label} is required.`;
  if (chars(v) > limits.max_name_chars) return `${label} must be at most ${limits.max_name_chars} characters.`;
  if (/\p{Cc}/u.test(v)) return `${label} must not contain control characters.`;
  return '';
}

export function roomName(raw) {
  const v = raw.trim();
  if (!v) return 'Room name is required.';
  if (chars(v) > limits.max_room_name_chars) return `Room name must be at most ${limits.max_room_name_chars} characters.`;
  return '';
}

/** A chat message, counted in characters after trimming, as the server does. */
export function message(raw) {
  const n = chars(raw.trim());
  if (!n) return 'Write a message first.';
  if (n > limits.max_message_chars) return `A message can be at most ${limits.max_message_chars} characters.`;
  return '';
}

export const AVATAR_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

export function avatar(file) {
  if (!file) return 'Choose an image.';
  if (!AVATAR_TYPES.includes(file.type)) return 'The avatar must be a PNG, JPEG, GIF or WebP image.';
  if (file.size > limits.max_avatar_bytes) return `The avatar must be at most ${megabytes(limits.max_avatar_bytes)} (this one is ${(file.size / 1048576).toFixed(1)} MB).`;
  if (file.size === 0) return 'The file is empty.';
  return '';
}

function joinList(items) {
  if (items.length < 2) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
