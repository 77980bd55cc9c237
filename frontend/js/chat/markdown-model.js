// A message's text as a small tree, without the DOM, so node can test it: the
// Markdown subset a chat needs — **bold**, *italic* or _italic_, `code`,
// ``` code blocks ```, > quotes — line breaks kept, and http(s) links found
// in the text. The tree holds only text and these node types: richtext.js
// builds it as elements and text nodes, never as HTML, so whatever the text
// says (tags, entities, javascript: URLs) it can only ever show as text.
//
// Blocks:  {type: 'lines', children: inline[]}   lines joined by {type: 'br'}
//          {type: 'quote', children: inline[]}   consecutive '>' lines
//          {type: 'code', lang, text}            between ``` fences
// Inline:  {type: 'text', text} | {type: 'br'} | {type: 'code', text}
//          {type: 'strong' | 'em', children: inline[]}
//          {type: 'link', href, text}            href is http: or https:, parsed

const FENCE = /^ {0,3}```\s*([\w+#.-]*)\s*$/;
const FENCE_END = /^ {0,3}```\s*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const WORD = /[\p{L}\p{N}]/u;
const URL_START = /^https?:\/\//i;
/** Characters a URL runs over: anything but space, angle brackets, quotes and backticks. */
const URL_BODY = /^https?:\/\/[^\s<>"'`]+/i;
/** Punctuation that ends a sentence rather than the URL. */
const TRAILING = /[.,;:!?*_~]$/;
/** How deep bold and italic may nest (a guard against pathological input). */
const MAX_DEPTH = 4;

/**
 * `href` if it is a well-formed http(s) URL, as the URL parser writes it;
 * otherwise null. Nothing else (javascript:, data:, vbscript:, relative
 * paths) ever becomes a link.
 */
export function safeHref(raw) {
  if (typeof raw !== 'string' || !URL_START.test(raw)) return null;
  let url;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (!url.hostname) return null;
  return url.href;
}

/** The URL at `text[i]`, trimmed of sentence punctuation and an unmatched ')': its length, or 0. */
function urlAt(text, i) {
  if (i > 0 && WORD.test(text[i - 1])) return 0; // inside a word: "xhttp://" is not a link
  const m = URL_BODY.exec(text.slice(i));
  if (!m) return 0;
  let url = m[0];
  for (;;) {
    if (TRAILING.test(url)) url = url.slice(0, -1);
    else if (url.endsWith(')') && count(url, '(') < count(url, ')')) url = url.slice(0, -1);
    else break;
  }
  return safeHref(url) && /^https?:\/\/[^/]/i.test(url) ? url.length : 0;
}

const count = (s, ch) => s.split(ch).length - 1;

/** Where the closing `delim` of an emphasis opened at `open` is, or -1. */
function closingOf(text, open, delim) {
  const start = open + delim.length;
  if (start >= text.length || /\s/.test(text[start])) return -1; // "* not italic"
  if (open > 0 && WORD.test(text[open - 1])) return -1; // "2*3*4", "snake_case"
  let at = text.indexOf(delim, start + 1);
  while (at !== -1) {
    while (text[at + delim.length] === delim[0]) at++; // "***both***": the run's last ones close it
    const after = text[at + delim.length];
    const ok = !/\s/.test(text[at - 1]) && !(after && WORD.test(after)) && !(delim.length === 1 && after === delim[0]);
    if (ok) return at;
    at = text.indexOf(delim, at + 1);
  }
  return -1;
}

/** Inline nodes of one line. */
export function parseInline(text, depth = 0) {
  const out = [];
  let plain = '';
  const flush = () => {
    if (plain) out.push({ type: 'text', text: plain });
    plain = '';
  };
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '`') {
      let n = 1;
      while (text[i + n] === '`') n++;
      const ticks = '`'.repeat(n);
      const end = text.indexOf(ticks, i + n);
      if (end > i + n && text[end + n] !== '`') {
        flush();
        out.push({ type: 'code', text: text.slice(i + n, end) });
        i = end + n;
        continue;
      }
      plain += ticks;
      i += n;
      continue;
    }
    if ((ch === 'h' || ch === 'H') && URL_START.test(text.slice(i, i + 8))) {
      const n = urlAt(text, i);
      if (n) {
        flush();
        const raw = text.slice(i, i + n);
        out.push({ type: 'link', href: safeHref(raw), text: raw });
        i += n;
        continue;
      }
    }
    if (ch === '*' || ch === '_') {
      let run = 1;
      while (text[i + run] === ch) run++;
      const delims = depth >= MAX_DEPTH ? [] : run >= 2 ? [ch + ch, ch] : [ch];
      const found = delims.map((delim) => ({ delim, end: closingOf(text, i, delim) })).find((d) => d.end !== -1);
      if (found) {
        flush();
        const { delim, end } = found;
        out.push({ type: delim.length === 2 ? 'strong' : 'em', children: parseInline(text.slice(i + delim.length, end), depth + 1) });
        i = end + delim.length;
      } else {
        plain += ch.repeat(run); // not an emphasis: the whole run is text
        i += run;
      }
      continue;
    }
    plain += ch;
    i += 1;
  }
  flush();
  return out;
}

/** Inline nodes of several lines, joined by line breaks. */
function linesOf(lines) {
  const out = [];
  lines.forEach((line, n) => {
    if (n > 0) out.push({ type: 'br' });
    out.push(...parseInline(line));
  });
  return out;
}

/** A message's text as blocks (see the top of this file). */
export function parseMessage(content) {
  const lines = String(content ?? '').replace(/\r\n?/g, '\n').split('\n');
  const blocks = [];
  let plain = [];
  const flush = () => {
    if (plain.length) blocks.push({ type: 'lines', children: linesOf(plain) });
    plain = [];
  };
  let i = 0;
  while (i < lines.length) {
    const fence = FENCE.exec(lines[i]);
    if (fence) {
      let end = i + 1;
      while (end < lines.length && !FENCE_END.test(lines[end])) end++;
      if (end < lines.length) {
        flush();
        blocks.push({ type: 'code', lang: fence[1] || '', text: lines.slice(i + 1, end).join('\n') });
        i = end + 1;
        continue;
      }
    }
    const quote = QUOTE.exec(lines[i]);
    if (quote) {
      flush();
      const inner = [];
      while (i < lines.length && QUOTE.test(lines[i])) inner.push(QUOTE.exec(lines[i++])[1]);
      blocks.push({ type: 'quote', children: linesOf(inner) });
      continue;
    }
    plain.push(lines[i]);
    i += 1;
  }
  flush();
  return blocks;
}

/** The text a tree shows (what a screen reader or a copy gets), for tests and notices. */
export function plainText(nodes) {
  return (nodes || []).map((n) => {
    if (n.type === 'br') return '\n';
    if (n.children) return plainText(n.children) + (n.type === 'quote' || n.type === 'lines' ? '\n' : '');
    return n.text + (n.type === 'code' && n.lang !== undefined ? '\n' : '');
  }).join('');
}
