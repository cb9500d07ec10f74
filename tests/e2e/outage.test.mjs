// The signaling server stops (SIGTERM, as `docker stop`) and starts again while people chat:
// nothing typed is lost, the host's own messages included; an own message shows as pending until
// it is confirmed; pages are back within 3 s of the server; nobody "joins" who never left.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  serverAndBrowser, enter, say, messages, waitForTexts, waitForConnected, assertShownOnce, screenshot,
} from './helpers.mjs';

const env = serverAndBrowser(`
[[rooms]]
name = "hosted"
topology = "host"
on_host_leave = "elect"

[[rooms]]
name = "served"
topology = "relay"
`);

/** Resolves when the page's status pill says `state`; returns how long that took. */
async function waitForStatus(page, state, timeout = 15000) {
  const started = Date.now();
  await page.waitForSelector(`#status[data-state="${state}"]`, { timeout });
  return Date.now() - started;
}

/** The notices shown after the `from`-th one. */
async function noticesAfter(page, from) {
  const all = await page.$$eval('#messages li.notice', (items) => items.map((li) => li.lastChild.textContent));
  return all.slice(from);
}

test('a server restart loses nothing typed meanwhile, and pages come back within 3 s', async () => {
  const names = ['hana', 'bob', 'carol'];
  const pages = [];
  for (const name of names) pages.push(await enter(env.browser, env.server, 'hosted', name));
  const [hana, bob, carol] = pages;
  await waitForConnected(hana, 2);
  await waitForConnected(bob, 1);
  await waitForConnected(carol, 1);
  await say(bob, 'before the restart');
  for (const page of pages) await waitForTexts(page, ['before the restart']);
  const noticesBefore = await Promise.all(pages.map((p) => p.$$eval('#messages li.notice', (l) => l.length)));

  const typed = ['hana (host) during the outage', 'bob during the outage', 'carol during the outage'];
  await env.server.restart(2500, async () => {
    for (const page of pages) await waitForStatus(page, 'reconnecting');
    for (const [i, page] of pages.entries()) await say(page, typed[i]);
  });
  const back = await Promise.all(pages.map((page) => waitForStatus(page, 'connected')));
  for (const ms of back) assert.ok(ms < 3000, `a page took ${ms} ms to reconnect (${back})`);

  const all = ['before the restart', ...typed];
  for (const page of pages) {
    await waitForTexts(page, all);
    await assertShownOnce(page, all);
  }
  await screenshot(hana, 'outage-host.png');
  for (const [i, page] of pages.entries()) {
    const joined = (await noticesAfter(page, noticesBefore[i])).filter((n) => / joined\.$/.test(n));
    assert.deepEqual(joined, [], `${names[i]} was told of joins by people who never left`);
  }
  for (const page of pages) await page.context().close();
});

test('an own message shows as pending until the relay confirms it, then as delivered', async () => {
  const ann = await enter(env.browser, env.server, 'served', 'ann');
  const ben = await enter(env.browser, env.server, 'served', 'ben');
  for (const page of [ann, ben]) {
    await page.waitForSelector('#members li[data-peer="relay"] .state[data-state="connected"]', { timeout: 15000 });
  }
  await env.server.restart(2000, async () => {
    await waitForStatus(ann, 'reconnecting');
    await say(ann, 'queued while the server is down');
    // The relay is the server: nobody can confirm the message now.
    await ann.waitForSelector('#messages li.chat.own.pending >> text=queued while the server is down');
    await screenshot(ann, 'outage-pending.png');
  });
  await waitForTexts(ben, ['queued while the server is down']);
  await ann.waitForSelector('#messages li.chat.own:not(.pending) >> text=queued while the server is down', {
    timeout: 15000,
  });
  const mine = (await messages(ann)).find((m) => m.text === 'queued while the server is down');
  assert.equal(mine.pending, false);
  await assertShownOnce(ben, ['queued while the server is down']);
  for (const page of [ann, ben]) await page.context().close();
});

test("the host's message typed while its links are down reaches everyone after the reconnect", async () => {
  const hana = await enter(env.browser, env.server, 'hosted', 'hana');
  const bob = await enter(env.browser, env.server, 'hosted', 'bob');
  await waitForConnected(hana, 1);
  await waitForConnected(bob, 1);
  await env.server.restart(2000, async () => {
    await waitForStatus(hana, 'reconnecting');
    // The host's peer connections drop too (a network blip on its side).
    await hana.evaluate(() => {
      const { peers } = window.switchboard;
      for (const id of [...peers.links.keys()]) peers.closeLink(id);
    });
    await say(hana, 'hana with no links');
    await hana.waitForSelector('#messages li.chat.own.pending >> text=hana with no links');
  });
  await waitForTexts(bob, ['hana with no links']);
  await hana.waitForSelector('#messages li.chat.own:not(.pending) >> text=hana with no links', { timeout: 15000 });
  await assertShownOnce(bob, ['hana with no links']);
  for (const page of [hana, bob]) await page.context().close();
});
