// fetch() for the REST API: JSON in and out, the access token attached, and
// errors turned into ApiError {status, code, message, field}.

import { getToken, redirectToLogin, refresh } from './auth.js';

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field ?? null;
  }
}

async function toError(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: keep the status line
  }
  const e = body?.error ?? {};
  const fallback = res.status >= 500 ? 'The server is unavailable. Please try again.' : `Request failed (${res.status})`;
  return new ApiError(res.status, e.code ?? 'http_' + res.status, e.message || fallback, e.field);
}

/**
 * Calls the API. `body` is sent as JSON unless it is FormData.
 * With `auth` (the default) a 401 refreshes the token once and retries;
 * a second 401 ends the session.
 */
export async function api(method, path, body, { auth = true } = {}) {
  const send = async (token) => {
    const headers = {};
    let payload;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    if (token) headers.authorization = `Bearer ${token}`;
    try {
      return await fetch(path, { method, headers, body: payload });
    } catch {
      throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection and try again.');
    }
  };
  let res = await send(auth ? await getToken() : null);
  if (auth && res.status === 401) {
    const session = await refresh();
    res = await send(session.token);
    if (res.status === 401) {
      redirectToLogin('expired');
      return new Promise(() => {});
    }
  }
  if (!res.ok) throw await toError(res);
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  return type.includes('json') ? res.json() : null;
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body, opts);
export const put = (path, body, opts) => api('PUT', path, body, opts);
export const del = (path, opts) => api('DELETE', path, undefined, opts);

/** Every page of a paginated list: `key` names the array in each page. */
export async function getAll(path, key, pageSize = 100) {
  const items = [];
  let token = null;
  for (let i = 0; i < 100; i++) {
    const params = new URLSearchParams({ page_size: String(pageSize) });
    if (token) params.set('page_token', token);
    const page = await get(`${path}?${params}`);
    items.push(...(page[key] || []));
    token = page.next_page_token;
    if (!token) break;
  }
  return items;
}
