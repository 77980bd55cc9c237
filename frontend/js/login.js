import { post } from './api.js';
import { getSession, saveSession } from './auth.js';
import { clearErrors, fieldError, guardSubmit, liveValidate, showServerError } from './form.js';
import { nextPage, setupPasswordToggles } from './authpage.js';
import * as rules from './validate.js';

const reasons = {
  expired: 'Your session has expired. Please log in again.',
  signin: 'Please log in to continue.',
  logout: 'You have been logged out.',
  registered: 'Your account is ready. Please log in.',
};

const params = new URLSearchParams(location.search);
const reason = params.get('reason');
if (!reason && getSession()) location.replace(nextPage());

const notice = document.getElementById('notice');
if (reasons[reason]) {
  notice.textContent = reasons[reason];
  notice.hidden = false;
  notice.classList.toggle('notice-warn', reason === 'expired');
}

const form = document.getElementById('login-form');
setupPasswordToggles(form);
const checkEmail = liveValidate(form, 'email', rules.email);
const checkPassword = liveValidate(form, 'password', (v) => (v ? '' : 'Password is required.'));

guardSubmit(form, async () => {
  clearErrors(form);
  const okEmail = checkEmail();
  const okPassword = checkPassword();
  if (!okEmail || !okPassword) {
    form.querySelector('[aria-invalid="true"]')?.focus();
    return;
  }
  try {
    const answer = await post(
      '/auth/login',
      { email: form.email.value.trim(), password: form.password.value },
      { auth: false },
    );
    saveSession(answer);
    location.assign(nextPage());
    await new Promise(() => {}); // keep the button disabled while the next page loads
  } catch (err) {
    if (err.status === 401) {
      fieldError(form, 'password', 'Wrong email or password.');
      form.password.select();
      form.password.focus();
    } else {
      showServerError(form, err);
    }
  }
});

document.getElementById('email').focus();
