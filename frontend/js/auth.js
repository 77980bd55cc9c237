// Auth state: the one place that knows about tokens.
//
// The session ({token, token_expires_at, refresh_token, refresh_token_expires_at,
// user}) lives in localStorage so every tab shares it. The access token is
// refreshed shortly before token_expires_at; refresh tokens rotate on every
// use and presenting an old one revokes the whole family, so refreshes are
// serialised across tabs (Web Locks when available) and a tab first looks
// whether another tab has already refreshed. When the session cannot be
// renewed the user goes to the login page with a message.

const KEY = 'chat.session';
const REFRESH_MARGIN_MS = 60_000; // refresh a minute before expiry
const MIN_DELAY_MS = 5_000;

let refreshing = null; // the refresh in flight in this tab
let timer = null;
let leaving = false; // a redirect to login is under way
const listeners = new Set();

function read() {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

function expiresAt(iso) {
  const t = Date.parse(iso || '');
  return Number.isFinite(t) ? t : 0;
}

/** The stored session, or null. */
export function getSession() {
  const s = read();
  if (!s || !s.token || !s.refresh_token) return null;
  if (expiresAt(s.refresh_token_expires_at) && expiresAt(s.refresh_token_expires_at) <= Date.now()) return null;
  return s;
}

/** The signed-in user, as last known. */
export function currentUser() {
  return getSession()?.user ?? null;
}

export function isSignedIn() {
  return getSession() !== null;
}

/** Stores an /auth/login, /auth/register or /auth/refresh answer. */
export function saveSession(answer) {
  const old = read() || {};
  const session = {
    token: answer.token,
    token_expires_at: answer.token_expires_at,
    refresh_token: answer.refresh_token ?? old.refresh_token,
    refresh_token_expires_at: answer.refresh_token_expires_at ?? old.refresh_token_expires_at,
    user: answer.user ?? old.user ?? null,
  };
  localStorage.setItem(KEY, JSON.stringify(session));
  schedule();
  notify(session);
  return session;
}

/** Replaces the cached user (after a profile change). */
export function updateUser(user) {
  const s = read();
  if (!s) return;
  s.user = { ...(s.user || {}), ...user };
  localStorage.setItem(KEY, JSON.stringify(s));
}

export function clearSession() {
  localStorage.removeItem(KEY);
  clearTimeout(timer);
  timer = null;
}

/** Called with the session whenever the access token changes. */
export function onTokenChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function notify(session) {
  for (const fn of listeners) {
    try {
      fn(session);
    } catch (e) {
      console.error(e);
    }
  }
}

/** Leaves for the login page, saying why, and coming back here afterwards. */
export function redirectToLogin(reason = 'expired') {
  if (leaving) return; // already on the way out (logout): keep its message
  leaving = true;
  clearSession();
  const next = location.pathname + location.search;
  const params = new URLSearchParams({ reason });
  if (!/\/(login|register|index)\.html$|^\/$/.test(location.pathname)) params.set('next', next);
  location.assign(`/login.html?${params}`);
}

/** For pages that need a session: sends the visitor to login when there is none. */
export function requireAuth() {
  const s = getSession();
  if (!s) {
    redirectToLogin(read() ? 'expired' : 'signin');
    return null;
  }
  schedule();
  return s;
}

class RefreshError extends Error {
  constructor(message, fatal) {
    super(message);
    this.fatal = fatal; // true: the session is gone; false: try again later
  }
}

async function doRefresh(staleToken) {
  // Another tab may have refreshed while we waited for the lock.
  const current = read();
  if (!current || !current.refresh_token) throw new RefreshError('no session', true);
  if (current.token !== staleToken && expiresAt(current.token_expires_at) - Date.now() > REFRESH_MARGIN_MS) {
    notify(current);
    return current;
  }
  let res;
  try {
    res = await fetch('/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: current.refresh_token }),
    });
  } catch {
    throw new RefreshError('network error', false);
  }
  if (res.ok) return saveSession(await res.json());
  if (res.status === 401 || res.status === 400 || res.status === 403) throw new RefreshError('session expired', true);
  throw new RefreshError(`refresh failed (${res.status})`, false);
}

/**
 * Gets a new access token. Resolves to the new session; on a revoked or
 * expired session it sends the user to login (and never resolves).
 */
export function refresh() {
  if (refreshing) return refreshing;
  const stale = read()?.token;
  const run = () => doRefresh(stale);
  const locked = navigator.locks ? navigator.locks.request('chat.refresh', run) : run();
  refreshing = locked
    .catch((e) => {
      if (e.fatal) {
        redirectToLogin('expired');
        return new Promise(() => {});
      }
      schedule(15_000);
      throw e;
    })
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

/** A valid access token, refreshed first when it is about to expire. */
export async function getToken() {
  const s = getSession();
  if (!s) {
    redirectToLogin('expired');
    return new Promise(() => {});
  }
  if (expiresAt(s.token_expires_at) - Date.now() > REFRESH_MARGIN_MS / 2) return s.token;
  return (await refresh()).token;
}

function schedule(delay) {
  clearTimeout(timer);
  const s = read();
  if (!s) return;
  const wait = delay ?? Math.max(MIN_DELAY_MS, expiresAt(s.token_expires_at) - Date.now() - REFRESH_MARGIN_MS);
  // setTimeout overflows past ~24.8 days; the access token lives minutes anyway.
  timer = setTimeout(() => refresh().catch(() => {}), Math.min(wait, 2 ** 31 - 1));
}

/** Ends the session on the server (best effort) and here, then goes to login. */
export async function logout() {
  if (leaving) return;
  leaving = true;
  const s = read();
  clearSession();
  if (s?.token && s?.refresh_token) {
    try {
      await fetch('/auth/logout', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${s.token}` },
        body: JSON.stringify({ refresh_token: s.refresh_token }),
      });
    } catch {
      // The local session is gone either way.
    }
  }
  location.assign('/login.html?reason=logout');
}

// Another tab refreshed, logged in as someone else, or logged out.
window.addEventListener('storage', (e) => {
  if (e.key !== KEY) return;
  const s = read();
  if (!s) {
    if (document.body?.dataset.requiresAuth === 'true') redirectToLogin('logout');
    return;
  }
  schedule();
  notify(s);
});

// Timers are throttled in background tabs: check again when the tab returns.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState !== 'visible') return;
  const s = getSession();
  if (s && expiresAt(s.token_expires_at) - Date.now() < REFRESH_MARGIN_MS) refresh().catch(() => {});
});

// A signed-in page restored from the back/forward cache (say, after logging
// out and pressing Back) must look at the session again.
window.addEventListener('pageshow', (e) => {
  if (e.persisted && document.body?.dataset.requiresAuth === 'true') location.reload();
});
