// End-to-end: messages that change, read positions, mentions and search.
// The real binary, two browser contexts (Ana and Ben) in headless Chromium:
// edits, tombstones, reactions, changes caught up after a drop, unread
// counts and the "New messages" divider, "Seen by", @ mentions, search.
//
//   cd frontend && npm test          (CHAT_BIN=... to pick the binary)

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { confirmed, openRoom, register, scenarios, send, shows, socketUp, texts, title, userId, watch } from './pages.mjs';
import { FRONTEND_DIR, launchBrowser, sleep, startServer, until } from './support.mjs';

const RUN = Date.now().toString(36);
const PASSWORD = 'Sup3rSecret!';
const ANA = { first: 'Ana', last: 'Lima', email: `ana-m-${RUN}@example.com` };
const BEN = { first: 'Ben', last: 'Ng', email: `ben-m-${RUN}@example.com` };
const ROOM = `team-${RUN}`;
const OTHER = `lounge-${RUN}`;
const LOOKUP = `logbook-${RUN}`;
const NEEDLE = `pelican${RUN}`;
const RESULTS_DIR = join(FRONTEND_DIR, 'test-results');

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

/** The message on `page` whose text contains `text`. */
const msg = (page, text) => page.locator('#message-list .msg', { hasText: text });
const focused = (page) => page.evaluate(() => document.activeElement?.textContent?.trim() || document.activeElement?.className || '');
const roomItem = (page, name) => page.locator('#my-rooms li', { hasText: name });

/** The count on the `emoji` reaction of the message with `text` ('' when there is none), read in one go. */
const reaction = (page, text, emoji) => msg(page, text).locator('.reaction').evaluateAll((chips, e) => {
  const chip = chips.find((c) => c.dataset.emoji === e);
  return chip ? { count: chip.querySelector('.reaction-count').textContent, pressed: chip.getAttribute('aria-pressed') } : { count: '', pressed: null };
}, emoji);

async function openMenu(page, text) {
  const m = msg(page, text);
  await m.getByRole('button', { name: 'Message actions' }).click();
  await m.locator('.msg-menu').waitFor();
  return m;
}

/** At 375 px (touch) a tap on the message opens its menu; the "⋯" button is there for the keyboard only. */
async function tapMenu(page, text) {
  const m = msg(page, text);
  await m.locator('.msg-text').click();
  await m.locator('.msg-menu').waitFor();
  return m;
}

async function createRoom(page, name) {
  await page.getByLabel('New room').fill(name);
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await until(() => title(page), (t) => t.includes(name), { what: `${name} created` });
}

async function bothIn(name) {
  await openRoom(pageA, name);
  await openRoom(pageB, name);
}

