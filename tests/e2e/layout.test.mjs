// The page as people use it, on a phone (390×844, touch) and on a desktop: nothing scrolls
// sideways, the composer stays visible at the bottom, the member list sits beside the chat on
// wide screens and opens on demand on narrow ones; the room's shape in words; member states as
// the host leaves; Enter / Shift+Enter, the length counter, the ✓ of a delivered message, day
// separators in history, the "new messages" button, the reconnect banner. Screenshots of the
// join, chat and host-left states at both sizes go to tests/e2e/artifacts/ (and, with
// UPDATE_SCREENSHOTS=1, to docs/screenshots/, which README shows).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { serverAndBrowser, join, say, members, waitForTexts, screenshot, ROOT } from './helpers.mjs';

// The rooms of the shipped config (and one more host room), as the screenshots show them; the
// tests' own rooms are made on first join (relay rooms here), listed only while in use.
const env = serverAndBrowser(`
[dynamic_rooms]
topology = "relay"

[[rooms]]
name = "lobby"
topology = "host"

[[rooms]]
name = "mesh"
topology = "mesh"
max_peers = 8

[[rooms]]
name = "relay"
topology = "relay"
max_peers = 200

[[rooms]]
name = "team"
topology = "host"
max_peers = 12
`);

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 800 } };

async function open(device) {
  const context = await env.browser.newContext(device);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err.message));
  await page.goto(env.server.url);
  await page.waitForSelector('#rooms tr[data-room="lobby"]');
  return page;
}

async function enterOn(device, room, name) {
  const page = await open(device);
  await join(page, room, name);
  await page.waitForSelector('#chat-view:not([hidden])', { timeout: 15000 });
  return page;
}

/** Saves a screenshot to the artifacts, and to docs/screenshots when asked to update them. */
async function shoot(page, name) {
  const file = await screenshot(page, name);
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    const dir = path.join(ROOT, 'docs/screenshots');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: path.join(dir, name) });
  }
  return file;
}

/** How far the page scrolls sideways (0: not at all). */
const sideways = (page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

/** Whether `selector` is fully inside the viewport. */
async function inView(page, selector) {
  const box = await page.locator(selector).boundingBox();
  const vp = page.viewportSize();
  return !!box && box.x >= 0 && box.y >= 0 && box.x + box.width <= vp.width + 0.5 && box.y + box.height <= vp.height + 0.5;
}

const topology = (page) => page.textContent('#topology');
const stateOf = async (page, name) => (await members(page)).find((m) => m.text.startsWith(name))?.state;

test('on a phone: full width, no sideways scrolling, the composer at the bottom, members on demand', async () => {
  const page = await open(PHONE);
  await page.waitForSelector('#rooms tr[data-room="lobby"]');
  assert.equal(await sideways(page), 0, 'the landing page does not scroll sideways');
  for (const card of await page.$$('.card')) {
    const box = await card.boundingBox();
    assert.ok(box.width >= 370, `a card uses ${box.width} of 390 px`);
  }
  await page.click('#rooms tr[data-room="lobby"]');
  await page.fill('#name-input', 'Ann');
  await shoot(page, 'phone-join.png');
  await page.click('#join-button');
  await page.waitForSelector('#chat-view:not([hidden])');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'composer-input', 'focus moves to the composer');
  assert.equal(await topology(page), 'You are the host');

  const ben = await enterOn(PHONE, 'lobby', 'Ben');
  await ben.waitForSelector('#members li .state[data-state="connected"]', { state: 'attached', timeout: 15000 });
  assert.equal(await topology(ben), 'Hosted by Ann');
  await say(page, 'Hi Ben, this is the lobby on a phone.');
  await say(ben, 'Hi Ann! Reading you on mine.');
  await waitForTexts(ben, ['Hi Ben, this is the lobby on a phone.', 'Hi Ann! Reading you on mine.']);
  await ben.waitForFunction(() => [...document.querySelectorAll('#messages li.own .delivery')].at(-1)?.textContent === '✓', null, { timeout: 15000 });
  await shoot(ben, 'phone-chat.png');
  const long = `A long line: ${'x'.repeat(150)} and a very-long-word-${'y'.repeat(80)}`;
  await say(ben, long);
  await waitForTexts(page, [long]);
  for (const p of [page, ben]) {
    if (!(await inView(p, '#composer-input'))) await screenshot(p, 'phone-composer-off-screen.png');
    assert.equal(await sideways(p), 0, 'a long message wraps instead of widening the page');
    assert.ok(await inView(p, '#composer-input'), 'the composer is on screen');
    assert.ok(await inView(p, '#send-button'), 'the send button is on screen');
    const composer = await p.locator('#composer').boundingBox();
    assert.ok(composer.y + composer.height >= 844 - 20, `the composer sits at the bottom (ends at ${composer.y + composer.height})`);
    const list = await p.locator('.messages-pane').boundingBox();
    assert.ok(list.width >= 370, `the chat uses ${list.width} of 390 px`);
  }
  // The member list is a panel the header's button opens (and closes).
  assert.equal(await ben.isVisible('#members-pane'), false);
  await ben.click('#members-toggle');
  assert.equal(await ben.isVisible('#members-pane'), true);
  assert.equal(await ben.textContent('#member-count'), '(2)');
  await shoot(ben, 'phone-members.png');
  await ben.click('#members-toggle');
  assert.equal(await ben.isVisible('#members-pane'), false);

  // The host leaves: Ben, who joined next, takes over and says so.
  await page.context().close();
  await ben.waitForFunction(() => document.querySelector('#topology').textContent === 'You are the host', null, { timeout: 15000 });
  await ben.click('#members-toggle');
  const atEnd = () => ben.$eval('#messages', (l) => l.scrollHeight - l.scrollTop - l.clientHeight < 40);
  await ben.waitForFunction(() => [...document.querySelectorAll('#messages li.notice')].some((li) => li.textContent.includes('You are now the host')));
  assert.ok(await atEnd(), 'opening the member panel keeps the latest line in view');
  await shoot(ben, 'phone-host-left.png');
  await ben.context().close();
});

