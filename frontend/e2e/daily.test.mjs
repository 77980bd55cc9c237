// End-to-end: the chat page as a daily driver (issue 15). The real binary,
// two browser contexts (Ana and Ben) in headless Chromium: the bugs new users
// tripped over (drafts leaking between rooms, gaps at 375 px, the composer
// after a room is deleted, long room names, presence on the profile page and
// while offline, form errors, times), then rich text, emoji, notifications,
// the quick switcher and shortcuts, jump-to-latest and touch targets.
//
//   cd frontend && npm test          (CHAT_BIN=... to pick the binary)

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join as pathJoin } from 'node:path';
import { after, before, describe } from 'node:test';
import { confirmed, openRoom, register, scenarios, send, shows, socketUp, texts, title, userId, watch } from './pages.mjs';
import { FRONTEND_DIR, launchBrowser, sleep, startServer, until } from './support.mjs';

const RUN = Date.now().toString(36);
const PASSWORD = 'Sup3rSecret!';
const ANA = { first: 'Ana', last: 'Lima', email: `ana-d-${RUN}@example.com` };
const BEN = { first: 'Ben', last: 'Ng', email: `ben-d-${RUN}@example.com` };
const ALPHA = `alpha-${RUN}`;
const BETA = `beta-${RUN}`;
const LOUNGE = `lounge-${RUN}`;
const RESULTS_DIR = pathJoin(FRONTEND_DIR, 'test-results');
const XSS_VECTORS = readFileSync(pathJoin(FRONTEND_DIR, 'test', 'fixtures', 'xss-vectors.txt'), 'utf8')
  .split('\n')
  .filter((line) => line && !line.startsWith('#'));

/**
 * A time zone whose clock now reads 1–8 o'clock (12-hour), so a time format
 * with a leading zero ("03:09 PM") would show one. Etc/GMT-5 is UTC+5.
 */
function singleDigitHourZone() {
  const h = new Date().getUTCHours();
  for (let off = -12; off <= 14; off++) {
    const local = (((h + off) % 24) + 24) % 24;
    if (local % 12 >= 1 && local % 12 <= 8) return off === 0 ? 'UTC' : `Etc/GMT${off > 0 ? '-' : '+'}${Math.abs(off)}`;
  }
  return 'UTC';
}
const ZONE = singleDigitHourZone();

let server;
let browser;
let ctxA;
let ctxB;
let pageA;
let pageB;
let ana;
let ben;
const seen = { dialogs: [], pageErrors: [], cspViolations: [] };
const scenario = scenarios(() => [['ana', pageA], ['ben', pageB]], RESULTS_DIR);

const msg = (page, text) => page.locator('#message-list .msg', { hasText: text });
const roomItem = (page, name) => page.locator('#my-rooms li', { hasText: name });
const memberStatus = (page, id) => page.locator(`#members li[data-user-id="${id}"]`).getAttribute('data-status', { timeout: 1000 });
const activeId = (page) => page.evaluate(() => (document.activeElement === document.body ? 'BODY' : document.activeElement?.id || document.activeElement?.tagName));

async function createRoom(page, name) {
  await page.getByLabel('New room').fill(name);
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await until(() => title(page), (t) => t.includes(name), { what: `${name} created` });
}

async function join(page, name) {
  const button = page.getByRole('button', { name: `Join ${name}` });
  await button.waitFor({ timeout: 10_000 }).catch(() => page.reload());
  await button.click({ timeout: 15_000 });
  await until(() => title(page), (t) => t.includes(name), { what: `joined ${name}` });
}

/** Sends `content` to room `roomId` straight over `page`'s socket (no composer). */
const emitSend = (page, roomId, content, mentions) => page.evaluate(({ roomId, content, mentions }) => new Promise((resolve, reject) => {
  const payload = { room_id: roomId, content };
  if (mentions) payload.mentions = mentions;
  window.chatSocket.timeout(5000).emit('send_message', payload, (err, ack) => (err || !ack?.ok ? reject(err || new Error(JSON.stringify(ack))) : resolve(ack.message)));
}), { roomId, content, mentions });

const roomIdOf = async (page, name) => Number(await roomItem(page, name).getAttribute('data-room-id'));

/** Pretends the tab is hidden (or visible again), as when the user switches tabs. */
const setHidden = (page, hidden) => page.evaluate((h) => {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
  document.dispatchEvent(new Event('visibilitychange'));
}, hidden);