describe('messages that change, reads, mentions and search', { concurrency: false }, () => {
  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    ctxA = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    ctxB = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    pageA = watch(await ctxA.newPage(), 'ana', seen);
    pageB = watch(await ctxB.newPage(), 'ben', seen);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    if (server && process.env.E2E_DEBUG) console.log(server.logTail(80));
    await server?.stop();
  });

  scenario('set up: two users in two rooms', async () => {
    await register(pageA, server.baseUrl, ANA, PASSWORD);
    await register(pageB, server.baseUrl, BEN, PASSWORD);
    ana = await userId(pageA);
    ben = await userId(pageB);
    // Ben hears of the new rooms live (room_created), so his socket must be up first.
    await until(() => socketUp(pageA), Boolean, { timeout: 15_000, what: "Ana's socket" });
    await until(() => socketUp(pageB), Boolean, { timeout: 15_000, what: "Ben's socket" });
    await createRoom(pageA, ROOM);
    await createRoom(pageA, OTHER);
    for (const name of [ROOM, OTHER]) {
      const join = pageB.getByRole('button', { name: `Join ${name}` });
      await join.waitFor({ timeout: 10_000 }).catch(() => pageB.reload()); // the list from REST, at worst
      await join.click({ timeout: 15_000 });
      await until(() => title(pageB), (t) => t.includes(name), { what: `Ben in ${name}` });
    }
    await until(() => socketUp(pageB), Boolean, { timeout: 15_000, what: "Ben's socket, after joining" });
  });

  scenario('edit from the message menu, by keyboard: the other sees the new text marked (edited)', async () => {
    await bothIn(ROOM);
    await send(pageA, 'Meet at noon tomorow');
    await confirmed(pageA, 'Meet at noon tomorow');
    await shows(pageB, 'Meet at noon tomorow');

    // The menu button, then Tab through the menu to Edit, Enter: the text is in a box.
    const mine = msg(pageA, 'Meet at noon tomorow');
    await mine.getByRole('button', { name: 'Message actions' }).focus();
    await pageA.keyboard.press('Enter');
    await mine.locator('.msg-menu').waitFor();
    for (let i = 0; i < 10 && (await focused(pageA)) !== 'Edit'; i++) await pageA.keyboard.press('Tab');
    assert.equal(await focused(pageA), 'Edit', 'Edit is reached with Tab');
    await pageA.keyboard.press('Enter');
    await until(() => pageA.evaluate(() => document.activeElement?.matches('textarea.msg-edit-input') && document.activeElement.value), (v) => v === 'Meet at noon tomorow', { what: 'the edit box, focused' });
    await pageA.keyboard.press('Control+A');
    await pageA.keyboard.type('Meet at noon tomorrow');
    await pageA.keyboard.press('Enter');

    for (const page of [pageA, pageB]) {
      await until(() => msg(page, 'Meet at noon tomorrow').locator('.msg-edited').textContent({ timeout: 1000 }), (t) => t === '(edited)', { what: '(edited) on the message' });
      assert.equal((await texts(page)).includes('Meet at noon tomorow'), false, 'the old text is gone');
    }
    assert.equal(await pageA.locator('textarea.msg-edit-input').count(), 0, 'the edit box closed');

    // Someone else's message: reactions only, no Edit or Delete for a plain member.
    const theirs = await openMenu(pageB, 'Meet at noon tomorrow');
    assert.equal(await theirs.locator('.msg-quick-react').count(), 6);
    assert.equal(await theirs.getByRole('button', { name: 'Edit', exact: true }).count(), 0);
    assert.equal(await theirs.getByRole('button', { name: 'Delete', exact: true }).count(), 0);
    await pageB.keyboard.press('Escape');
    await until(() => theirs.locator('.msg-menu').count(), (n) => n === 0, { what: 'menu closed by Escape' });
  });

  scenario('delete after confirming: a tombstone in place, for both', async () => {
    await bothIn(ROOM);
    await send(pageA, 'Wrong room, sorry');
    await confirmed(pageA, 'Wrong room, sorry');
    await send(pageB, 'No worries');
    await shows(pageA, 'No worries');
    await shows(pageB, 'Wrong room, sorry');
    const at = (await texts(pageB)).indexOf('Wrong room, sorry');

    // The owner may delete Ben's message too, but not edit it.
    const bens = await openMenu(pageA, 'No worries');
    assert.equal(await bens.getByRole('button', { name: 'Delete', exact: true }).count(), 1);
    assert.equal(await bens.getByRole('button', { name: 'Edit', exact: true }).count(), 0);
    await pageA.keyboard.press('Escape');

    const mine = await openMenu(pageA, 'Wrong room, sorry');
    await mine.getByRole('button', { name: 'Delete', exact: true }).click();
    const ask = pageA.getByRole('dialog', { name: 'Delete message?' });
    await ask.waitFor();
    await ask.getByRole('button', { name: 'Delete', exact: true }).click();

    for (const page of [pageA, pageB]) {
      await until(() => texts(page), (list) => !list.includes('Wrong room, sorry'), { what: 'the text gone' });
      const list = await texts(page);
      const i = list.indexOf('No worries');
      assert.equal(list[i - 1], 'This message was deleted', 'the tombstone where the message was');
      const tomb = page.locator('#message-list .msg.is-deleted');
      assert.equal(await tomb.count(), 1);
      assert.equal(await tomb.getByRole('button', { name: 'Message actions' }).count(), 0, 'nothing to do to a tombstone');
    }
    assert.equal((await texts(pageB))[at], 'This message was deleted');
  });

  scenario('reactions: added from the menu, toggled by a click, counted on both', async () => {
    await bothIn(ROOM);
    await send(pageA, 'Lunch at one?');
    await shows(pageB, 'Lunch at one?');

    await (await openMenu(pageB, 'Lunch at one?')).getByRole('button', { name: 'React with 👍' }).click();
    await until(() => reaction(pageA, 'Lunch at one?', '👍'), (r) => r.count === '1', { what: "Ben's 👍 for Ana" });
    assert.deepEqual(await reaction(pageA, 'Lunch at one?', '👍'), { count: '1', pressed: 'false' });
    await until(() => reaction(pageB, 'Lunch at one?', '👍'), (r) => r.count === '1' && r.pressed === 'true', { what: "Ben's own 👍, pressed" });

    // Ana adds hers by clicking the reaction.
    await msg(pageA, 'Lunch at one?').locator('.reaction[data-emoji="👍"]').click();
    await until(() => reaction(pageA, 'Lunch at one?', '👍'), (r) => r.count === '2' && r.pressed === 'true', { what: '2, Ana pressed' });
    await until(() => reaction(pageB, 'Lunch at one?', '👍'), (r) => r.count === '2' && r.pressed === 'true', { what: '2 for Ben, his still pressed' });

    // Ben takes his back.
    await msg(pageB, 'Lunch at one?').locator('.reaction[data-emoji="👍"]').click();
    await until(() => reaction(pageB, 'Lunch at one?', '👍'), (r) => r.count === '1' && r.pressed === 'false', { what: '1, Ben not pressed' });
    await until(() => reaction(pageA, 'Lunch at one?', '👍'), (r) => r.count === '1' && r.pressed === 'true', { what: '1 for Ana, hers pressed' });

    // Ana's too: the reaction goes.
    await msg(pageA, 'Lunch at one?').locator('.reaction[data-emoji="👍"]').click();
    for (const page of [pageA, pageB]) {
      await until(() => reaction(page, 'Lunch at one?', '👍'), (r) => r.count === '', { what: 'no 👍 left' });
    }

    // Every quick reaction on offer is one the server takes, as it stores it.
    const quick = await (await openMenu(pageA, 'Lunch at one?')).locator('.msg-quick-react').evaluateAll((bs) => bs.map((b) => b.dataset.emoji));
    await pageA.keyboard.press('Escape');
    const id = Number(await msg(pageA, 'Lunch at one?').getAttribute('data-msg-id'));
    const roomId = Number(await roomItem(pageA, ROOM).getAttribute('data-room-id'));
    const answers = await pageA.evaluate(async ({ emojis, roomId, id }) => {
      const ask = (emoji) => new Promise((resolve) => window.chatSocket.timeout(5000).emit('react', { room_id: roomId, message_id: id, emoji }, (err, ack) => resolve(err ? { err: err.message } : ack)));
      const out = [];
      for (const emoji of emojis) {
        const added = await ask(emoji);
        await ask(emoji); // and off again
        out.push({ emoji, ok: added.ok, stored: added.message?.reactions?.find((r) => r.me)?.emoji });
      }
      return out;
    }, { emojis: quick, roomId, id });
    assert.equal(answers.length, 6);
    for (const a of answers) assert.deepEqual(a, { emoji: a.emoji, ok: true, stored: a.emoji }, `quick reaction ${a.emoji}`);
  });

  scenario('changes made while one was offline arrive when they reconnect', async () => {
    await bothIn(ROOM);
    await send(pageA, 'Draft one');
    await send(pageA, 'Cheer for this');
    await shows(pageB, 'Cheer for this');
    await ctxB.setOffline(true);
    try {
      await until(() => pageB.locator('#banner').isVisible(), Boolean, { timeout: 20_000, what: 'offline banner' });

      await (await openMenu(pageA, 'Draft one')).getByRole('button', { name: 'Edit', exact: true }).click();
      await pageA.locator('textarea.msg-edit-input').fill('Draft two');
      await pageA.locator('textarea.msg-edit-input').press('Enter');
      await until(() => msg(pageA, 'Draft two').locator('.msg-edited').count(), (n) => n === 1, { what: 'edited for Ana' });
      await (await openMenu(pageA, 'Cheer for this')).getByRole('button', { name: 'React with 🎉' }).click();
      await until(() => reaction(pageA, 'Cheer for this', '🎉'), (r) => r.count === '1', { what: '🎉 for Ana' });
      await sleep(300);
      assert.equal((await texts(pageB)).includes('Draft two'), false, 'nothing arrives while offline');
    } finally {
      await ctxB.setOffline(false); // whatever happened, the next scenarios need Ben online
    }
    await until(() => pageB.locator('#banner').isHidden(), Boolean, { timeout: 30_000, what: 'back online' });
    await until(() => msg(pageB, 'Draft two').locator('.msg-edited').count(), (n) => n === 1, { timeout: 15_000, what: 'the edit caught up' });
    await until(() => reaction(pageB, 'Cheer for this', '🎉'), (r) => r.count === '1' && r.pressed === 'false', { what: 'the reaction caught up' });
    assert.equal((await texts(pageB)).includes('Draft one'), false);
  });

  scenario('unread counts come from the server, clear when the room is opened, with a "New messages" divider', async () => {
    await openRoom(pageA, OTHER);
    await openRoom(pageB, ROOM);
    await send(pageB, 'Unread one');
    await send(pageB, 'Unread two');
    await confirmed(pageB, 'Unread two');
    const badge = () => roomItem(pageA, ROOM).locator('.badge-unread').textContent({ timeout: 1000 });
    await until(badge, (t) => t === '2', { what: 'live unread badge 2' });
    assert.match(await pageA.title(), /^\(2\) /);

    // The count is the server's: the same after a reload.
    await pageA.reload();
    await until(() => title(pageA), (t) => t.includes(OTHER), { what: 'back in the other room' });
    await until(badge, (t) => t === '2', { what: 'unread badge 2 after a reload' });

    await openRoom(pageA, ROOM);
    await until(() => roomItem(pageA, ROOM).locator('.badge-unread').count(), (n) => n === 0, { what: 'badge cleared' });
    assert.equal(await pageA.locator('#new-divider').textContent(), 'New messages');
    assert.equal(await pageA.locator('#new-divider + .msg-group .msg-text').first().textContent(), 'Unread one', 'the divider is above the first unread message');

    // Marked read on the server: gone after a reload, and no divider any more.
    await until(() => pageA.evaluate(async (name) => {
      const { token } = JSON.parse(localStorage.getItem('chat.session'));
      const list = await (await fetch('/chat/rooms?page_size=100', { headers: { authorization: `Bearer ${token}` } })).json();
      return list.rooms.find((r) => r.name === name)?.unread_count;
    }, ROOM), (n) => n === 0, { what: 'unread_count 0 on the server' });
    await pageA.reload();
    await until(() => title(pageA), (t) => t.includes(ROOM), { what: 'room reopened' });
    await shows(pageA, 'Unread two');
    assert.equal(await pageA.locator('#new-divider').count(), 0);
    assert.equal(await roomItem(pageA, ROOM).locator('.badge-unread').count(), 0);
  });

  scenario('"Seen by" appears under my last message once the other opens the room', async () => {
    await openRoom(pageB, OTHER);
    await openRoom(pageA, ROOM);
    await send(pageA, 'Did you see this?');
    await confirmed(pageA, 'Did you see this?');
    await sleep(1500);
    assert.equal(await msg(pageA, 'Did you see this?').locator('.msg-seen').count(), 0, 'not seen yet');

    await openRoom(pageB, ROOM);
    await until(() => msg(pageA, 'Did you see this?').locator('.msg-seen').textContent({ timeout: 1000 }), (t) => t === 'Seen by Ben', { what: 'Seen by Ben, live' });
    assert.equal(await pageA.locator('#message-list .msg-seen').count(), 1, 'only under the last one');

    // From GET /chat/rooms/{id}/reads after a reload.
    await pageA.reload();
    await until(() => msg(pageA, 'Did you see this?').locator('.msg-seen').textContent({ timeout: 1000 }), (t) => t === 'Seen by Ben', { what: 'Seen by Ben after a reload' });
  });

  scenario('@ suggests members; the mention is sent, highlighted, and the other is told while elsewhere', async () => {
    await openRoom(pageA, OTHER);
    await openRoom(pageB, ROOM);
    await until(() => pageB.locator(`#members li[data-user-id="${ana}"]`).count(), (n) => n === 1, { what: "Ana in Ben's members" });

    const input = pageB.locator('#message-input');
    await input.pressSequentially('Ping @An', { delay: 30 });
    const option = pageB.locator('#mention-list [role="option"]', { hasText: 'Ana Lima' });
    await option.waitFor({ timeout: 5000 });
    assert.equal(await option.getAttribute('aria-selected'), 'true');
    assert.equal(await pageB.locator('#mention-list [role="option"]', { hasText: 'Ben Ng' }).count(), 0, 'not ourselves');
    await input.press('Enter'); // picks, does not send
    assert.equal(await input.inputValue(), 'Ping @Ana Lima ');
    assert.equal(await pageB.locator('#mention-list').isVisible(), false);
    await input.pressSequentially('please review', { delay: 20 });
    await input.press('Enter');
    await confirmed(pageB, 'Ping @Ana Lima please review');
    assert.equal(await msg(pageB, 'Ping @Ana Lima').locator('.mention').textContent(), '@Ana Lima');

    // Ana, in another room: a notice and a mention mark on the room.
    await until(() => pageA.locator('#toast').textContent(), (t) => t.includes(`Ben Ng mentioned you in #${ROOM}`), { what: 'the mention notice' });
    await until(() => roomItem(pageA, ROOM).locator('.badge-mention').count(), (n) => n === 1, { what: 'the mention mark' });
    await pageA.locator('#toast').getByRole('button', { name: 'Show' }).click();
    await until(() => title(pageA), (t) => t.includes(ROOM), { what: 'the room opened from the notice' });
    await until(() => msg(pageA, 'please review').locator('.mention.mention-me').textContent({ timeout: 1000 }), (t) => t === '@Ana Lima', { what: 'her mention highlighted' });
    await until(() => roomItem(pageA, ROOM).locator('.badge-mention').count(), (n) => n === 0, { what: 'the mention mark cleared' });
  });

  scenario('search finds an older message and jumps to it, loading history as needed', async () => {
    await createRoom(pageB, LOOKUP);
    const roomId = Number(await roomItem(pageB, LOOKUP).getAttribute('data-room-id'));
    await pageB.evaluate(async ({ id, needle }) => {
      const contents = [`The ${needle} has <b>landed</b>`, ...Array.from({ length: 70 }, (_, i) => `Logbook filler ${i + 1}`)];
      for (const content of contents) {
        await new Promise((resolve, reject) => {
          window.chatSocket.timeout(5000).emit('send_message', { room_id: id, content }, (err, ack) => (err || !ack?.ok ? reject(err || new Error(JSON.stringify(ack))) : resolve()));
        });
      }
    }, { id: roomId, needle: NEEDLE });
    await openRoom(pageB, ROOM);
    await pageB.reload(); // the logbook now holds only its newest page
    await until(() => title(pageB), (t) => t.includes(ROOM), { what: 'back in the team room' });

    await pageB.getByLabel('Search messages').fill(NEEDLE);
    const hit = pageB.locator('#search-results .search-hit').first();
    await hit.waitFor({ timeout: 10_000 });
    assert.equal(await hit.locator('mark').first().textContent(), NEEDLE, 'the match is marked');
    assert.match(await hit.locator('.search-hit-snippet').textContent(), /<b>landed<\/b>/, 'markup stays text');
    assert.equal(await pageB.locator('#search-results b').count(), 0);
    assert.match(await hit.textContent(), new RegExp(`#${LOOKUP}`));

    await hit.click();
    await until(() => title(pageB), (t) => t.includes(LOOKUP), { what: 'the logbook opened' });
    const target = pageB.locator('#message-list .msg[data-highlighted="true"]');
    await until(() => target.locator('.msg-text').textContent({ timeout: 1000 }), (t) => t === `The ${NEEDLE} has <b>landed</b>`, { timeout: 15_000, what: 'the message highlighted' });
    assert.ok((await texts(pageB)).length > 50, 'older history was loaded');
    const inView = await target.evaluate((node) => {
      const box = node.getBoundingClientRect();
      const view = document.getElementById('messages').getBoundingClientRect();
      return box.top >= view.top && box.bottom <= view.bottom;
    });
    assert.ok(inView, 'scrolled into view');
  });

  scenario('at 375 px the menu, reactions and search fit the screen', async () => {
    await openRoom(pageA, ROOM);
    await pageA.setViewportSize({ width: 375, height: 812 });
    try {
      await sleep(300);
      const m = await tapMenu(pageA, 'Lunch at one?');
      await m.getByRole('button', { name: 'React with 🎉' }).click();
      await until(() => reaction(pageA, 'Lunch at one?', '🎉'), (r) => r.count === '1', { what: 'a reaction' });
      await tapMenu(pageA, 'Lunch at one?');
      const overflow = await pageA.evaluate(() => {
        const s = document.getElementById('messages');
        const menu = document.querySelector('.msg-menu').getBoundingClientRect();
        return { page: document.documentElement.scrollWidth, list: s.scrollWidth - s.clientWidth, menuRight: menu.right };
      });
      assert.ok(overflow.page <= 375, `page ${overflow.page} px wide`);
      assert.ok(overflow.list <= 0, 'no sideways scrolling in the messages');
      assert.ok(overflow.menuRight <= 375, 'the menu fits');
      await pageA.keyboard.press('Escape');
      await pageA.locator('#toggle-rooms').click();
      await pageA.getByLabel('Search messages').fill('Lunch');
      await pageA.locator('#search-results .search-hit').first().waitFor({ timeout: 10_000 });
      const right = await pageA.locator('#search-results .search-hit').first().evaluate((n) => n.getBoundingClientRect().right);
      assert.ok(right <= 375, 'search results fit');
      await pageA.locator('#search-results .search-hit').first().click();
      await until(() => pageA.locator('#rooms-pane').isVisible(), (v) => !v, { what: 'the rooms pane closes on a jump' });
    } finally {
      await pageA.setViewportSize({ width: 1280, height: 800 });
    }
  });

  scenario('no script errors, dialogs or CSP violations', async () => {
    assert.deepEqual(seen.pageErrors, []);
    assert.deepEqual(seen.cspViolations, []);
    assert.deepEqual(seen.dialogs, []);
  });
});
