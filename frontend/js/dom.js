// Small DOM helpers. Text always goes in as text nodes: nothing here parses HTML.

/**
 * Creates an element. `props`: class, text, attrs (attributes), dataset, on
 * (event handlers), and any other DOM property. Children may be nodes or
 * strings (which become text nodes).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'attrs') for (const [a, av] of Object.entries(v)) { if (av !== undefined && av !== null && av !== false) el.setAttribute(a, av === true ? '' : String(av)); }
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else el[k] = v;
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** An avatar URL we are willing to load: a same-origin path only. */
export function safeAvatarUrl(url) {
  return typeof url === 'string' && url.startsWith('/') && !url.startsWith('//') ? url : null;
}

export function fullName(u) {
  const n = `${u?.first_name ?? ''} ${u?.last_name ?? ''}`.trim();
  return n || (u?.id ? `User ${u.id}` : 'Someone');
}

export function initials(u) {
  const a = [...(u?.first_name ?? '').trim()][0] ?? '';
  const b = [...(u?.last_name ?? '').trim()][0] ?? '';
  return (a + b).toUpperCase() || '?';
}

/** An avatar: the image when there is one, else initials on a colour picked by id. */
export function avatarEl(user, size = 'md') {
  const wrap = h('span', { class: `avatar avatar-${size} avatar-c${Math.abs(Number(user?.id) || 0) % 8}`, attrs: { 'aria-hidden': 'true' }, dataset: { avatarUser: String(user?.id ?? '') } });
  fillAvatar(wrap, user);
  return wrap;
}

export function fillAvatar(wrap, user) {
  wrap.replaceChildren();
  const url = safeAvatarUrl(user?.avatar_url);
  if (url) {
    const img = h('img', { src: url, alt: '', attrs: { loading: 'lazy', decoding: 'async' } });
    img.addEventListener('error', () => { img.remove(); wrap.textContent = initials(user); }, { once: true });
    wrap.append(img);
  } else {
    wrap.textContent = initials(user);
  }
}
