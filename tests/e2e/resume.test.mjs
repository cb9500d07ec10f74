// A network blip or a reload does not throw anyone out: the page reconnects by itself and takes
// back its seat (same peer id, same host role) with the token of its last welcome; the others
// see nobody leave or join, and no chat line is lost or shown twice.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  serverAndBrowser, enter, say, waitForTexts, waitForConnected, assertShownOnce, screenshot, startBlip,
} from './helpers.mjs';

const env = serverAndBrowser(`
[[rooms]]
name = "hosted"
topology = "host"

[[rooms]]
name = "served"
topology = "relay"
`);

const peerId = (page) => page.evaluate(() => window.switchboard.peers.me);
const notices = (page) => page.$$eval('#messages li.notice', (items) => items.map((li) => li.lastChild.textContent));

/** Resolves when the status pill says `state`; returns how long that took. */
async function waitForStatus(page, state, timeout = 15000) {
  const started = Date.now();
  await page.waitForSelector(`#status[data-state="${state}"]`, { timeout });
  return Date.now() - started;
}

/** Asserts that no notice after the `from`-th says someone left or joined. */
async function assertNobodyLeftOrJoined(page, from, who) {
  const news = (await notices(page)).slice(from).filter((n) => / (joined|left|disconnected|timed out)\.$/.test(n));
  assert.deepEqual(news, [], `${who} was told of a leave or join`);
}

test('a page whose network is cut and restored chats again within 3 s, as the same member', async () => {
  // ann reaches the server through a proxy that can cut her network; ben directly.
  const blip = await startBlip(env.server);
  const ann = await enter(env.browser, blip, 'served', 'ann');
  const ben = await enter(env.browser, env.server, 'served', 'ben');
  for (const page of [ann, ben]) {
    await page.waitForSelector('#members li[data-peer="relay"] .state[data-state="connected"]', { timeout: 15000 });
  }
  await say(ann, 'before the blip');
  await waitForTexts(ben, ['before the blip']);
  const id = await peerId(ann);
  const seenByBen = (await notices(ben)).length;

  // The network goes: her socket hears nothing more (no close reaches either end) and new
  // connections fail. The page notices the silence and keeps trying.
  blip.cut();
  await ann.context().setOffline(true);
  await say(ann, 'typed while offline');
  await say(ben, 'said while ann was offline');
  await waitForStatus(ann, 'reconnecting', 20000);
  await new Promise((r) => setTimeout(r, 1000));
  const restored = Date.now();
  await ann.context().setOffline(false);
  blip.restore();
  await waitForStatus(ann, 'connected', 5000);
  await say(ann, 'after the blip');
  const all = ['before the blip', 'typed while offline', 'said while ann was offline', 'after the blip'];
  await waitForTexts(ann, all);
  await waitForTexts(ben, all);
  const back = Date.now() - restored;
  assert.ok(back < 3000, `chatting again ${back} ms after the network came back`);
  assert.equal(await peerId(ann), id, 'the same peer id');
  for (const page of [ann, ben]) await assertShownOnce(page, all);
  await assertNobodyLeftOrJoined(ben, seenByBen, 'ben');
  await screenshot(ann, 'resume-blip.png');
  for (const page of [ann, ben]) await page.context().close();
  await blip.close();
});

test('a host that reloads its page is still the host, and nobody saw it leave', async () => {
  const hana = await enter(env.browser, env.server, 'hosted', 'hana');
  const bob = await enter(env.browser, env.server, 'hosted', 'bob');
  await waitForConnected(hana, 1);
  await waitForConnected(bob, 1);
  const id = await peerId(hana);
  const seenByBob = (await notices(bob)).length;

  await hana.reload();
  await hana.waitForSelector('#chat-view:not([hidden])', { timeout: 5000 });
  await waitForStatus(hana, 'connected');
  assert.equal(await peerId(hana), id, 'the same peer id after a reload');
  await waitForConnected(bob, 1, 10000);
  await say(bob, 'hello again host');
  await waitForTexts(hana, ['hello again host'], 10000);
  const host = await bob.$eval('#members li[data-host="true"]', (li) => li.dataset.peer);
  assert.equal(host, id, 'hana still hosts');
  await assertNobodyLeftOrJoined(bob, seenByBob, 'bob');
  for (const page of [hana, bob]) await page.context().close();
});
