// End-to-end accessibility check: axe-core (a dev dependency) run in real
// Chromium on the five pages — landing, register, login, chat, profile — at
// 1280 and 375 px, plus the chat page's drawers and dialogs. No serious or
// critical violation may remain; the others are printed for a look.
//
// axe is put into the page through the DevTools protocol (page.evaluate),
// which the pages' CSP (script-src 'self', no inline script) does not
// govern: the pages are checked with their CSP as deployed.
//
//   cd frontend && npm test          (CHAT_BIN=... to pick the binary)

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { register, scenarios, send, socketUp, title, watch } from './pages.mjs';
import { FRONTEND_DIR, launchBrowser, sleep, startServer, until } from './support.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const RUN = Date.now().toString(36);
const PASSWORD = 'Sup3rSecret!';
const ANA = { first: 'Ana', last: 'Lima', email: `ana-a-${RUN}@example.com` };
const BEN = { first: 'Ben', last: 'Ng', email: `ben-a-${RUN}@example.com` };
const ROOM = `access-${RUN}`;
const RESULTS_DIR = join(FRONTEND_DIR, 'test-results');
const SIZES = [['desktop', { width: 1280, height: 800 }], ['375 px', { width: 375, height: 812 }]];

let server;
let browser;
let guest; // a page with no session: landing, register, login
let ana; // signed in: chat, profile
let ben;
const seen = { dialogs: [], pageErrors: [], cspViolations: [] };
const scenario = scenarios(() => [['guest', guest], ['ana', ana]], RESULTS_DIR);
/** What each check found: "page @ size: n serious/critical, m other". */
const summary = [];

/** axe on `page` as it is now: the serious and critical violations, and a line for the summary. */
async function audit(page, what) {
  if (!(await page.evaluate(() => !!window.axe))) await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const other = violations.filter((v) => !bad.includes(v));
  summary.push(`${what}: ${bad.length} serious/critical${other.length ? `; other: ${other.map((v) => `${v.id} (${v.impact})`).join(', ')}` : ''}`);
  return bad;
}

async function check(page, what) {
  const bad = await audit(page, what);
  assert.deepEqual(bad, [], `${what}: ${JSON.stringify(bad, null, 1)}`);
}

describe('accessibility (axe-core)', { concurrency: false }, () => {
  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    guest = watch(await (await browser.newContext()).newPage(), 'guest', seen);
    ana = watch(await (await browser.newContext()).newPage(), 'ana', seen);
    ben = watch(await (await browser.newContext()).newPage(), 'ben', seen);
  });

  after(async () => {
    console.log(`axe results:\n  ${summary.join('\n  ')}`);
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  scenario('set up: two users, a room with messages', async () => {
    await register(ana, server.baseUrl, ANA, PASSWORD);
    await register(ben, server.baseUrl, BEN, PASSWORD);
    await until(() => socketUp(ana), Boolean, { timeout: 15_000, what: "Ana's socket" });
    await ana.getByLabel('New room').fill(ROOM);
    await ana.getByRole('button', { name: 'Create', exact: true }).click();
    await until(() => title(ana), (t) => t.includes(ROOM), { what: 'room created' });
    await ben.goto(`${server.baseUrl}/chat.html`);
    await ben.getByRole('button', { name: `Join ${ROOM}` }).click({ timeout: 15_000 });
    await until(() => title(ben), (t) => t.includes(ROOM), { what: 'Ben in the room' });
    await send(ana, 'Hello **Ben**, the notes are at https://example.com/notes.');
    await send(ben, '> the notes\nThanks! `npm test` passes.');
    await until(() => ana.locator('#message-list .msg').count(), (n) => n >= 2, { what: 'both messages' });
  });

  for (const [size, viewport] of SIZES) {
    scenario(`landing, register and login pages at ${size}`, async () => {
      await guest.setViewportSize(viewport);
      for (const path of ['/', '/register.html', '/login.html']) {
        await guest.goto(`${server.baseUrl}${path}`);
        await check(guest, `${path} @ ${size}`);
      }
      // With the form's errors showing.
      await guest.goto(`${server.baseUrl}/register.html`);
      await guest.getByRole('button', { name: 'Create account' }).click();
      await guest.locator('#password-error').waitFor();
      await check(guest, `/register.html with errors @ ${size}`);
    });

    scenario(`chat page at ${size}`, async () => {
      await ana.setViewportSize(viewport);
      await ana.goto(`${server.baseUrl}/chat.html`);
      await until(() => title(ana), (t) => t.includes(ROOM), { what: 'the room open' });
      await until(() => ana.locator('#message-list .msg').count(), (n) => n >= 2, { what: 'messages shown' });
      await sleep(300);
      await check(ana, `/chat.html @ ${size}`);
      if (viewport.width < 768) {
        await ana.locator('#toggle-rooms').click();
        await ana.locator('#rooms-pane.is-open').waitFor();
        await sleep(300);
        await check(ana, `/chat.html rooms drawer @ ${size}`);
        await ana.keyboard.press('Escape');
        await ana.locator('#toggle-members').click();
        await ana.locator('#members-pane.is-open').waitFor();
        await sleep(300);
        await check(ana, `/chat.html members drawer @ ${size}`);
        await ana.keyboard.press('Escape');
      }
      await ana.keyboard.press('Control+K');
      await ana.locator('#switcher[open]').waitFor();
      await check(ana, `/chat.html quick switcher @ ${size}`);
      await ana.keyboard.press('Escape');
      await ana.getByRole('button', { name: 'Insert emoji' }).click();
      await ana.locator('#emoji-dialog[open]').waitFor();
      await check(ana, `/chat.html emoji picker @ ${size}`);
      await ana.keyboard.press('Escape');
      await ana.getByRole('button', { name: 'Notification settings' }).click();
      await ana.locator('#notify-dialog[open]').waitFor();
      await check(ana, `/chat.html notification settings @ ${size}`);
      await ana.keyboard.press('Escape');
    });

    scenario(`profile page at ${size}`, async () => {
      await ana.setViewportSize(viewport);
      await ana.goto(`${server.baseUrl}/profile.html`);
      await until(() => ana.locator('#email').inputValue(), (v) => v === ANA.email, { what: 'the profile loaded' });
      await check(ana, `/profile.html @ ${size}`);
    });
  }

  scenario('no script errors and no CSP violations', async () => {
    assert.deepEqual(seen.pageErrors, []);
    assert.deepEqual(seen.cspViolations, []);
    assert.deepEqual(seen.dialogs, []);
  });
});
