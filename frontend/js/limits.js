// The server's input limits, from `GET /config` (JSON, no auth). Until it
// answers, or when it cannot (an older gateway answers 404), the defaults
// below apply, so nothing waits on it. DOM-free; the server stays the
// authority either way.

export const DEFAULT_LIMITS = Object.freeze({
  max_message_chars: 4000,
  max_room_name_chars: 100,
  max_name_chars: 100,
  max_avatar_bytes: 5 * 1024 * 1024,
});

/** The limits in force. Read a field when it is needed; do not copy it. */
export const limits = { ...DEFAULT_LIMITS };

/**
 * Takes the known fields of a /config body into `target` when they are
 * positive integers; anything else keeps the value already there.
 */
export function applyLimits(body, target = limits) {
  if (!body || typeof body !== 'object') return target;
  for (const key of Object.keys(DEFAULT_LIMITS)) {
    const v = body[key];
    if (Number.isSafeInteger(v) && v > 0) target[key] = v;
  }
  return target;
}

/** Asks the server once; always resolves (to `target`). */
export async function fetchLimits(fetchImpl = globalThis.fetch, target = limits) {
  try {
    const res = await fetchImpl('/config', { headers: { accept: 'application/json' } });
    if (res.ok) applyLimits(await res.json(), target);
  } catch {
    // offline, not JSON, or no fetch: keep what we have
  }
  return target;
}

let loading = null;
/** Fetches /config once per page; later calls share the first answer. */
export function loadLimits() {
  if (!loading) loading = fetchLimits();
  return loading;
}

/** "5 MB" */
export function megabytes(bytes) {
  return `${Number((bytes / 1048576).toFixed(1))} MB`;
}
