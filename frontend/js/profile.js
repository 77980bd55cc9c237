import { api, get, put } from './api.js';
import { logout, requireAuth, updateUser } from './auth.js';
import { $, fillAvatar } from './dom.js';
import { clearErrors, fieldError, guardSubmit, liveValidate, showServerError } from './form.js';
import { limits, loadLimits, megabytes } from './limits.js';
import { keepPresence } from './presence.js';
import * as rules from './validate.js';

const session = requireAuth();
if (!session) throw new Error('not signed in');
keepPresence(); // online for the others while here, as on the chat page

let me = session.user;
const notice = $('#notice');
const preview = $('#avatar-preview');
const profileForm = $('#profile-form');
const avatarForm = $('#avatar-form');
const fileInput = $('#avatar');
const uploadBtn = $('#avatar-upload');
const cancelBtn = $('#avatar-cancel');
let previewUrl = null;

$('#logout').addEventListener('click', () => logout());

function say(text) {
  notice.textContent = text;
  notice.hidden = !text;
}

function show(user) {
  me = user;
  profileForm.email.value = user.email || '';
  profileForm.first_name.value = user.first_name || '';
  profileForm.last_name.value = user.last_name || '';
  preview.className = `avatar avatar-xl avatar-c${user.id % 8}`;
  preview.dataset.avatarUser = String(user.id);
  fillAvatar(preview, user);
}

// ---- names

const checks = [
  liveValidate(profileForm, 'first_name', (v) => rules.name(v, 'First name')),
  liveValidate(profileForm, 'last_name', (v) => rules.name(v, 'Last name')),
];

guardSubmit(profileForm, async () => {
  clearErrors(profileForm);
  say('');
  if (checks.map((c) => c()).includes(false)) {
    profileForm.querySelector('[aria-invalid="true"]')?.focus();
    return;
  }
  try {
    const user = await put('/profile/me', {
      first_name: profileForm.first_name.value.trim(),
      last_name: profileForm.last_name.value.trim(),
    });
    updateUser(user);
    show(user);
    say('Your name has been saved.');
  } catch (err) {
    showServerError(profileForm, err);
  }
});

// ---- avatar: checked and previewed before it is sent

function resetPreview() {
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = null;
  fillAvatar(preview, me);
  uploadBtn.disabled = true;
  cancelBtn.hidden = true;
}

fileInput.addEventListener('change', () => {
  clearErrors(avatarForm);
  say('');
  const file = fileInput.files[0];
  resetPreview();
  if (!file) return;
  const problem = rules.avatar(file);
  if (problem) {
    fieldError(avatarForm, 'avatar', problem);
    return;
  }
  previewUrl = URL.createObjectURL(file);
  const img = document.createElement('img');
  img.alt = '';
  img.src = previewUrl;
  img.addEventListener('error', () => {
    fieldError(avatarForm, 'avatar', 'This file does not look like an image.');
    resetPreview();
  }, { once: true });
  preview.replaceChildren(img);
  preview.classList.add('is-preview');
  uploadBtn.disabled = false;
  cancelBtn.hidden = false;
});

cancelBtn.addEventListener('click', () => {
  fileInput.value = '';
  clearErrors(avatarForm);
  resetPreview();
  fileInput.focus();
});

guardSubmit(avatarForm, async () => {
  clearErrors(avatarForm);
  say('');
  const file = fileInput.files[0];
  const problem = rules.avatar(file);
  if (problem) {
    fieldError(avatarForm, 'avatar', problem);
    fileInput.focus();
    return;
  }
  const body = new FormData();
  body.append('avatar', file, file.name);
  try {
    const user = await api('POST', '/profile/me/avatar', body);
    updateUser(user);
    fileInput.value = '';
    resetPreview();
    show(user);
    say('Your new avatar is saved. Everyone in your rooms sees it now.');
  } catch (err) {
    if (err.status === 413) err.message = `The server says this image is too large (at most ${megabytes(limits.max_avatar_bytes)}).`;
    if (err.status === 415) err.message = err.message || 'The server could not read this file as a PNG, JPEG, GIF or WebP image.';
    fieldError(avatarForm, 'avatar', err.message);
    fileInput.focus();
  } finally {
    // the submit guard re-enables the button; keep it off without a file
    setTimeout(() => { uploadBtn.disabled = !fileInput.files[0]; });
  }
});

// The server's limits; the defaults (and the page's own text) hold until they arrive.
loadLimits().then(() => {
  profileForm.first_name.maxLength = limits.max_name_chars;
  profileForm.last_name.maxLength = limits.max_name_chars;
  $('#avatar-hint').textContent = `PNG, JPEG, GIF or WebP, at most ${megabytes(limits.max_avatar_bytes)}.`;
});

show(me);
get('/profile/me')
  .then((user) => {
    updateUser(user);
    show(user);
  })
  .catch((err) => showServerError(profileForm, err));
