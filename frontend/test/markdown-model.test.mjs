// Unit tests for js/chat/markdown-model.js: the Markdown subset, links, and
// hostile input (the OWASP XSS filter-evasion vectors in fixtures/) that
// must only ever come out as text.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseInline, parseMessage, plainText, safeHref } from '../js/chat/markdown-model.js';

const VECTORS = readFileSync(new URL('./fixtures/xss-vectors.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line && !line.startsWith('#'));

const TYPES = new Set(['lines', 'quote', 'code', 'text', 'br', 'strong', 'em', 'link']);

/** Every node of a tree, depth first. */
function* walk(nodes) {
  for (const n of nodes) {
    yield n;
    if (n.children) yield* walk(n.children);
  }
}

test('bold, italic and inline code', () => {
  assert.deepEqual(parseInline('**bold** and *it* or _it_ and `a < b`'), [
    { type: 'strong', children: [{ type: 'text', text: 'bold' }] },
    { type: 'text', text: ' and ' },
    { type: 'em', children: [{ type: 'text', text: 'it' }] },
    { type: 'text', text: ' or ' },
    { type: 'em', children: [{ type: 'text', text: 'it' }] },
    { type: 'text', text: ' and ' },
    { type: 'code', text: 'a < b' },
  ]);
  assert.deepEqual(parseInline('***both***'), [{ type: 'strong', children: [{ type: 'em', children: [{ type: 'text', text: 'both' }] }] }]);
  assert.deepEqual(parseInline('``a `tick` here``'), [{ type: 'code', text: 'a `tick` here' }]);
  assert.deepEqual(parseInline('**`code` in bold**'), [{ type: 'strong', children: [{ type: 'code', text: 'code' }, { type: 'text', text: ' in bold' }] }]);
});

test('what is not emphasis stays as typed', () => {
  for (const text of ['2*3*4 = 24', 'snake_case_name', 'file_name_ here', 'x**y** z', 'a * b * c', '**', '* not a list', 'unclosed **bold', 'x_y', '`unclosed', 'price: 5*']) {
    assert.deepEqual(parseInline(text), [{ type: 'text', text }], text);
  }
  // Inside code nothing is Markdown.
  assert.deepEqual(parseInline('`**not bold**`'), [{ type: 'code', text: '**not bold**' }]);
});

test('line breaks are kept; quotes and code blocks are blocks', () => {
  assert.deepEqual(parseMessage('one\ntwo\r\nthree'), [{
    type: 'lines',
    children: [{ type: 'text', text: 'one' }, { type: 'br' }, { type: 'text', text: 'two' }, { type: 'br' }, { type: 'text', text: 'three' }],
  }]);
  assert.deepEqual(parseMessage('before\n> quoted *here*\n>second\nafter'), [
    { type: 'lines', children: [{ type: 'text', text: 'before' }] },
    { type: 'quote', children: [{ type: 'text', text: 'quoted ' }, { type: 'em', children: [{ type: 'text', text: 'here' }] }, { type: 'br' }, { type: 'text', text: 'second' }] },
    { type: 'lines', children: [{ type: 'text', text: 'after' }] },
  ]);
  assert.deepEqual(parseMessage('```js\nconst a = "**x**";\n  <b>y</b>\n```'), [{ type: 'code', lang: 'js', text: 'const a = "**x**";\n  <b>y</b>' }]);
  // An unclosed fence is just text.
  assert.deepEqual(parseMessage('```\nno end'), [{ type: 'lines', children: [{ type: 'text', text: '```' }, { type: 'br' }, { type: 'text', text: 'no end' }] }]);
  assert.equal(plainText(parseMessage('**a**\n> b\n```\nc\n```')), 'a\nb\nc\n');
});

test('http and https URLs become links, without the sentence punctuation around them', () => {
  const links = (text) => [...walk(parseMessage(text))].filter((n) => n.type === 'link').map((n) => [n.href, n.text]);
  assert.deepEqual(links('see https://example.com/a?b=1.'), [['https://example.com/a?b=1', 'https://example.com/a?b=1']]);
  assert.deepEqual(links('(https://en.wikipedia.org/wiki/Foo_(bar))'), [['https://en.wikipedia.org/wiki/Foo_(bar)', 'https://en.wikipedia.org/wiki/Foo_(bar)']]);
  assert.deepEqual(links('HTTP://EXAMPLE.COM/x, then'), [['http://example.com/x', 'HTTP://EXAMPLE.COM/x']]);
  assert.deepEqual(links('**https://example.com/bold**'), [['https://example.com/bold', 'https://example.com/bold']]);
  for (const text of ['ftp://example.com', 'xhttps://example.com', 'https://', 'http:///path', 'www.example.com', 'mailto:a@b.c', '`https://in.code/`']) {
    assert.deepEqual(links(text), [], text);
  }
});

test('safeHref takes http(s) only, as the URL parser writes it', () => {
  assert.equal(safeHref('https://example.com/a b'), 'https://example.com/a%20b');
  for (const bad of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', ' https://x.y', 'data:text/html,x', 'vbscript:x', '//example.com', '/relative', 'https://', 'http://[::1', null, 42]) {
    assert.equal(safeHref(bad), null, String(bad));
  }
});

test('every OWASP filter-evasion vector comes out as text, with only http(s) links', () => {
  assert.ok(VECTORS.length >= 80, `${VECTORS.length} vectors`);
  for (const vector of VECTORS) {
    const tree = parseMessage(vector);
    for (const n of walk(tree)) {
      assert.ok(TYPES.has(n.type), `${vector}: node ${n.type}`);
      if (n.type === 'link') {
        assert.match(n.href, /^https?:\/\/[^\s"'<>`]+$/, `${vector}: link ${n.href}`);
        assert.equal(new URL(n.href).protocol.startsWith('http'), true);
      }
      for (const key of Object.keys(n)) assert.ok(['type', 'text', 'children', 'href', 'lang'].includes(key), `${vector}: key ${key}`);
    }
    // Nothing is lost or added: the text shown is the text sent, less the Markdown marks.
    const shown = plainText(tree).replace(/\n/g, '');
    for (const word of vector.match(/[A-Za-z]{4,}/g) || []) assert.ok(shown.includes(word) || /^(html)$/i.test(word), `${vector}: "${word}" shown`);
  }
});

test('pathological input stays fast', () => {
  const started = Date.now();
  parseMessage('*'.repeat(4000));
  parseMessage('**a'.repeat(1300));
  parseMessage('_a '.repeat(1300));
  parseMessage('`'.repeat(4000));
  parseMessage('https://x.y/'.repeat(330));
  parseMessage('> '.repeat(2000));
  assert.ok(Date.now() - started < 2000, `${Date.now() - started} ms`);
});