/** Records every Notification built and every sound started, before the page's scripts run. */
const RECORDER = () => {
  window.__notes = [];
  window.__sounds = 0;
  const Real = window.Notification;
  if (Real) {
    function Recorded(title, options = {}) {
      window.__notes.push({ title, body: options.body, tag: options.tag });
      return new Real(title, options);
    }
    Recorded.prototype = Real.prototype;
    Object.defineProperty(Recorded, 'permission', { get: () => Real.permission });
    Recorded.requestPermission = (...args) => Real.requestPermission(...args);
    window.Notification = Recorded;
  }
  const Audio = window.AudioContext;
  if (Audio) {
    const create = Audio.prototype.createOscillator;
    Audio.prototype.createOscillator = function createOscillator() {
      window.__sounds += 1;
      return create.call(this);
    };
  }
};
const notes = (page) => page.evaluate(() => window.__notes);

describe('the chat page as a daily driver', { concurrency: false }, () => {
  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    const options = { viewport: { width: 1280, height: 800 }, locale: 'en-US', timezoneId: ZONE };
    ctxA = await browser.newContext(options);
    ctxB = await browser.newContext(options);
    await ctxB.grantPermissions(['notifications'], { origin: server.baseUrl });
    await ctxB.addInitScript(RECORDER);
    pageA = watch(await ctxA.newPage(), 'ana', seen);
    pageB = watch(await ctxB.newPage(), 'ben', seen);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    if (server && process.env.E2E_DEBUG) console.log(server.logTail(80));
    await server?.stop();
  });

  scenario('set up: two users in three rooms', async () => {
    await register(pageA, server.baseUrl, ANA, PASSWORD);
    await register(pageB, server.baseUrl, BEN, PASSWORD);
    ana = await userId(pageA);
    ben = await userId(pageB);
    await until(() => socketUp(pageA), Boolean, { timeout: 15_000, what: "Ana's socket" });
    await until(() => socketUp(pageB), Boolean, { timeout: 15_000, what: "Ben's socket" });
    for (const name of [ALPHA, BETA, LOUNGE]) await createRoom(pageA, name);
    for (const name of [ALPHA, BETA, LOUNGE]) await join(pageB, name);
    await until(() => socketUp(pageB), Boolean, { timeout: 15_000, what: "Ben's socket, after joining" });
  });

  // ---------------------------------------------------------------- bugs

  scenario('a draft stays in its room: not carried to another, kept across a reload, cleared on send', async () => {
    await openRoom(pageA, ALPHA);
    const input = pageA.locator('#message-input');
    await input.fill('DRAFT meant for alpha');
    await openRoom(pageA, BETA);
    assert.equal(await input.getAttribute('placeholder'), `Message #${BETA}`);
    assert.equal(await input.inputValue(), '', 'the box is empty in beta');
    await input.press('Enter');
    await sleep(500);
    assert.equal((await texts(pageA)).includes('DRAFT meant for alpha'), false, 'nothing was sent in beta');

    await input.fill('beta has its own draft');
    await openRoom(pageA, ALPHA);
    assert.equal(await input.inputValue(), 'DRAFT meant for alpha', 'the draft is back in alpha');
    await pageA.reload();
    await until(() => title(pageA), (t) => t.includes(ALPHA), { what: 'alpha after a reload' });
    assert.equal(await input.inputValue(), 'DRAFT meant for alpha', 'kept across a reload');
    await openRoom(pageA, BETA);
    assert.equal(await input.inputValue(), 'beta has its own draft');
    await input.press('Enter');
    await confirmed(pageA, 'beta has its own draft');
    assert.equal(await input.inputValue(), '');
    await pageA.reload();
    await until(() => title(pageA), (t) => t.includes(BETA), { what: 'beta after a reload' });
    assert.equal(await input.inputValue(), '', 'cleared on send');
    // Drafts are the user's: another account in this browser does not see them.
    const stored = await pageA.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('chat.drafts.')));
    assert.deepEqual(stored, [`chat.drafts.${ana}`]);
    await openRoom(pageA, ALPHA);
    await input.fill('');
    await input.dispatchEvent('input');
  });

  scenario("a message's time takes no room: one line is one line tall; hover or a tap shows the time", async () => {
    await openRoom(pageB, LOUNGE);
    await send(pageB, 'one line');
    await send(pageB, 'another line');
    await confirmed(pageB, 'another line');
    const m = msg(pageB, 'another line');
    const time = m.locator('.msg-time-inline');
    const layout = () => m.evaluate((node) => {
      const style = getComputedStyle(node);
      return {
        height: node.getBoundingClientRect().height,
        line: parseFloat(getComputedStyle(node.querySelector('.msg-text')).lineHeight),
        content: node.querySelector('.msg-content').getBoundingClientRect().width,
        row: node.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight),
      };
    });
    try {
      for (const width of [1280, 375]) {
        await pageB.setViewportSize({ width, height: 812 });
        await pageB.mouse.move(0, 400);
        await sleep(300);
        const l = await layout();
        assert.ok(l.height <= l.line + 4, `at ${width} px a one-line message is ${l.height} px tall for ${l.line} px of text`);
        assert.ok(l.content >= l.row - 1, `at ${width} px the text has the whole row: ${l.content} of ${l.row} px`);
        assert.equal(await time.isVisible(), false, `at ${width} px no time until asked for`);
      }
      await m.locator('.msg-text').click();
      await until(() => time.isVisible(), Boolean, { what: 'the time after a tap at 375 px' });
      await pageB.setViewportSize({ width: 1280, height: 800 });
      await pageB.keyboard.press('Escape'); // closes what the tap opened (the keyboard lands on its "⋯", which shows the time too)
      await pageB.locator('#message-input').focus();
      await pageB.mouse.move(0, 400);
      await until(() => time.isVisible(), (v) => !v, { what: 'the time hidden again' });
      await m.hover();
      await until(() => time.isVisible(), Boolean, { what: 'the time on hover at 1280 px' });
    } finally {
      await pageB.setViewportSize({ width: 1280, height: 800 });
    }
  });

  scenario('a room deleted under the composer: the box is cleared and the keyboard lands somewhere useful', async () => {
    const doomed = `doomed-${RUN}`;
    await createRoom(pageA, doomed);
    await join(pageB, doomed);
    await pageB.locator('#message-input').fill('about to vanish');
    await pageA.locator('#message-input').fill('me too');
    await pageA.getByRole('button', { name: 'Delete room' }).click();
    await pageA.getByRole('dialog', { name: 'Delete room?' }).getByRole('button', { name: 'Delete', exact: true }).click();
    for (const page of [pageA, pageB]) {
      await until(() => title(page), (t) => t === 'Choose a room', { what: 'the view closed' });
      const input = page.locator('#message-input');
      assert.equal(await input.isDisabled(), true);
      assert.equal((await input.getAttribute('placeholder')).includes(doomed), false, 'the placeholder forgets the room');
      assert.equal(await input.inputValue(), '', 'the box is cleared');
      assert.notEqual(await activeId(page), 'BODY', 'the keyboard is not dropped on the page body');
    }
    assert.ok(await pageB.evaluate(() => document.activeElement.matches('#my-rooms .room-link, #dm-list .room-link, #room-name')), 'the keyboard goes to the room list');
  });

  scenario('a 100-character room name keeps the empty composer one line tall', async () => {
    const long = `A room with a very long name that goes on and on to test the composer ${RUN}`.padEnd(100, 'x').slice(0, 100);
    await createRoom(pageA, long);
    const input = pageA.locator('#message-input');
    const height = () => input.evaluate((el) => el.getBoundingClientRect().height);
    assert.ok((await height()) <= 44, `empty composer ${await height()} px`);
    await send(pageA, 'first words here');
    await confirmed(pageA, 'first words here');
    assert.ok((await height()) <= 44, `after a send ${await height()} px`);
    await input.fill('x');
    await input.press('Backspace');
    assert.ok((await height()) <= 44, `after typing and deleting ${await height()} px`);
    // At 375 px even the shortened placeholder is wider than the box.
    await pageA.setViewportSize({ width: 375, height: 812 });
    try {
      await input.fill('x');
      await input.press('Backspace');
      assert.ok((await height()) <= 44, `at 375 px after typing and deleting ${await height()} px`);
      assert.equal(await input.evaluate((el) => el.scrollWidth <= el.clientWidth), true, 'no sideways overflow');
    } finally {
      await pageA.setViewportSize({ width: 1280, height: 800 });
    }
    await openRoom(pageA, ALPHA);
  });

  scenario('a user on the profile page stays online for the others, page changes included', async () => {
    await openRoom(pageA, LOUNGE);
    await openRoom(pageB, LOUNGE);
    await until(() => memberStatus(pageA, ben), (s) => s === 'online', { what: 'Ben online' });
    const statuses = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        statuses.push(await memberStatus(pageA, ben).catch(() => null));
        await sleep(100);
      }
    })();
    try {
      await pageB.locator('#me-link').click();
      await pageB.waitForURL('**/profile.html');
      await sleep(9000); // well past any grace period and presence refresh
      await pageB.getByRole('link', { name: 'Back to chat' }).click();
      await until(() => title(pageB), (t) => t.includes(LOUNGE), { what: 'Ben back in the chat' });
      await sleep(3000);
    } finally {
      watching = false;
      await watcher;
    }
    assert.ok(statuses.length > 50);
    assert.equal(statuses.filter((s) => s === 'offline').length, 0, `Ben never showed offline: ${statuses.join(',')}`);
  });

  scenario('offline, the members pane says presence is unknown rather than showing everyone online', async () => {
    await openRoom(pageB, LOUNGE);
    await until(() => memberStatus(pageB, ana), (s) => s === 'online', { what: 'Ana online for Ben' });
    await ctxB.setOffline(true);
    try {
      await until(() => pageB.locator('#banner').isVisible(), Boolean, { timeout: 20_000, what: 'offline banner' });
      await until(() => pageB.locator('#members').getAttribute('data-stale'), (v) => v === 'true', { what: 'the list marked stale' });
      assert.notEqual(await memberStatus(pageB, ben), 'online', 'not online himself');
      assert.notEqual(await memberStatus(pageB, ana), 'online', 'nobody shown online');
      assert.match(await pageB.locator('#members-pane').textContent(), /unknown while offline/i);
    } finally {
      await ctxB.setOffline(false);
    }
    await until(() => pageB.locator('#banner').isHidden(), Boolean, { timeout: 30_000, what: 'back online' });
    await until(() => memberStatus(pageB, ana), (s) => s === 'online', { timeout: 15_000, what: 'Ana online again' });
    assert.equal(await memberStatus(pageB, ben), 'online');
    assert.equal(await pageB.locator('#members').getAttribute('data-stale'), null);
  });

  scenario('form errors: the password error turns red with its box; "Room name is required." goes when you move on', async () => {
    const page = watch(await (await browser.newContext()).newPage(), 'probe', seen);
    try {
      await page.goto(`${server.baseUrl}/register.html`);
      await page.getByLabel('Password', { exact: true }).fill('short');
      const error = page.locator('#password-error');
      const colour = (loc) => loc.evaluate((el) => getComputedStyle(el).color);
      const amber = await colour(error);
      await page.getByRole('button', { name: 'Create account' }).click();
      await until(() => page.locator('#password').getAttribute('aria-invalid'), (v) => v === 'true', { what: 'the box marked invalid' });
      const danger = await colour(page.locator('#email-error'));
      assert.notEqual(amber, danger, 'soft while typing');
      assert.equal(await colour(error), danger, 'red with its box after a failed submit');
    } finally {
      await page.context().close();
    }

    await pageA.getByRole('button', { name: 'Create', exact: true }).click();
    const slot = pageA.locator('#room-name-error');
    await until(() => slot.textContent(), (t) => t === 'Room name is required.', { what: 'the required error' });
    await pageA.getByLabel('Search messages').click();
    await until(() => slot.textContent(), (t) => t === '', { what: 'the error gone once you move on' });
    assert.equal(await pageA.getByLabel('New room').getAttribute('aria-invalid'), null);
  });

  scenario("times use the locale's format: no leading zero", async () => {
    await openRoom(pageA, ALPHA);
    await send(pageA, 'what time is it');
    await confirmed(pageA, 'what time is it');
    const stamp = await msg(pageA, 'what time is it').locator('.msg-time-inline').evaluate((el) => ({ text: el.textContent, at: el.dateTime }));
    const expected = new Intl.DateTimeFormat('en-US', { hour: 'numeric', minute: '2-digit', timeZone: ZONE }).format(new Date(stamp.at));
    assert.equal(stamp.text, expected, `in ${ZONE}`);
    assert.doesNotMatch(stamp.text, /^0/);
    const header = await pageA.locator('#message-list .msg-group').last().locator('.msg-time').textContent();
    assert.doesNotMatch(header, /^0/);
  });

  // ---------------------------------------------------------------- rich text

  scenario('rich text: links open safely, Markdown renders, line breaks stay, <script> is text', async () => {
    await openRoom(pageA, ALPHA);
    await openRoom(pageB, ALPHA);
    const link = `${server.baseUrl}/favicon.svg?from=chat`; // a page that stays where it is (index.html moves a signed-in visitor on)
    const content = `**bold** and *italic* and \`a < b\`\nsecond line, see ${link}.\n> quoted <b>text</b>\n\`\`\`\nlet x = "<i>";\n  indented\n\`\`\``;
    await send(pageA, content);
    const m = msg(pageB, 'second line');
    await m.waitFor({ timeout: 15_000 });
    assert.equal(await m.locator('.msg-text strong').textContent(), 'bold');
    assert.equal(await m.locator('.msg-text em').textContent(), 'italic');
    assert.equal(await m.locator('.msg-text code').first().textContent(), 'a < b');
    assert.equal(await m.locator('.msg-text br').count(), 1, 'the line break kept');
    assert.equal(await m.locator('.msg-text blockquote').textContent(), 'quoted <b>text</b>');
    assert.equal(await m.locator('.msg-text pre code').textContent(), 'let x = "<i>";\n  indented');
    assert.equal(await m.locator('.msg-text b, .msg-text i').count(), 0);

    const a = m.locator('.msg-text a');
    assert.equal(await a.getAttribute('href'), link, 'the full stop is not part of the link');
    assert.equal(await a.getAttribute('rel'), 'noopener noreferrer');
    assert.equal(await a.getAttribute('target'), '_blank');
    const [popup] = await Promise.all([ctxB.waitForEvent('page'), a.click()]);
    await popup.waitForLoadState('domcontentloaded');
    assert.equal(popup.url(), link, 'the link opens');
    assert.equal(await popup.evaluate(() => window.opener), null, 'without a way back to the chat');
    await popup.close();

    await send(pageA, '<script>alert(1)</script>');
    await shows(pageB, '<script>alert(1)</script>');
    assert.equal(await pageB.locator('#message-list script').count(), 0);
  });

  scenario('rich text: the OWASP filter-evasion vectors show as text and run nothing', async () => {
    await openRoom(pageB, ALPHA);
    const roomId = await roomIdOf(pageA, ALPHA);
    const before = seen.dialogs.length;
    await pageA.evaluate(() => { window.__xss = 0; });
    await pageB.evaluate(() => { window.__xss = 0; });
    for (const vector of XSS_VECTORS) await emitSend(pageA, roomId, vector);
    await emitSend(pageA, roomId, 'end of the vectors');
    await shows(pageB, 'end of the vectors');
    for (const page of [pageA, pageB]) {
      const report = await page.evaluate(() => {
        // Pointer and focus events on everything shown: an event handler would fire now.
        for (const el of document.querySelectorAll('#message-list .msg-text, #message-list .msg-text *')) {
          for (const type of ['mouseover', 'mouseenter', 'mousemove', 'focus', 'load', 'error']) el.dispatchEvent(new Event(type));
        }
        const allowed = new Set(['P', 'DIV', 'A', 'STRONG', 'EM', 'CODE', 'PRE', 'BLOCKQUOTE', 'BR', 'SPAN']);
        const bad = [];
        for (const el of document.querySelectorAll('#message-list .msg-text, #message-list .msg-text *')) {
          if (!allowed.has(el.tagName)) bad.push(el.tagName);
          for (const attr of el.attributes) if (/^on/i.test(attr.name) || /^(src|style|srcdoc|formaction)$/i.test(attr.name)) bad.push(`${el.tagName}[${attr.name}]`);
          if (el.tagName === 'A' && !/^https?:\/\//.test(el.getAttribute('href'))) bad.push(`A[href=${el.getAttribute('href')}]`);
        }
        return { bad, xss: window.__xss };
      });
      assert.deepEqual(report.bad, [], 'only safe elements and attributes');
      assert.equal(report.xss, 0);
    }
    await sleep(500);
    assert.equal(seen.dialogs.length, before, `no dialog: ${seen.dialogs.slice(before).join(' | ')}`);
    assert.deepEqual(seen.pageErrors, []);
  }, 120_000);

  // ---------------------------------------------------------------- emoji

  scenario('emoji: the picker puts one in the message box, and adds a reaction', async () => {
    await openRoom(pageA, ALPHA);
    await openRoom(pageB, ALPHA);
    const input = pageA.locator('#message-input');
    await input.fill('Party time ');
    await pageA.getByRole('button', { name: 'Insert emoji' }).click();
    const picker = pageA.getByRole('dialog', { name: 'Emoji' });
    await picker.waitFor();
    await picker.getByLabel('Search emoji').fill('tada');
    await picker.getByRole('button', { name: '🎉 party popper' }).click();
    assert.equal(await picker.isVisible(), false, 'closed after the pick');
    assert.equal(await input.inputValue(), 'Party time 🎉');
    assert.equal(await activeId(pageA), 'message-input', 'back in the box');
    await input.press('Enter');
    await shows(pageB, 'Party time 🎉');

    // Escape closes it and gives the keyboard back.
    await pageA.getByRole('button', { name: 'Insert emoji' }).click();
    await picker.waitFor();
    await pageA.keyboard.press('Escape');
    await until(() => picker.isVisible(), (v) => !v, { what: 'the picker closed by Escape' });

    // A reaction from the full picker, through the message's menu.
    const m = msg(pageB, 'Party time');
    await m.getByRole('button', { name: 'Message actions' }).click();
    await m.getByRole('button', { name: 'More reactions' }).click();
    const reactPicker = pageB.getByRole('dialog', { name: 'Emoji' });
    await reactPicker.getByLabel('Search emoji').fill('rocket');
    await reactPicker.getByRole('button', { name: '🚀 rocket' }).click();
    await until(() => msg(pageA, 'Party time').locator('.reaction[data-emoji="🚀"] .reaction-count').textContent({ timeout: 1000 }), (t) => t === '1', { what: 'the 🚀 reaction for Ana' });
  });

  scenario('every emoji the picker offers is one the server takes as a reaction', async () => {
    const emojis = await pageA.evaluate(async () => (await import('/js/chat/emoji-data.js')).EMOJI.map((e) => e.emoji));
    assert.ok(emojis.length >= 60 && emojis.length <= 400, `${emojis.length} emoji`);
    const roomId = await roomIdOf(pageA, ALPHA);
    const target = await emitSend(pageA, roomId, 'reaction target');
    const refused = await pageA.evaluate(async ({ emojis, roomId, id }) => {
      const ask = (emoji) => new Promise((resolve) => window.chatSocket.timeout(5000).emit('react', { room_id: roomId, message_id: id, emoji }, (err, ack) => resolve(err ? { err: err.message } : ack)));
      const out = [];
      for (let i = 0; i < emojis.length; i++) {
        const added = await ask(emojis[i]);
        if (!added.ok) out.push(`${emojis[i]}: ${JSON.stringify(added)}`);
        else await ask(emojis[i]); // off again: at most 20 different per message
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 1100)); // within the event rate
      }
      return out;
    }, { emojis, roomId, id: target.id });
    assert.deepEqual(refused, []);
  });

  // ---------------------------------------------------------------- notifications

  scenario('notifications: a DM and a mention on a hidden tab notify; own messages, muted rooms and the room in view do not', async () => {
    await openRoom(pageA, LOUNGE);
    await openRoom(pageB, LOUNGE);
    assert.equal(await pageB.evaluate(() => Notification.permission), 'granted');
    const dm = await pageA.evaluate(async (userId) => {
      const { token } = JSON.parse(localStorage.getItem('chat.session'));
      const res = await fetch('/chat/dms', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ user_id: userId }) });
      return (await res.json()).id;
    }, ben);
    await pageB.locator('#dm-list li', { hasText: 'Ana Lima' }).waitFor({ timeout: 10_000 });
    const lounge = await roomIdOf(pageB, LOUNGE);
    await until(() => socketUp(pageB), Boolean, { what: "Ben's socket" });

    await setHidden(pageB, true);
    try {
      // A DM: notified, by name, with the text.
      await emitSend(pageA, dm, 'Psst, Ben: lunch?');
      await until(() => notes(pageB), (n) => n.some((x) => x.body === 'Psst, Ben: lunch?'), { what: 'a notification for the DM' });
      assert.deepEqual((await notes(pageB)).find((x) => x.body === 'Psst, Ben: lunch?').title, 'Ana Lima');
      // A plain message in a room: none. A mention there: one.
      await emitSend(pageA, lounge, 'Just chatting here');
      await emitSend(pageA, lounge, '@Ben Ng can you look?', [ben]);
      await until(() => notes(pageB), (n) => n.some((x) => x.body === '@Ben Ng can you look?'), { what: 'a notification for the mention' });
      assert.equal((await notes(pageB)).find((x) => x.body === '@Ben Ng can you look?').title, `Ana Lima in #${LOUNGE}`);
      assert.equal((await notes(pageB)).some((x) => x.body === 'Just chatting here'), false);
      // His own message, from another tab: none.
      await emitSend(pageB, dm, 'My own words');
      // The room he is in counts as not looked at while the tab is hidden, but a mention there only once.
      await sleep(800);
      const bodies = (await notes(pageB)).map((x) => x.body);
      assert.equal(bodies.includes('My own words'), false);
      assert.equal(bodies.filter((b) => b === '@Ben Ng can you look?').length, 1, 'one notification per message');
    } finally {
      await setHidden(pageB, false);
    }

    // Muting the DM silences it; the sound plays when asked for.
    await pageB.locator('#dm-list a', { hasText: 'Ana Lima' }).click();
    await until(() => title(pageB), (t) => t === 'Ana Lima', { what: 'the DM open' });
    const mute = pageB.getByRole('button', { name: 'Mute notifications' });
    await mute.click();
    assert.equal(await mute.getAttribute('aria-pressed'), 'true');
    await pageB.getByRole('button', { name: 'Notification settings' }).click();
    await pageB.getByLabel('Play a sound').check();
    await pageB.keyboard.press('Escape');
    await pageB.evaluate(() => { window.__sounds = 0; }); // the sample played on ticking the box
    await openRoom(pageB, LOUNGE);
    await setHidden(pageB, true);
    try {
      await emitSend(pageA, dm, 'Muted words');
      await emitSend(pageA, lounge, '@Ben Ng with sound', [ben]);
      await until(() => notes(pageB), (n) => n.some((x) => x.body === '@Ben Ng with sound'), { what: 'the mention still notifies' });
      assert.ok((await pageB.evaluate(() => window.__sounds)) >= 1, 'a sound played');
      assert.equal((await notes(pageB)).some((x) => x.body === 'Muted words'), false, 'the muted DM stays quiet');
    } finally {
      await setHidden(pageB, false);
    }

    // Looking at the room: nothing, even for a mention.
    const count = (await notes(pageB)).length;
    await emitSend(pageA, lounge, '@Ben Ng you are right here', [ben]);
    await shows(pageB, '@Ben Ng you are right here');
    await sleep(500);
    assert.equal((await notes(pageB)).length, count);
    // The mute is remembered.
    await pageB.reload();
    await pageB.locator('#dm-list a', { hasText: 'Ana Lima' }).click();
    await until(() => pageB.getByRole('button', { name: 'Mute notifications' }).getAttribute('aria-pressed'), (v) => v === 'true', { what: 'still muted after a reload' });
    await pageB.getByRole('button', { name: 'Mute notifications' }).click();
    await openRoom(pageB, LOUNGE);
  });

  // ---------------------------------------------------------------- navigation

  scenario('Ctrl+K opens a quick switcher with fuzzy matching; Escape closes it', async () => {
    await openRoom(pageA, ALPHA);
    await pageA.locator('#message-input').focus();
    await pageA.keyboard.press('Control+K');
    const dialog = pageA.getByRole('dialog', { name: 'Switch room' });
    await dialog.waitFor({ timeout: 3000 });
    assert.equal(await activeId(pageA), 'switcher-input');
    // "lng" fuzzily: lounge, not alpha or beta.
    await pageA.keyboard.type('lng');
    const options = dialog.getByRole('option');
    await until(() => options.first().textContent(), (t) => t.includes(LOUNGE), { what: 'lounge first' });
    assert.equal(await options.first().getAttribute('aria-selected'), 'true');
    assert.equal(await options.filter({ hasText: ALPHA }).count(), 0);
    assert.ok((await options.first().locator('mark').count()) >= 1, 'the matched letters are marked');
    await pageA.keyboard.press('Enter');
    await until(() => title(pageA), (t) => t.includes(LOUNGE), { what: 'lounge opened' });
    assert.equal(await dialog.isVisible(), false);

    // DMs too, by the other person's name; arrows move; Escape closes and gives focus back.
    await pageA.keyboard.press('Meta+K');
    await dialog.waitFor({ timeout: 3000 });
    await pageA.keyboard.type('ben');
    await until(() => options.first().textContent(), (t) => t.includes('Ben Ng'), { what: 'the DM by name' });
    await pageA.keyboard.press('Escape');
    await until(() => dialog.isVisible(), (v) => !v, { what: 'closed by Escape' });
    assert.equal(await activeId(pageA), 'message-input');
    assert.ok((await title(pageA)).includes(LOUNGE), 'nothing changed');
  });

  scenario('Alt+Up and Alt+Down move between rooms; Up in an empty box edits the last message', async () => {
    await openRoom(pageA, BETA);
    const order = await pageA.locator('#my-rooms .room-name, #dm-list .room-name').allTextContents();
    const at = order.indexOf(BETA);
    await pageA.locator('#message-input').focus();
    await pageA.keyboard.press('Alt+ArrowDown');
    await until(() => title(pageA), (t) => t.includes(order[(at + 1) % order.length]), { what: 'the next room' });
    await pageA.keyboard.press('Alt+ArrowUp');
    await until(() => title(pageA), (t) => t.includes(BETA), { what: 'back to beta' });

    await send(pageA, 'Typo in thsi one');
    await confirmed(pageA, 'Typo in thsi one');
    await pageA.locator('#message-input').press('ArrowUp');
    const box = pageA.locator('textarea.msg-edit-input');
    await until(() => box.inputValue(), (v) => v === 'Typo in thsi one', { what: 'the last message in an edit box' });
    assert.equal(await activeId(pageA), await box.getAttribute('id'));
    await box.fill('Typo in this one');
    await box.press('Enter');
    await until(() => msg(pageA, 'Typo in this one').locator('.msg-edited').count(), (n) => n === 1, { what: 'edited' });
    // Not when the box has text: the caret moves as usual.
    await pageA.locator('#message-input').fill('some text');
    await pageA.locator('#message-input').press('ArrowUp');
    await sleep(200);
    assert.equal(await pageA.locator('textarea.msg-edit-input').count(), 0);
    await pageA.locator('#message-input').fill('');
    await pageA.locator('#message-input').dispatchEvent('input');
  });

  scenario('Escape closes drawers and dialogs', async () => {
    await pageA.setViewportSize({ width: 375, height: 812 });
    try {
      await sleep(300);
      for (const [toggle, pane] of [['#toggle-rooms', '#rooms-pane'], ['#toggle-members', '#members-pane']]) {
        await pageA.locator(toggle).click();
        await until(() => pageA.locator(pane).isVisible(), Boolean, { what: `${pane} open` });
        await pageA.keyboard.press('Escape');
        await until(() => pageA.locator(pane).isVisible(), (v) => !v, { what: `${pane} closed by Escape` });
      }
      await pageA.getByRole('button', { name: 'Notification settings' }).click();
      const settings = pageA.getByRole('dialog', { name: 'Notifications' });
      await settings.waitFor();
      await pageA.keyboard.press('Escape');
      await until(() => settings.isVisible(), (v) => !v, { what: 'settings closed by Escape' });
      await pageA.getByRole('button', { name: 'Invite' }).click();
      const invite = pageA.getByRole('dialog', { name: /Invite people/ });
      await invite.waitFor();
      await pageA.keyboard.press('Escape');
      await until(() => invite.isVisible(), (v) => !v, { what: 'invite closed by Escape' });
    } finally {
      await pageA.setViewportSize({ width: 1280, height: 800 });
    }
  });

  // ---------------------------------------------------------------- scrolled up

  scenario('scrolled up: new messages do not move the view; a divider and "Jump to latest" with a count', async () => {
    const roomId = await roomIdOf(pageA, LOUNGE);
    for (let i = 1; i <= 40; i++) await emitSend(pageA, roomId, `Backlog ${i}`);
    await openRoom(pageB, LOUNGE);
    await shows(pageB, 'Backlog 40');
    const scroller = pageB.locator('#messages');
    await scroller.evaluate((el) => { el.scrollTop = el.scrollHeight - el.clientHeight - 900; });
    await sleep(300);
    const top = await scroller.evaluate((el) => el.scrollTop);
    const jump = pageB.getByRole('button', { name: /Jump to latest/ });
    assert.equal(await jump.isVisible(), false);

    for (const text of ['Fresh 1', 'Fresh 2', 'Fresh 3']) await emitSend(pageA, roomId, text);
    await until(() => texts(pageB), (list) => list.includes('Fresh 3'), { what: 'the new messages arrived' });
    await until(() => jump.textContent(), (t) => /3 new/.test(t), { what: 'Jump to latest (3 new)' });
    assert.ok(Math.abs((await scroller.evaluate((el) => el.scrollTop)) - top) <= 2, 'the view stayed where it was');
    assert.equal(await pageB.locator('#new-divider + .msg-group .msg-text').first().textContent(), 'Fresh 1', 'the divider above the first new one');

    await jump.click();
    await until(() => scroller.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight), (d) => d < 4, { what: 'at the bottom' });
    await until(() => jump.isVisible(), (v) => !v, { what: 'the button gone' });
    // Read now: Ana sees it.
    await until(() => roomItem(pageB, LOUNGE).locator('.badge-unread').count(), (n) => n === 0, { what: 'no unread badge' });
  });

  // ---------------------------------------------------------------- touch targets

  scenario('at 375 px every button and link is at least 44×44 px', async () => {
    await openRoom(pageB, LOUNGE);
    await pageB.setViewportSize({ width: 375, height: 812 });
    const small = () => pageB.evaluate(() => {
      const out = [];
      for (const el of document.querySelectorAll('button, a[href], [role="option"], input[type="checkbox"]')) {
        if (el.closest('.msg-text')) continue; // links inside text are exempt (WCAG 2.5.5)
        const target = el.type === 'checkbox' ? document.querySelector(`label[for="${el.id}"]`) || el : el; // a checkbox's target is its label
        const box = target.getBoundingClientRect();
        const style = getComputedStyle(el);
        if (box.width <= 1 || box.height <= 1 || style.visibility === 'hidden' || el.closest('[hidden]')) continue; // not shown
        if (box.right <= 0 || box.left >= innerWidth || box.bottom <= 0 || box.top >= innerHeight) continue; // off screen: a closed drawer, the skip link
        if (box.width < 44 || box.height < 44) out.push(`${el.id || el.className || el.tagName} "${(el.textContent || '').trim().slice(0, 20)}" ${Math.round(box.width)}×${Math.round(box.height)}`);
      }
      return out;
    });
    try {
      await sleep(300);
      assert.deepEqual(await small(), [], 'the chat page');
      await pageB.locator('#toggle-rooms').click();
      await until(() => pageB.locator('#rooms-pane').isVisible(), Boolean, { what: 'rooms pane' });
      await sleep(300);
      assert.deepEqual(await small(), [], 'with the rooms drawer open');
      await pageB.locator('#rooms-pane').getByRole('button', { name: 'Close' }).click();
      await pageB.locator('#toggle-members').click();
      await until(() => pageB.locator('#members-pane').isVisible(), Boolean, { what: 'members pane' });
      await sleep(300);
      assert.deepEqual(await small(), [], 'with the members drawer open');
      await pageB.keyboard.press('Escape');
      await msg(pageB, 'Fresh 3').locator('.msg-text').click();
      await msg(pageB, 'Fresh 3').locator('.msg-menu').waitFor();
      assert.deepEqual(await small(), [], "with a message's menu open");
    } finally {
      await pageB.setViewportSize({ width: 1280, height: 800 });
    }
  });

  scenario('no script errors, dialogs or CSP violations', async () => {
    assert.deepEqual(seen.pageErrors, []);
    assert.deepEqual(seen.cspViolations, []);
    assert.deepEqual(seen.dialogs, []);
  });
});
