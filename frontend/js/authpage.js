// "Show"/"Hide" buttons for password fields.
export function setupPasswordToggles(root = document) {
  for (const btn of root.querySelectorAll('[data-toggle-password]')) {
    const input = document.getElementById(btn.dataset.togglePassword);
    btn.addEventListener('click', () => {
      const show = input.type === 'password';
      input.type = show ? 'text' : 'password';
      btn.textContent = show ? 'Hide' : 'Show';
      btn.setAttribute('aria-pressed', String(show));
      btn.setAttribute('aria-label', show ? 'Hide password' : 'Show password');
    });
    btn.setAttribute('aria-label', 'Show password');
  }
}

/** Where to go after signing in: a same-origin path from ?next=, else chat. */
export function nextPage() {
  const next = new URLSearchParams(location.search).get('next');
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/chat.html';
}

// A page restored from the back/forward cache would keep a submit button
// that was disabled while leaving: start afresh instead.
window.addEventListener('pageshow', (e) => {
  if (e.persisted) location.reload();
});