test('on a desktop: the member list beside the chat; states change as the host leaves', async () => {
  const ann = await enterOn(DESKTOP, 'team', 'Ann');
  const ben = await enterOn(DESKTOP, 'team', 'Ben');
  const cy = await enterOn(DESKTOP, 'team', 'Cy');
  const chat = await cy.locator('.messages-pane').boundingBox();
  const side = await cy.locator('#members-pane').boundingBox();
  assert.ok(side.x >= chat.x + chat.width, 'the member list is to the right of the chat');
  assert.ok(Math.abs(side.y - chat.y) < 2, 'side by side, same top');
  assert.equal(await cy.isVisible('#members-toggle'), false, 'no toggle needed');

  // Cy links to the host only; Ben reaches Cy through Ann.
  await cy.waitForFunction(() => document.querySelector('#members li[data-host="true"] .state')?.dataset.state === 'connected', null, { timeout: 15000 });
  assert.equal(await stateOf(cy, 'Ann'), 'connected');
  assert.equal(await stateOf(cy, 'Ben'), 'via host');
  assert.equal(await topology(cy), 'Hosted by Ann');
  // Every state Cy shows for Ben, in order.
  await cy.evaluate(() => {
    window.benStates = [];
    const record = () => {
      const li = [...document.querySelectorAll('#members li')].find((l) => l.querySelector('.name').textContent.startsWith('Ben'));
      const s = li?.querySelector('.state').dataset.state ?? 'gone';
      if (window.benStates.at(-1) !== s) window.benStates.push(s);
    };
    record();
    new MutationObserver(record).observe(document.querySelector('#members'), { childList: true, subtree: true, attributes: true });
  });
  await say(ann, 'I have to go soon');
  await say(cy, 'ok, see you');
  await waitForTexts(ben, ['I have to go soon', 'ok, see you']);
  await shoot(cy, 'desktop-chat.png');

  await ann.context().close();
  await cy.waitForFunction(() => document.querySelector('#topology').textContent === 'Hosted by Ben', null, { timeout: 15000 });
  await cy.waitForFunction(() => window.benStates.at(-1) === 'connected', null, { timeout: 15000 });
  const seen = await cy.evaluate(() => window.benStates);
  assert.equal(seen[0], 'via host', JSON.stringify(seen));
  assert.ok(seen.includes('connecting'), `Ben's link was shown being set up: ${JSON.stringify(seen)}`);
  assert.equal(seen.at(-1), 'connected', JSON.stringify(seen));
  assert.equal((await members(cy)).some((m) => m.text.startsWith('Ann')), false, 'Ann is gone from the list');
  assert.ok(
    await cy.evaluate(() => [...document.querySelectorAll('#messages li.notice')].some((li) => li.textContent.includes('Ben is now the host.'))),
  );
  await shoot(cy, 'desktop-host-left.png');

  const fresh = await open(DESKTOP);
  await fresh.waitForSelector('#rooms tr[data-room="team"]');
  await fresh.click('#rooms tr[data-room="team"]');
  await fresh.fill('#name-input', 'Dee');
  await shoot(fresh, 'desktop-join.png');
  for (const p of [ben, cy, fresh]) await p.context().close();
});

