// Rooms hosted by the server's relay, in real Chromium pages: chat, history for a late joiner, a
// reload that resumes with exactly what was missed, and a host room that fails over to the relay
// when its hosting page closes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  serverAndBrowser, enter, say, messages, members,
  waitForTexts, waitForConnected, assertShownOnce, screenshot,
} from './helpers.mjs';

const env = serverAndBrowser(`
[[rooms]]
name = "served"
topology = "relay"

[[rooms]]
name = "reload"
topology = "relay"

[[rooms]]
name = "failover"
topology = "host"
on_host_leave = "relay"
`);

test('three pages chat through the relay and a late fourth page sees the history', async () => {
  const names = ['alice', 'bob', 'carol'];
  const pages = [];
  for (const name of names) pages.push(await enter(env.browser, env.server, 'served', name));
  for (const page of pages) {
    await page.waitForSelector('#members li[data-peer="relay"] .state[data-state="connected"]', { timeout: 15000 });
  }
  const relayRow = (await members(pages[0])).find((m) => m.id === 'relay');
  assert.match(relayRow.text, /hosted by server/);

  const sent = [];
  for (let i = 0; i < 5; i++) {
    for (const [k, page] of pages.entries()) {
      const text = `${names[k]} #${i}`;
      sent.push(text);
      await say(page, text);
    }
  }
  for (const page of pages) {
    await waitForTexts(page, sent);
    await assertShownOnce(page, sent);
    // Every own message was acknowledged by the relay.
    await page.waitForFunction(() => document.querySelectorAll('#messages li.pending').length === 0);
  }
  const shownByCarol = await messages(pages[2]);
  assert.equal(shownByCarol.find((m) => m.text === 'alice #3').name, 'alice');

  const late = await enter(env.browser, env.server, 'served', 'dave');
  await waitForTexts(late, sent);
  const history = await messages(late);
  assert.deepEqual(history.map((m) => m.text), sent, 'history arrives complete and in order');
  await say(late, 'dave was late');
  for (const page of pages) await waitForTexts(page, ['dave was late']);
  const file = await screenshot(late, 'chat-relay.png');
  console.log(`screenshot: ${file}`);
  for (const page of [...pages, late]) await page.context().close();
});

test('host room with on_host_leave = relay: the hosting page closes and nothing is lost or repeated', async () => {
  const host = await enter(env.browser, env.server, 'failover', 'hana');
  const bob = await enter(env.browser, env.server, 'failover', 'bob');
  const carol = await enter(env.browser, env.server, 'failover', 'carol');
  await waitForConnected(host, 2);
  await waitForConnected(bob, 1);
  await waitForConnected(carol, 1);

  const expected = [];
  const sayBoth = async (tag) => {
    for (const [who, page] of [['bob', bob], ['carol', carol]]) {
      const text = `${who} ${tag}`;
      expected.push(text);
      await say(page, text);
    }
  };
  for (let i = 0; i < 5; i++) await sayBoth(`before ${i}`);
  for (const page of [host, bob, carol]) await waitForTexts(page, expected);

  await host.context().close();
  for (let i = 0; i < 20; i++) await sayBoth(`during ${i}`);
  for (const page of [bob, carol]) {
    await page.waitForSelector('#members li[data-peer="relay"] .state[data-state="connected"]', { timeout: 15000 });
  }
  for (let i = 0; i < 5; i++) await sayBoth(`after ${i}`);

  for (const page of [bob, carol]) {
    await waitForTexts(page, expected);
    await assertShownOnce(page, expected);
    await page.waitForFunction(() => document.querySelectorAll('#messages li.pending').length === 0);
    const host = (await members(page)).find((m) => m.host);
    assert.equal(host.id, 'relay');
  }
  await screenshot(bob, 'chat-failover.png');
  await bob.context().close();
  await carol.context().close();
});

test('a reloaded page resumes with exactly what it missed, nothing twice', async () => {
  const alice = await enter(env.browser, env.server, 'reload', 'alice');
  const bob = await enter(env.browser, env.server, 'reload', 'bob');
  for (const page of [alice, bob]) {
    await page.waitForSelector('#members li[data-peer="relay"] .state[data-state="connected"]', { timeout: 15000 });
  }
  const before = ['one', 'two', 'three'];
  for (const text of before) await say(alice, text);
  await waitForTexts(bob, before);
  const point = await bob.evaluate(() => localStorage.getItem('switchboard:resume:reload'));
  assert.equal(point, '3', 'the page keeps the last relay seq it saw');

  // Bob reloads; alice talks while he is away.
  await bob.goto('about:blank');
  await alice.waitForFunction(
    () => ![...document.querySelectorAll('#members li .name')].some((e) => e.textContent.includes('bob')),
    null,
    { timeout: 15000 },
  );
  const missed = ['four', 'five'];
  for (const text of missed) await say(alice, text);
  await alice.waitForFunction(() => document.querySelectorAll('#messages li.pending').length === 0);
  // The tab was in the room: the page joins it again by itself (its seat is gone by now, so as
  // a new member) and resumes the chat where it left off.
  await bob.goto(env.server.url);
  await bob.waitForSelector('#chat-view:not([hidden])', { timeout: 5000 });
  await waitForTexts(bob, missed);
  await say(alice, 'six');
  await waitForTexts(bob, ['six']);
  const shown = (await messages(bob)).map((m) => m.text);
  assert.deepEqual(shown, [...missed, 'six'], 'exactly the missed messages, then live');
  await screenshot(bob, 'chat-reload-resume.png');
  await alice.context().close();
  await bob.context().close();
});
