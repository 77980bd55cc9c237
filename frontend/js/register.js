import { post } from './api.js';
import { getSession, saveSession } from './auth.js';
import { clearErrors, guardSubmit, liveValidate, showServerError } from './form.js';
import { nextPage, setupPasswordToggles } from './authpage.js';
import { limits, loadLimits } from './limits.js';
import * as rules from './validate.js';

if (getSession()) location.replace(nextPage());

const form = document.getElementById('register-form');
setupPasswordToggles(form);

const checks = [
  liveValidate(form, 'first_name', (v) => rules.name(v, 'First name')),
  liveValidate(form, 'last_name', (v) => rules.name(v, 'Last name')),
  liveValidate(form, 'email', rules.email),
  liveValidate(form, 'password', rules.password),
];

// Strength as you type.
const label = document.getElementById('strength-label');
const strengthBox = document.getElementById('password-strength');
form.password.addEventListener('input', () => {
  const { score, label: word } = rules.strength(form.password.value);
  label.textContent = word ? `Strength: ${word}` : '';
  strengthBox.dataset.score = String(form.password.value ? Math.max(1, score) : 0);
  // Say what is still missing while typing, without waiting for blur.
  const missing = rules.password(form.password.value);
  const slot = form.querySelector('[data-error-for="password"]');
  if (form.password.value && missing) {
    slot.textContent = missing;
    slot.classList.add('field-error-soft');
  } else if (!missing) {
    slot.textContent = '';
    slot.classList.remove('field-error-soft');
    form.password.removeAttribute('aria-invalid');
  }
});

guardSubmit(form, async () => {
  clearErrors(form);
  const results = checks.map((check) => check());
  if (results.includes(false)) {
    form.querySelector('[aria-invalid="true"]')?.focus();
    return;
  }
  try {
    const answer = await post(
      '/auth/register',
      {
        email: form.email.value.trim(),
        password: form.password.value,
        first_name: form.first_name.value.trim(),
        last_name: form.last_name.value.trim(),
      },
      { auth: false },
    );
    saveSession(answer);
    location.assign(nextPage());
    await new Promise(() => {});
  } catch (err) {
    if (err.code === 'already_exists') err.field = err.field || 'email';
    if (err.code === 'already_exists') err.message = 'An account with this email already exists. Log in instead?';
    showServerError(form, err);
  }
});

// The server's limits; the defaults hold until they arrive.
loadLimits().then(() => {
  form.first_name.maxLength = limits.max_name_chars;
  form.last_name.maxLength = limits.max_name_chars;
});

form.first_name.focus();