test('composer: Enter sends, Shift+Enter breaks the line, a counter shows the limit, a ✓ marks delivery', async () => {
  const ann = await enterOn(DESKTOP, 'relay', 'Ann');
  assert.equal(await topology(ann), 'Hosted by the server');
  await ann.waitForSelector('#members li[data-peer="relay"] .state[data-state="connected"]', { timeout: 15000 });
  assert.equal(await ann.getAttribute('#messages', 'role'), 'log', 'new lines are announced (role log, aria-live)');
  await ann.focus('#composer-input');
  await ann.keyboard.type('first line');
  await ann.keyboard.press('Shift+Enter');
  await ann.keyboard.type('second line');
  assert.equal(await ann.inputValue('#composer-input'), 'first line\nsecond line');
  assert.equal(await ann.textContent('#counter'), '22 / 2000');
  await ann.keyboard.press('Enter');
  await waitForTexts(ann, ['first line\nsecond line']);
  assert.equal(await ann.inputValue('#composer-input'), '', 'Enter sent it');
  assert.equal(await ann.isVisible('#counter'), false, 'no counter for an empty composer');
  const mark = ann.locator('#messages li.own .delivery').last();
  await mark.waitFor();
  await ann.waitForFunction(() => [...document.querySelectorAll('#messages li.own .delivery')].at(-1)?.textContent === '✓', null, { timeout: 15000 });
  assert.equal(await mark.getAttribute('title'), 'delivered to the server');
  const lines = await ann.$eval('#messages li.own .text', (e) => e.getClientRects()[0].height / parseFloat(getComputedStyle(e).lineHeight));
  assert.ok(lines >= 1.9, 'the new line is kept');

  // "/me waves" reads as an action.
  await ann.fill('#composer-input', '/me waves');
  await ann.press('#composer-input', 'Enter');
  await ann.waitForSelector('#messages li.own .text.action >> text=* Ann waves');

  // The limit: the composer takes 2,000 characters and no more, and the counter says so.
  await ann.fill('#composer-input', 'z'.repeat(2100));
  await ann.dispatchEvent('#composer-input', 'input');
  assert.equal((await ann.inputValue('#composer-input')).length, 2000);
  assert.equal(await ann.textContent('#counter'), '2000 / 2000');
  assert.equal(await ann.getAttribute('#counter', 'data-near'), 'true');
  await ann.context().close();
});

test('history from an earlier day is set apart by day; a reader scrolled up gets a "new messages" button', async () => {
  const ann = await enterOn(DESKTOP, 'days', 'Ann');
  await ann.waitForSelector('#members li[data-peer="relay"] .state[data-state="connected"]', { timeout: 15000 });
  // A message written yesterday by the author's clock (the relay keeps the author's ts).
  await ann.evaluate(() => {
    const dc = window.switchboard.peers.links.get('relay').dc;
    const { me, name } = window.switchboard.peers;
    dc.send(JSON.stringify({ type: 'chat', id: 'yesterday-1', from: me, name, text: 'said yesterday', ts: Date.now() - 86400000 }));
  });
  await say(ann, 'said today');
  await waitForTexts(ann, ['said today']);
  const late = await enterOn(DESKTOP, 'days', 'Ben');
  await waitForTexts(late, ['said yesterday', 'said today']);
  const order = await late.$$eval('#messages li', (items) =>
    items.filter((li) => li.matches('.day, .chat')).map((li) => (li.matches('.day') ? `[${li.textContent}]` : li.querySelector('.text').textContent)),
  );
  // (The page's own notices of the join come first, under "Today"; then the history.)
  const from = order.indexOf('[Yesterday]');
  assert.deepEqual(order.slice(from, from + 4), ['[Yesterday]', 'said yesterday', '[Today]', 'said today'], JSON.stringify(order));
  for (const p of [ann, late]) await p.context().close();

  const reader = await enterOn(DESKTOP, 'scroll', 'Reader');
  const writer = await enterOn(DESKTOP, 'scroll', 'Writer');
  for (const p of [reader, writer]) await p.waitForSelector('#members li[data-peer="relay"] .state[data-state="connected"]', { timeout: 15000 });
  const backlog = Array.from({ length: 40 }, (_, i) => `line ${i}`);
  for (const text of backlog) await say(writer, text);
  await waitForTexts(reader, backlog);
  assert.equal(await reader.isVisible('#new-messages'), false, 'at the bottom: no button');
  await reader.$eval('#messages', (l) => (l.scrollTop = 0));
  await say(writer, 'while you were reading');
  await reader.waitForSelector('#new-messages:not([hidden])', { timeout: 15000 });
  assert.equal(await reader.textContent('#new-messages'), '1 new message ↓');
  await reader.click('#new-messages');
  assert.equal(await reader.isVisible('#new-messages'), false);
  assert.ok(await reader.$eval('#messages', (l) => l.scrollHeight - l.scrollTop - l.clientHeight < 40), 'scrolled to the end');
  for (const p of [reader, writer]) await p.context().close();
});

test('while the server is away a banner says so; it goes when the seat is back', async () => {
  const ann = await enterOn(DESKTOP, 'away', 'Ann');
  await ann.waitForSelector('#members li[data-peer="relay"] .state[data-state="connected"]', { timeout: 15000 });
  await env.server.restart(3000, async () => {
    await ann.waitForSelector('#banner:not([hidden])', { timeout: 15000 });
    assert.match(await ann.textContent('#banner'), /Connection to the server lost|Reconnecting/);
    await screenshot(ann, 'desktop-reconnecting.png');
  });
  await ann.waitForSelector('#banner', { state: 'hidden', timeout: 15000 });
  await ann.waitForSelector('#status[data-state="connected"]');
  await ann.context().close();
});
