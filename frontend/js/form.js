// Form plumbing shared by the register, login and profile pages: errors next
// to their fields, a form-level alert, and a submit button that cannot fire twice.

import { $ } from './dom.js';

export function fieldError(form, field, message) {
  const input = form.elements.namedItem(field);
  const slot = $(`[data-error-for="${field}"]`, form);
  if (slot) {
    slot.textContent = message || '';
    slot.classList.remove('field-error-soft'); // an error now, not a hint while typing: red, like its box
  }
  if (input && input.setAttribute) {
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
  return !message;
}

export function formError(form, message) {
  const box = $('[data-form-error]', form);
  if (!box) return;
  box.textContent = message || '';
  box.hidden = !message;
}

export function clearErrors(form) {
  for (const slot of form.querySelectorAll('[data-error-for]')) fieldError(form, slot.dataset.errorFor, '');
  formError(form, '');
}

/**
 * Shows a server error: next to its field when the server named one we have,
 * else above the form. Field names from the server are the JSON names.
 */
export function showServerError(form, err, fieldMap = {}) {
  const field = err?.field ? fieldMap[err.field] ?? err.field : null;
  if (field && form.elements.namedItem(field) && $(`[data-error-for="${field}"]`, form)) {
    fieldError(form, field, err.message);
    form.elements.namedItem(field).focus();
  } else {
    formError(form, err?.message || 'Something went wrong. Please try again.');
  }
}

/**
 * Runs `fn` for a submit, with the button disabled and marked busy until it
 * settles. A second submit while one is running is ignored.
 */
export function guardSubmit(form, fn) {
  let busy = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    busy = true;
    const buttons = [...form.querySelectorAll('button[type="submit"], button:not([type])')];
    for (const b of buttons) {
      b.disabled = true;
      b.setAttribute('aria-busy', 'true');
    }
    form.setAttribute('aria-busy', 'true');
    try {
      await fn(e);
    } finally {
      busy = false;
      for (const b of buttons) {
        b.disabled = false;
        b.removeAttribute('aria-busy');
      }
      form.removeAttribute('aria-busy');
    }
  });
}

/** Validates a field as the user leaves it, and again on input once it has shown an error. */
export function liveValidate(form, field, check) {
  const input = form.elements.namedItem(field);
  let touched = false;
  const run = () => fieldError(form, field, check(input.value));
  input.addEventListener('blur', () => {
    if (input.value !== '') touched = true;
    if (touched) run();
  });
  input.addEventListener('input', () => {
    if (touched || input.getAttribute('aria-invalid') === 'true') run();
  });
  return run;
}
