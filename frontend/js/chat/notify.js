// Notifications: with the user's permission, a desktop notification
// (Notification API) for a direct message or a mention of us while the tab
// is hidden, and a short sound if asked for; per-room mute; the settings
// dialog. Which messages notify, and what they say, is notify-model.js.

import { $, fullName } from '../dom.js';
import { roomTitle } from './model.js';
import { notificationText, notifyReason, notifySettings } from './notify-model.js';
import { jumpTo } from './search.js';
import { rooms, state } from './state.js';
import { el } from './ui.js';

const settings = notifySettings(localStorage, state.me.id);
/** Message ids already notified: a mention in a room we follow comes as new_message and as mentioned. */
const told = new Set();

const permission = () => ('Notification' in window ? Notification.permission : 'unsupported');

/** A message arrived (new_message, or mentioned): notify if it should (notify-model.js). */
export function notifyMessage(message) {
  if (!message?.id || told.has(message.id)) return;
  const room = rooms.get(message.room_id);
  const hidden = document.visibilityState === 'hidden';
  const reason = notifyReason(message, {
    room,
    meId: state.me.id,
    hidden,
    viewing: !hidden && message.room_id === state.current,
    muted: settings.isMuted(message.room_id),
  });
  if (!reason) return;
  told.add(message.id);
  if (told.size > 500) told.delete(told.values().next().value);
  const prefs = settings.get();
  if (prefs.desktop && permission() === 'granted') {
    const text = notificationText(message, { reason, senderName: fullName(message.user), roomName: room ? roomTitle(room) : 'a room' });
    try {
      const note = new Notification(text.title, { body: text.body, tag: text.tag });
      note.addEventListener('click', () => {
        window.focus();
        note.close();
        jumpTo(message.room_id, message.id, message.seq);
      });
    } catch {
      // some browsers notify only from a service worker: the sound and the badges remain
    }
  }
  if (prefs.sound) chime();
}

// ---------------------------------------------------------------- the sound

let audio = null;

/** Browsers start audio only after a user gesture: make the context ready on one. */
function readyAudio() {
  if (!settings.get().sound) return;
  try {
    audio ||= new AudioContext();
    if (audio.state === 'suspended') audio.resume().catch(() => {});
  } catch {
    audio = null;
  }
}

/** Two short soft notes. */
function chime() {
  try {
    audio ||= new AudioContext();
    const now = audio.currentTime;
    for (const [at, freq] of [[0, 880], [0.12, 1320]]) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, now + at);
      gain.gain.exponentialRampToValueAtTime(0.12, now + at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.25);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + at);
      osc.stop(now + at + 0.3);
    }
  } catch {
    // no audio here
  }
}

// ---------------------------------------------------------------- per-room mute

/** The Mute button of the room in view: pressed when its notifications are off. */
export function renderMute() {
  const room = rooms.get(state.current);
  el.mute.hidden = !room?.is_member;
  if (!room) return;
  const muted = settings.isMuted(room.id);
  el.mute.setAttribute('aria-pressed', String(muted));
  el.mute.title = muted ? 'Notifications from here are off: click to turn them on' : 'Turn off notifications from here';
}

// ---------------------------------------------------------------- the settings dialog

const dialog = $('#notify-dialog');
const desktop = $('#notify-desktop');
const sound = $('#notify-sound');
const allow = $('#notify-allow');
const status = $('#notify-status');

function renderSettings() {
  const prefs = settings.get();
  const p = permission();
  desktop.checked = prefs.desktop;
  desktop.disabled = p !== 'granted';
  sound.checked = prefs.sound;
  allow.hidden = p !== 'default';
  status.textContent = {
    granted: 'Desktop notifications come for direct messages and mentions while this tab is hidden.',
    default: 'Allow desktop notifications to hear of direct messages and mentions while this tab is hidden.',
    denied: 'This browser blocks notifications from this site: allow them in its site settings.',
    unsupported: 'This browser has no desktop notifications.',
  }[p];
}

export function initNotify() {
  el.mute.addEventListener('click', () => {
    if (!state.current) return;
    settings.setMuted(state.current, !settings.isMuted(state.current));
    renderMute();
  });
  $('#notify-settings').addEventListener('click', () => {
    renderSettings();
    dialog.showModal();
    (allow.hidden ? desktop.disabled ? sound : desktop : allow).focus();
  });
  allow.addEventListener('click', async () => {
    try {
      await Notification.requestPermission();
    } catch {
      // an old browser's callback form, or refused: the status says where things stand
    }
    renderSettings();
    (desktop.disabled ? sound : desktop).focus();
  });
  desktop.addEventListener('change', () => settings.setDesktop(desktop.checked));
  sound.addEventListener('change', () => {
    settings.setSound(sound.checked);
    if (sound.checked) {
      readyAudio();
      chime(); // this is what it sounds like
    }
  });
  $('#notify-done').addEventListener('click', () => dialog.close());
  for (const type of ['pointerdown', 'keydown']) document.addEventListener(type, readyAudio, { once: true, capture: true });
}
