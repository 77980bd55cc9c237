// Page helpers shared by the end-to-end suites: signing up, opening rooms,
// sending, and waiting for what a page shows.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { until } from './support.mjs';

/** Registers `user` ({first, last, email}) through the form; ends on the chat page. */
export async function register(page, baseUrl, user, password) {
  await page.goto(`${baseUrl}/register.html`);
  await page.getByLabel('First name').fill(user.first);
  await page.getByLabel('Last name').fill(user.last);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/chat.html**', { timeout: 20_000 });
}

export const session = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('chat.session')));
export const userId = async (page) => (await session(page)).user.id;

/** The texts of the messages shown, in order. */
export const texts = (page) => page.locator('#message-list .msg-text').allTextContents();
export const socketUp = (page) => page.evaluate(() => !!window.chatSocket?.connected);
export const title = (page) => page.locator('#room-title').textContent();

export async function openRoom(page, name) {
  await page.locator('#my-rooms a', { hasText: name }).click();
  await until(() => page.locator('#room-title').textContent(), (t) => t.includes(name), { what: `room ${name} open` });
}

export async function send(page, text) {
  await page.locator('#message-input').fill(text);
  await page.locator('#message-input').press('Enter');
}

/** Waits until `text` shows as a confirmed (acked) message on `page`. */
export async function confirmed(page, text, what = text) {
  await until(
    () => page.locator('#message-list .msg[data-state="sent"] .msg-text').allTextContents(),
    (list) => list.includes(text),
    { timeout: 15_000, what: `"${what}" confirmed` },
  );
}

export async function shows(page, text, what = text) {
  await until(() => texts(page), (list) => list.includes(text), { timeout: 15_000, what: `"${what}" shown` });
}

/**
 * Collects what must never happen on a page into `seen` ({dialogs,
 * pageErrors, cspViolations}): a dialog (dismissed), a script error, a CSP
 * violation. E2E_DEBUG=1 prints the page's console.
 */
export function watch(page, who, seen) {
  page.on('dialog', async (d) => {
    seen.dialogs.push(`${who}: ${d.type()} ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  page.on('pageerror', (e) => seen.pageErrors.push(`${who}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) seen.cspViolations.push(`${who}: ${m.text()}`);
    if (process.env.E2E_DEBUG) console.log(`[${who}] ${m.type()}: ${m.text()}`);
  });
  return page;
}

/**
 * `scenario(name, fn, timeout)`: a test that, when it fails, saves the
 * screenshots of `pages()` ([[who, page]]) in `resultsDir` for a look.
 */
export function scenarios(pages, resultsDir) {
  return (name, fn, timeout = 60_000) => test(name, { timeout }, async () => {
    try {
      await fn();
    } catch (e) {
      mkdirSync(resultsDir, { recursive: true });
      const slug = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
      for (const [who, page] of pages()) {
        if (page && !page.isClosed()) await page.screenshot({ path: join(resultsDir, `${slug}-${who}.png`) }).catch(() => {});
      }
      throw e;
    }
  });
}
