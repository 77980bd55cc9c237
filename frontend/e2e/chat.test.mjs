// End-to-end: the real binary, two browser contexts (Ana and Ben) in headless
// Chromium, through the nine scenarios of issue 5, then screenshots.
//
//   cd frontend && npm test          (CHAT_BIN=... to pick the binary)
//   E2E_BASE_URL=http://127.0.0.1:8080 npm test   (against a running server)

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { confirmed, openRoom, scenarios, register as signUp, send, session, shows, socketUp, texts, title, userId, watch } from './pages.mjs';
import { FRONTEND_DIR, REPO_DIR, launchBrowser, makePng, sleep, startServer, until } from './support.mjs';

const RUN = Date.now().toString(36);
const PASSWORD = 'Sup3rSecret!';
const ANA = { first: 'Ana', last: 'Lima', email: `ana-${RUN}@example.com` };
const BEN = { first: 'Ben', last: 'Ng', email: `ben-${RUN}@example.com` };
const ROOM = `general-${RUN}`;
const RANDOM = `random-${RUN}`;
const ARCHIVE = `archive-${RUN}`;
const SECRET = `secret-${RUN}`;
const XSS = '<img src=x onerror=alert(1)>';
const SCREENSHOT_DIR = join(REPO_DIR, 'docs', 'screenshots');
const RESULTS_DIR = join(FRONTEND_DIR, 'test-results');

let server;
let browser;
let ctxA;
let ctxB;
let pageA;
let pageB;
let room; // {id, name}
let secret; // the private room: {id, name}
const dialogs = [];
const pageErrors = [];
const cspViolations = [];

const seen = { dialogs, pageErrors, cspViolations };
const newPage = async (ctx, who) => watch(await ctx.newPage(), who, seen);
/** Runs a scenario; on failure saves both pages' screenshots for a look. */
const scenario = scenarios(() => [['ana', pageA], ['ben', pageB]], RESULTS_DIR);

const register = (page, user) => signUp(page, server.baseUrl, user, PASSWORD);

const typingLine = (page) => page.locator('#typing').textContent();
const memberStatus = (page, id) => page.locator(`#members li[data-user-id="${id}"]`).getAttribute('data-status', { timeout: 1000 });

/** The HTTP status of a GET as the page's user. */
const statusOf = (page, path) => page.evaluate(async (p) => {
  const { token } = JSON.parse(localStorage.getItem('chat.session'));
  return (await fetch(p, { headers: { authorization: `Bearer ${token}` } })).status;
}, path);

/** Opens the member menu of `id` in `page`'s members pane; returns the entry. */
async function memberMenu(page, id, name) {
  const entry = page.locator(`#members li[data-user-id="${id}"]`);
  await entry.getByRole('button', { name: `Actions for ${name}` }).click();
  await entry.locator('.member-menu').waitFor();
  return entry;
}

describe('chat in the browser', { concurrency: false }, () => {
  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    ctxA = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    ctxB = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    pageA = await newPage(ctxA, 'ana');
    pageB = await newPage(ctxB, 'ben');
  });

  after(async () => {
    await browser?.close().catch(() => {});
    if (server && process.env.E2E_DEBUG) console.log(server.logTail(80));
    await server?.stop();
  });

  scenario('1. register two users and create a room', async () => {
    // The landing page sends visitors on to register and log in.
    await pageA.goto(`${server.baseUrl}/`);
    assert.equal(await pageA.getByRole('link', { name: 'Create an account' }).count(), 1);

    // Inline validation before anything is sent.
    await pageA.goto(`${server.baseUrl}/register.html`);
    await pageA.getByLabel('Email').fill('not-an-email');
    await pageA.getByLabel('Password', { exact: true }).fill('short');
    await pageA.getByRole('button', { name: 'Create account' }).click();
    await until(() => pageA.locator('[data-error-for="email"]').textContent(), (t) => /valid email/i.test(t), { what: 'email error' });
    assert.match(await pageA.locator('[data-error-for="password"]').textContent(), /at least 8/);
    assert.equal(pageA.url().endsWith('/register.html'), true);

    await register(pageA, ANA);
    await register(pageB, BEN);

    // The server's error lands next to its field: the email is taken.
    const probe = await newPage(await browser.newContext(), 'probe');
    await probe.goto(`${server.baseUrl}/register.html`);
    await probe.getByLabel('First name').fill('Ana');
    await probe.getByLabel('Last name').fill('Again');
    await probe.getByLabel('Email').fill(ANA.email);
    await probe.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await probe.getByRole('button', { name: 'Create account' }).click();
    await until(() => probe.locator('[data-error-for="email"]').textContent(), (t) => /already exists/i.test(t), { what: 'duplicate email error' });
    await probe.context().close();

    await pageA.getByLabel('New room').fill(ROOM);
    await pageA.getByRole('button', { name: 'Create', exact: true }).click();
    await until(() => pageA.locator('#room-title').textContent(), (t) => t.includes(ROOM), { what: 'new room opened' });
    assert.equal(await pageA.locator('#my-rooms li', { hasText: ROOM }).count(), 1);
    room = { id: Number(await pageA.locator('#my-rooms li', { hasText: ROOM }).getAttribute('data-room-id')), name: ROOM };
    assert.ok(room.id > 0);

    // A duplicate name is refused next to the field.
    await pageA.getByLabel('New room').fill(ROOM.toUpperCase());
    await pageA.getByRole('button', { name: 'Create', exact: true }).click();
    await until(() => pageA.locator('#room-name-error').textContent(), (t) => /already exists/i.test(t), { what: 'duplicate room error' });
    await pageA.getByLabel('New room').fill('');

    // Ben sees the room among the others (live, or after a reload).
    await pageB.reload();
    await pageB.locator('#other-rooms li', { hasText: ROOM }).waitFor({ timeout: 10_000 });
  });

  scenario('2. both join and exchange messages', async () => {
    await pageB.getByRole('button', { name: `Join ${ROOM}` }).click();
    await until(() => pageB.locator('#room-title').textContent(), (t) => t.includes(ROOM), { what: 'Ben in the room' });
    assert.equal(await pageB.locator('#my-rooms li', { hasText: ROOM }).count(), 1);
    await until(() => socketUp(pageA), Boolean, { timeout: 15_000, what: "Ana's socket connected" });
    await until(() => socketUp(pageB), Boolean, { timeout: 15_000, what: "Ben's socket connected" });

    await send(pageA, 'Hello Ben!');
    await confirmed(pageA, 'Hello Ben!');
    await shows(pageB, 'Hello Ben!');
    await send(pageB, 'Hi Ana, good to see you.');
    await confirmed(pageB, 'Hi Ana, good to see you.');
    await shows(pageA, 'Hi Ana, good to see you.');
    await send(pageA, 'Second line from Ana');
    await shows(pageB, 'Second line from Ana');

    // Grouped by sender, with names, times and avatars.
    const groups = await pageB.locator('#message-list .msg-group').evaluateAll((els) =>
      els.map((g) => ({
        author: g.querySelector('.msg-author')?.textContent,
        time: g.querySelector('time.msg-time')?.getAttribute('datetime'),
        avatar: !!g.querySelector('.avatar'),
        count: g.querySelectorAll('.msg').length,
      })),
    );
    assert.deepEqual(groups.map((g) => g.author), ['Ana Lima', 'Ben Ng', 'Ana Lima']);
    assert.ok(groups.every((g) => g.time && g.avatar));
  });

  scenario('3. each sees the other typing, then not', async () => {
    await pageA.locator('#message-input').pressSequentially('I am wri', { delay: 40 });
    await until(() => typingLine(pageB), (t) => t === 'Ana is typing…', { what: 'Ben sees Ana typing' });
    await pageA.locator('#message-input').fill('');
    await pageA.locator('#message-input').dispatchEvent('input');
    await until(() => typingLine(pageB), (t) => t === '', { what: "Ana's typing line cleared" });

    await pageB.locator('#message-input').pressSequentially('Let me think', { delay: 40 });
    await until(() => typingLine(pageA), (t) => t === 'Ben is typing…', { what: 'Ana sees Ben typing' });
    // Idle: the line goes away by itself (client stop after 3 s, server after 5 s).
    await until(() => typingLine(pageA), (t) => t === '', { timeout: 12_000, what: "Ben's typing line cleared" });
    // Sending clears it at once too.
    await pageB.locator('#message-input').pressSequentially(' more', { delay: 40 });
    await until(() => typingLine(pageA), (t) => t === 'Ben is typing…', { what: 'Ana sees Ben typing again' });
    await pageB.locator('#message-input').press('Enter');
    await until(() => typingLine(pageA), (t) => t === '', { timeout: 5_000, what: 'typing cleared by the send' });
  });

  scenario('4. presence dots change when one closes the page', async () => {
    const ben = await userId(pageB);
    await until(() => memberStatus(pageA, ben), (s) => s === 'online', { what: 'Ben online for Ana' });
    await pageB.close();
    await until(() => memberStatus(pageA, ben), (s) => s === 'offline', { timeout: 20_000, what: 'Ben offline for Ana' });
    assert.equal(await pageA.locator(`#members li[data-user-id="${ben}"] .presence-dot.presence-offline`).count(), 1);
    pageB = await newPage(ctxB, 'ben');
    await pageB.goto(`${server.baseUrl}/chat.html#room=${room.id}`);
    await until(() => memberStatus(pageA, ben), (s) => s === 'online', { timeout: 20_000, what: 'Ben online again' });
    assert.equal(await pageA.locator(`#members li[data-user-id="${ben}"] .presence-dot.presence-online`).count(), 1);
  });

  scenario('5. one reloads and sees the history', async () => {
    await pageA.reload();
    await until(() => pageA.locator('#room-title').textContent(), (t) => t.includes(ROOM), { what: 'room reopened after reload' });
    await until(
      () => texts(pageA),
      (list) => ['Hello Ben!', 'Hi Ana, good to see you.', 'Second line from Ana'].every((t) => list.includes(t)),
      { timeout: 15_000, what: 'history after reload' },
    );
    const list = await texts(pageA);
    assert.ok(list.indexOf('Hello Ben!') < list.indexOf('Hi Ana, good to see you.'), 'history in order');
  });

  scenario('6. offline while the other sends 5: all 5 exactly once after reconnecting', async () => {
    await until(() => socketUp(pageB), Boolean, { timeout: 15_000, what: "Ben's socket connected" });
    await shows(pageB, 'Second line from Ana');
    await ctxB.setOffline(true);
    await until(() => pageB.locator('#banner').isVisible(), Boolean, { timeout: 20_000, what: 'offline banner' });
    assert.equal(await socketUp(pageB), false);

    const batch = [1, 2, 3, 4, 5].map((i) => `While you were away #${i}`);
    for (const text of batch) await send(pageA, text);
    for (const text of batch) await confirmed(pageA, text);
    await sleep(500);
    assert.equal((await texts(pageB)).filter((t) => batch.includes(t)).length, 0, 'nothing arrives while offline');

    await ctxB.setOffline(false);
    await until(() => pageB.locator('#banner').isHidden(), Boolean, { timeout: 30_000, what: 'banner gone after reconnect' });
    await until(() => texts(pageB), (list) => batch.every((t) => list.includes(t)), { timeout: 20_000, what: 'all 5 caught up' });
    await sleep(1000); // give any duplicate a chance to show up
    const list = await texts(pageB);
    for (const text of batch) assert.equal(list.filter((t) => t === text).length, 1, `"${text}" exactly once`);
    const ids = await pageB.locator('#message-list .msg[data-msg-id]').evaluateAll((els) => els.map((e) => e.dataset.msgId));
    assert.equal(new Set(ids).size, ids.length, 'no message id twice');
    // In order, after what came before.
    const positions = batch.map((t) => list.indexOf(t));
    assert.deepEqual([...positions].sort((a, b) => a - b), positions);
    assert.ok(list.indexOf('Second line from Ana') < positions[0]);
  });

  scenario('7. an uploaded avatar shows next to that user\'s messages for the other', async () => {
    const ana = await userId(pageA);
    const profile = await newPage(ctxA, 'ana-profile');
    await profile.goto(`${server.baseUrl}/profile.html`);

    // Checked before upload: not an image.
    await profile.getByLabel('Choose an image').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    await until(() => profile.locator('#avatar-error').textContent(), (t) => /PNG, JPEG, GIF or WebP/.test(t), { what: 'type error' });
    assert.equal(await profile.getByRole('button', { name: 'Upload avatar' }).isDisabled(), true);

    await profile.getByLabel('Choose an image').setInputFiles({ name: 'ana.png', mimeType: 'image/png', buffer: makePng(96) });
    await until(() => profile.locator('#avatar-preview img').getAttribute('src', { timeout: 1000 }), (src) => src?.startsWith('blob:'), { what: 'preview' });
    await profile.getByRole('button', { name: 'Upload avatar' }).click();
    await until(() => profile.locator('#notice').textContent(), (t) => /avatar is saved/i.test(t), { timeout: 15_000, what: 'upload done' });
    const url = (await session(profile)).user.avatar_url;
    assert.match(url, /^\/avatars\//);
    await profile.close();

    // Ben, without reloading, sees it beside Ana's messages.
    await until(
      () => pageB.locator(`#message-list .msg-group[data-user-id="${ana}"] .avatar img`).evaluateAll((imgs) => imgs.map((i) => i.getAttribute('src'))),
      (srcs) => srcs.length > 0 && srcs.every((s) => s === url),
      { timeout: 15_000, what: "Ana's new avatar in Ben's view" },
    );
    const loaded = await pageB.locator(`#message-list .msg-group[data-user-id="${ana}"] .avatar img`).first().evaluate((img) => img.complete && img.naturalWidth > 0);
    assert.ok(loaded, 'the avatar image loads');
  });

  scenario('8. a message with markup shows as text and runs nothing', async () => {
    await send(pageA, XSS);
    await confirmed(pageA, XSS, 'the markup message');
    await shows(pageB, XSS, 'the markup message');
    await sleep(1000);
    assert.deepEqual(dialogs, []);
    for (const page of [pageA, pageB]) {
      assert.equal(await page.locator('#message-list img[src="x"]').count(), 0);
      assert.equal(await page.locator('#message-list .msg-text', { hasText: XSS }).count(), 1);
    }
  });

  scenario('9. a non-creator sees no delete button and a forced delete gets 403', async () => {
    await until(() => pageB.locator('#room-title').textContent(), (t) => t.includes(ROOM), { what: 'Ben in the room' });
    assert.equal(await pageB.locator('#delete-room').isVisible(), false, 'no delete button for Ben');
    assert.equal(await pageB.getByRole('button', { name: /delete/i }).count(), 0);
    assert.equal(await pageA.locator('#delete-room').isVisible(), true, 'the creator has one');

    const status = await pageB.evaluate(async (id) => {
      const { token } = JSON.parse(localStorage.getItem('chat.session'));
      const res = await fetch(`/chat/rooms/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
      return res.status;
    }, room.id);
    assert.equal(status, 403);
    const still = await pageA.evaluate(async (id) => {
      const { token } = JSON.parse(localStorage.getItem('chat.session'));
      return (await fetch(`/chat/rooms/${id}`, { headers: { authorization: `Bearer ${token}` } })).status;
    }, room.id);
    assert.equal(still, 200);
  });

  // ---- beyond the nine: the rest of the chat page's promises

  scenario('unread badge on a room not in view', async () => {
    await pageA.getByLabel('New room').fill(RANDOM);
    await pageA.getByRole('button', { name: 'Create', exact: true }).click();
    await until(() => pageA.locator('#room-title').textContent(), (t) => t.includes(RANDOM), { what: 'second room open' });
    // Ben sees it appear live (room_created) and joins; Ana goes back to the first room.
    await pageB.getByRole('button', { name: `Join ${RANDOM}` }).click({ timeout: 15_000 });
    await until(() => pageB.locator('#room-title').textContent(), (t) => t.includes(RANDOM), { what: 'Ben in the second room' });
    await openRoom(pageA, ROOM);
    await send(pageB, 'Anyone in random?');
    await confirmed(pageB, 'Anyone in random?');
    const badge = pageA.locator('#my-rooms li', { hasText: RANDOM }).locator('.badge');
    await until(() => badge.textContent({ timeout: 1000 }), (t) => t === '1', { what: 'unread badge 1' });
    assert.equal(await pageA.locator('#my-rooms li', { hasText: ROOM }).locator('.badge').count(), 0);
  });

  scenario('older messages load on scroll up', async () => {
    await pageB.getByLabel('New room').fill(ARCHIVE);
    await pageB.getByRole('button', { name: 'Create', exact: true }).click();
    await until(() => pageB.locator('#room-title').textContent(), (t) => t.includes(ARCHIVE), { what: 'archive room open' });
    await until(() => socketUp(pageB), Boolean, { what: 'socket up' });
    const roomId = Number(await pageB.locator('#my-rooms li', { hasText: ARCHIVE }).getAttribute('data-room-id'));
    await pageB.evaluate(async (id) => {
      for (let i = 1; i <= 70; i++) {
        await new Promise((resolve, reject) => {
          window.chatSocket.timeout(5000).emit('send_message', { room_id: id, content: `Archive message ${i}` }, (err, ack) => (err || !ack?.ok ? reject(err || new Error(JSON.stringify(ack))) : resolve()));
        });
      }
    }, roomId);
    await pageB.reload();
    await until(() => pageB.locator('#room-title').textContent(), (t) => t.includes(ARCHIVE), { what: 'archive reopened' });
    const latest = await until(() => texts(pageB), (list) => list.includes('Archive message 70'), { what: 'latest messages' });
    assert.equal(latest.length, 50, 'the latest 50 first');
    assert.equal(latest[0], 'Archive message 21');
    await pageB.locator('#messages').evaluate((el) => { el.scrollTop = 0; });
    const all = await until(() => texts(pageB), (list) => list.length === 70, { what: 'older page loaded' });
    assert.deepEqual(all, Array.from({ length: 70 }, (_, i) => `Archive message ${i + 1}`));
    await until(() => pageB.locator('#history-start').isVisible(), Boolean, { what: 'beginning of the room' });
    // The view stays where the reader was: message 21 is still on screen, not pushed away.
    // (The text itself: a whole .msg also holds its time, and "Archive message 2" + "10:20 PM" would match.)
    const visible = await pageB.locator('#message-list .msg-text', { hasText: /^Archive message 21$/ }).evaluate((el) => {
      const box = el.getBoundingClientRect();
      const view = document.getElementById('messages').getBoundingClientRect();
      return box.top < view.bottom && box.bottom > view.top;
    });
    assert.ok(visible, 'scroll position kept after prepending');
  });

  scenario('a message written offline waits, then is sent exactly once', async () => {
    await openRoom(pageB, ROOM);
    await ctxB.setOffline(true);
    await until(() => pageB.locator('#banner').isVisible(), Boolean, { timeout: 20_000, what: 'offline banner' });
    await send(pageB, 'Written in a tunnel');
    await until(() => pageB.locator('#message-list .msg[data-state="pending"] .msg-status').textContent({ timeout: 1000 }), (t) => /waiting for connection/i.test(t), { what: 'pending while offline' });
    await ctxB.setOffline(false);
    await confirmed(pageB, 'Written in a tunnel');
    await shows(pageA, 'Written in a tunnel');
    await sleep(800);
    assert.equal((await texts(pageA)).filter((t) => t === 'Written in a tunnel').length, 1);
    assert.equal((await texts(pageB)).filter((t) => t === 'Written in a tunnel').length, 1);
  });

  scenario('a failed send can be retried, and the retry never duplicates', async () => {
    await openRoom(pageB, ROOM);
    // The next send_message is lost on the way: the page sees a timeout.
    await pageB.evaluate(() => {
      const socket = window.chatSocket;
      const real = socket.timeout.bind(socket);
      socket.timeout = (ms) => {
        const t = real(ms);
        return {
          emit(event, payload, cb) {
            if (event !== 'send_message') return t.emit(event, payload, cb);
            socket.timeout = real;
            window.lostClientMsgId = payload.client_msg_id;
            setTimeout(() => cb(new Error('operation has timed out')), 200);
          },
        };
      };
    });
    await send(pageB, 'Lost once, sent once');
    const failed = pageB.locator('#message-list .msg[data-state="failed"]', { hasText: 'Lost once, sent once' });
    await failed.waitFor({ timeout: 10_000 });
    const cid = await failed.getAttribute('data-client-msg-id');
    assert.equal(cid, await pageB.evaluate(() => window.lostClientMsgId));
    await failed.getByRole('button', { name: 'Retry' }).click();
    await confirmed(pageB, 'Lost once, sent once');
    assert.equal(await pageB.locator('#message-list .msg', { hasText: 'Lost once, sent once' }).getAttribute('data-client-msg-id'), cid, 'the retry reused the client_msg_id');
    await shows(pageA, 'Lost once, sent once');

    // And the server side of that promise: the same client_msg_id twice is one message.
    const acks = await pageB.evaluate(async (roomId) => {
      const once = () => new Promise((resolve) => window.chatSocket.timeout(5000).emit('send_message', { room_id: roomId, content: 'Idempotent hello', client_msg_id: 'e2e-dup-1' }, (err, ack) => resolve(err ? { err: err.message } : ack)));
      return [await once(), await once()];
    }, room.id);
    assert.equal(acks[0].ok, true);
    assert.equal(acks[1].ok, true);
    assert.equal(acks[0].message.id, acks[1].message.id);
    await shows(pageA, 'Idempotent hello');
    await sleep(800);
    assert.equal((await texts(pageA)).filter((t) => t === 'Idempotent hello').length, 1);
    assert.equal((await texts(pageA)).filter((t) => t === 'Lost once, sent once').length, 1);
  });

  // ---- private rooms, roles and direct messages

  scenario('a private room stays hidden until its owner invites someone through the dialog', async () => {
    const ben = await userId(pageB);
    await until(() => socketUp(pageB), Boolean, { timeout: 15_000, what: "Ben's socket connected" });
    await pageA.getByLabel('New room').fill(SECRET);
    await pageA.getByLabel('Private').check();
    await pageA.getByRole('button', { name: 'Create', exact: true }).click();
    await until(() => title(pageA), (t) => t.includes(SECRET), { what: 'private room open' });
    const item = pageA.locator('#my-rooms li', { hasText: SECRET });
    assert.equal(await item.getAttribute('data-visibility'), 'private');
    assert.equal(await item.locator('.room-lock').count(), 1, 'a lock in the list');
    assert.equal(await pageA.getByLabel('Private').isChecked(), false, 'the toggle resets');
    assert.match(await pageA.locator('#room-meta').textContent(), /private/);
    secret = { id: Number(await item.getAttribute('data-room-id')), name: SECRET };

    // Ben sees nothing of it, live or when asking.
    await sleep(500);
    assert.equal(await pageB.locator('#my-rooms li, #other-rooms li').filter({ hasText: SECRET }).count(), 0);
    assert.equal(await statusOf(pageB, `/chat/rooms/${secret.id}`), 404);

    // Ana finds Ben as she types, and adds him.
    await pageA.getByRole('button', { name: 'Invite' }).click();
    const dialog = pageA.getByRole('dialog', { name: `Invite people to “${SECRET}”` });
    await dialog.waitFor();
    assert.equal(await pageA.evaluate(() => document.activeElement?.id), 'invite-query', 'focus in the search box');
    await pageA.keyboard.type('Be', { delay: 40 });
    const result = dialog.locator('.invite-result', { hasText: 'Ben Ng' });
    await result.waitFor({ timeout: 10_000 });
    assert.equal(await result.locator('.avatar').count(), 1);
    await result.getByRole('button', { name: 'Add Ben Ng' }).click();
    await until(() => result.textContent(), (t) => t.includes('Added'), { what: 'Ben added' });
    await dialog.getByRole('button', { name: 'Done' }).click();
    await until(() => dialog.isVisible(), (v) => !v, { what: 'dialog closed' });

    // It shows in Ben's list at once, locked; Ben shows in Ana's members.
    await pageB.locator('#my-rooms li[data-visibility="private"]', { hasText: SECRET }).waitFor({ timeout: 10_000 });
    await until(() => pageA.locator(`#members li[data-user-id="${ben}"]`).count(), (n) => n === 1, { what: 'Ben among the members' });
  });

  scenario('roles change live, and a removed member loses the room at once', async () => {
    const ana = await userId(pageA);
    const ben = await userId(pageB);
    await openRoom(pageB, SECRET);
    const badge = (page, id) => page.locator(`#members li[data-user-id="${id}"] .role-badge`).textContent({ timeout: 1000 });
    await until(() => badge(pageB, ana), (t) => t === 'owner', { what: "Ana's owner badge for Ben" });
    assert.equal(await pageB.locator('#invite-people').isVisible(), false, 'a member does not invite');

    // The owner makes Ben an admin: he may invite now, but not touch the owner.
    let entry = await memberMenu(pageA, ben, 'Ben Ng');
    await entry.getByRole('button', { name: 'Make admin' }).click();
    await until(() => badge(pageB, ben), (t) => t === 'admin', { what: "Ben's admin badge" });
    await until(() => pageB.locator('#invite-people').isVisible(), Boolean, { what: 'Ben may invite' });
    const anaForBen = await memberMenu(pageB, ana, 'Ana Lima');
    assert.deepEqual(await anaForBen.locator('.member-menu button').allTextContents(), ['Message']);
    await pageB.keyboard.press('Escape');
    await until(() => anaForBen.locator('.member-menu').count(), (n) => n === 0, { what: 'menu closed by Escape' });

    // Handing the room over asks first; cancelled, nothing changes.
    entry = await memberMenu(pageA, ben, 'Ben Ng');
    assert.deepEqual(await entry.locator('.member-menu button').allTextContents(), ['Message', 'Remove admin', 'Make owner', 'Remove']);
    await entry.getByRole('button', { name: 'Make owner' }).click();
    const ask = pageA.getByRole('dialog', { name: 'Make Ben Ng the owner?' });
    await ask.waitFor();
    await ask.getByRole('button', { name: 'Cancel' }).click();
    await sleep(300);
    assert.equal(await badge(pageA, ben), 'admin');

    entry = await memberMenu(pageA, ben, 'Ben Ng');
    await entry.getByRole('button', { name: 'Remove admin' }).click();
    await until(() => pageB.locator('#invite-people').isVisible(), (v) => !v, { what: 'Ben no longer invites' });

    // Removed: Ben's view drops the room live, saying why.
    entry = await memberMenu(pageA, ben, 'Ben Ng');
    await entry.getByRole('button', { name: 'Remove', exact: true }).click();
    await until(() => title(pageB), (t) => t === 'Choose a room', { what: "Ben's view closed" });
    assert.equal(await pageB.locator('#toast').textContent(), `You were removed from “${SECRET}”.`);
    assert.equal(await pageB.locator('#my-rooms li, #other-rooms li').filter({ hasText: SECRET }).count(), 0);
    await until(() => pageA.locator(`#members li[data-user-id="${ben}"]`).count(), (n) => n === 0, { what: "Ben gone from Ana's members" });
    assert.equal(await statusOf(pageB, `/chat/rooms/${secret.id}`), 404);
  });

  scenario('a direct message from the member list appears live for the other', async () => {
    const ben = await userId(pageB);
    await openRoom(pageA, ROOM);
    await openRoom(pageB, ROOM);
    const entry = await memberMenu(pageA, ben, 'Ben Ng');
    await entry.getByRole('button', { name: 'Message' }).click();
    await until(() => title(pageA), (t) => t === 'Ben Ng', { what: 'the DM open for Ana' });
    assert.equal(await pageA.locator('#dm-list li', { hasText: 'Ben Ng' }).count(), 1);
    for (const id of ['#invite-people', '#leave-room', '#delete-room']) {
      assert.equal(await pageA.locator(id).isVisible(), false, `${id} hidden in a DM`);
    }
    await send(pageA, 'Just between us');
    await confirmed(pageA, 'Just between us');

    // Ben: under Direct messages by Ana's name and avatar, unread, with the message.
    const item = pageB.locator('#dm-list li', { hasText: 'Ana Lima' });
    await item.waitFor({ timeout: 10_000 });
    assert.equal(await item.locator('.avatar').count(), 1);
    await until(() => item.locator('.badge').textContent({ timeout: 1000 }), (t) => t === '1', { what: "the DM's unread badge" });
    await item.locator('a').click();
    await until(() => title(pageB), (t) => t === 'Ana Lima', { what: 'the DM open for Ben' });
    await shows(pageB, 'Just between us');
    await send(pageB, 'Got it');
    await shows(pageA, 'Got it');

    // "Message" again is the same DM.
    await openRoom(pageA, ROOM);
    await (await memberMenu(pageA, ben, 'Ben Ng')).getByRole('button', { name: 'Message' }).click();
    await until(() => title(pageA), (t) => t === 'Ben Ng', { what: 'the DM again' });
    assert.equal(await pageA.locator('#dm-list li').count(), 1);
    await shows(pageA, 'Got it');
  });

  scenario('limits come from GET /config, with the defaults until (or unless) it answers', async () => {
    // This server may not serve /config yet: the page then keeps the defaults.
    assert.equal(await pageB.locator('#message-input').evaluate((el) => el.maxLength), 4000);
    const page = await newPage(ctxB, 'ben-config');
    try {
      await page.route('**/config', (route) => route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ max_message_chars: 12, max_room_name_chars: 8, max_name_chars: 100, max_avatar_bytes: 2 * 1024 * 1024 }),
      }));
      await page.goto(`${server.baseUrl}/chat.html#room=${room.id}`);
      await until(() => page.locator('#room-title').textContent(), (t) => t.includes(ROOM), { what: 'room open' });
      await until(() => page.locator('#message-input').evaluate((el) => el.maxLength), (n) => n === 12, { what: 'message limit from /config' });
      assert.equal(await page.getByLabel('New room').evaluate((el) => el.maxLength), 8);
      // maxlength stops typing past the limit; a value set by script is checked on send.
      await page.locator('#message-input').evaluate((el) => { el.value = 'thirteen char'; });
      await page.locator('#message-input').press('Enter');
      await until(() => page.locator('#toast').textContent(), (t) => t === 'A message can be at most 12 characters.', { what: 'limit toast' });
      assert.equal((await texts(page)).includes('thirteen char'), false, 'not sent');
      await page.goto(`${server.baseUrl}/profile.html`);
      await until(() => page.locator('#avatar-hint').textContent(), (t) => t.includes('at most 2 MB'), { what: 'avatar limit from /config' });
    } finally {
      await page.close();
    }
  });

  scenario('no script errors and no CSP violations', async () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(cspViolations, []);
    assert.deepEqual(dialogs, []);
  });

  scenario('screenshots of the chat page at 1280 and 375 px', async () => {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const page = pageA;
    await page.setViewportSize({ width: 1280, height: 800 });
    await openRoom(page, ROOM); // the group room, whatever the scenarios before left open
    await openRoom(pageB, ROOM);
    // Something of what messages can hold: rich text, a link, a reaction.
    await send(pageB, 'Release notes are up: https://example.com/notes\n**All green**, and `npm test` passes 🎉');
    await send(page, '> All green\nGreat work! Shipping it *today*.');
    await until(() => page.locator('#message-list .msg .md-quote').count(), (n) => n > 0, { timeout: 15_000, what: 'the rich messages shown' });
    await page.locator('#message-list .msg', { hasText: 'Release notes are up' }).getByRole('button', { name: 'Message actions' }).click();
    await page.getByRole('button', { name: 'React with 👍' }).click();
    await page.locator('#message-list .reaction[data-emoji="👍"]').waitFor();
    await page.mouse.move(640, 20); // no message under the pointer (its time would show)
    await until(() => page.locator('#toast').isHidden(), Boolean, { timeout: 7000, what: 'the last toast gone by itself' });
    await page.locator('#message-input').fill('');
    await page.locator('#message-input').blur();
    await sleep(300);
    writeFileSync(join(SCREENSHOT_DIR, 'chat-desktop.png'), await page.screenshot());
    await page.setViewportSize({ width: 375, height: 812 });
    await sleep(400);
    writeFileSync(join(SCREENSHOT_DIR, 'chat-mobile.png'), await page.screenshot());
    // The panes collapse behind their buttons at this width.
    assert.equal(await page.locator('#rooms-pane').isVisible(), false);
    assert.equal(await page.locator('#toggle-rooms').isVisible(), true);
    await page.locator('#toggle-rooms').click();
    await until(() => page.locator('#rooms-pane').isVisible(), Boolean, { what: 'rooms pane opens' });
    await page.keyboard.press('Escape');
    await until(() => page.locator('#rooms-pane').isVisible(), (v) => !v, { what: 'rooms pane closes on Escape' });
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  scenario('the creator deletes a room after confirming; it disappears for everyone', async () => {
    await openRoom(pageA, RANDOM);
    await openRoom(pageB, RANDOM);
    await pageA.getByRole('button', { name: 'Delete room' }).click();
    const dialog = pageA.getByRole('dialog', { name: 'Delete room?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await sleep(300);
    assert.equal(await pageA.locator('#my-rooms li', { hasText: RANDOM }).count(), 1, 'cancel keeps the room');
    await pageA.getByRole('button', { name: 'Delete room' }).click();
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await until(() => pageA.locator('#my-rooms li', { hasText: RANDOM }).count(), (n) => n === 0, { what: "room gone for Ana" });
    await until(() => pageB.locator(`#my-rooms li, #other-rooms li`).filter({ hasText: RANDOM }).count(), (n) => n === 0, { what: 'room gone for Ben' });
    await until(() => pageB.locator('#room-title').textContent(), (t) => t === 'Choose a room', { what: "Ben's view cleared" });
    assert.match(await pageB.locator('#toast').textContent(), /deleted/);
  });

  scenario('the token is refreshed before it expires and the socket keeps working', async () => {
    await openRoom(pageA, ROOM);
    await openRoom(pageB, ROOM);
    const before = await session(pageB);
    // Pretend the access token expires in 10 s: the page must renew it ahead of time.
    await pageB.evaluate(() => {
      const s = JSON.parse(localStorage.getItem('chat.session'));
      s.token_expires_at = new Date(Date.now() + 10_000).toISOString();
      localStorage.setItem('chat.session', JSON.stringify(s));
    });
    await pageB.reload();
    const after = await until(() => session(pageB), (s) => s.token !== before.token, { timeout: 20_000, what: 'a new access token' });
    assert.notEqual(after.refresh_token, before.refresh_token, 'refresh tokens rotate');
    assert.ok(Date.parse(after.token_expires_at) > Date.now() + 60_000);
    await send(pageB, 'Still here after a refresh');
    await confirmed(pageB, 'Still here after a refresh');
    await shows(pageA, 'Still here after a refresh');
  });

  scenario('log out, a wrong password, log in again; a dead session returns to login with a message', async () => {
    await pageA.getByRole('button', { name: 'Log out' }).click();
    await pageA.waitForURL('**/login.html?reason=logout');
    assert.match(await pageA.locator('#notice').textContent(), /logged out/i);
    assert.equal(await pageA.evaluate(() => localStorage.getItem('chat.session')), null);

    await pageA.getByLabel('Email').fill(ANA.email);
    await pageA.getByLabel('Password', { exact: true }).fill('Wrong-passw0rd');
    await pageA.getByRole('button', { name: 'Log in' }).click();
    await until(() => pageA.locator('#password-error').textContent(), (t) => /wrong email or password/i.test(t), { what: 'wrong password error' });
    await pageA.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await pageA.getByRole('button', { name: 'Log in' }).click();
    await pageA.waitForURL('**/chat.html**');
    await until(() => texts(pageA), (list) => list.includes('Still here after a refresh'), { timeout: 15_000, what: 'chat after logging in again' });

    // A session that can no longer be refreshed sends the user to login, saying why.
    await pageA.evaluate(() => {
      const s = JSON.parse(localStorage.getItem('chat.session'));
      s.token = 'expired.token.value';
      s.token_expires_at = new Date(Date.now() - 1000).toISOString();
      s.refresh_token = 'revoked';
      localStorage.setItem('chat.session', JSON.stringify(s));
    });
    await pageA.goto(`${server.baseUrl}/profile.html`);
    await pageA.waitForURL('**/login.html?**', { timeout: 15_000 });
    assert.match(await pageA.locator('#notice').textContent(), /session has expired/i);
    assert.match(new URL(pageA.url()).searchParams.get('next') || '', /^\/profile\.html/);
  });
});
