// A newcomer's first run: the server started with the shipped config (fresh data directory),
// the rooms it declares listed on the landing page, and its relay room working end to end: the
// server hosts it, the chat goes on after the first member leaves, and a late joiner gets the
// history.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startShippedServer, launchBrowser, openPage, say, waitForTexts, assertShownOnce } from './helpers.mjs';

const env = {};
before(async () => {
  env.server = await startShippedServer();
  env.browser = await launchBrowser();
});
after(async () => {
  await env.browser?.close();
  await env.server?.stop();
});

/** Picks a room from the list by clicking its row, as a newcomer does, types a name, joins. */
async function pickAndJoin(room, name) {
  const page = await openPage(env.browser, env.server);
  await page.click(`#rooms tr[data-room="${room}"]`);
  assert.equal(await page.inputValue('#room-input'), room, 'a click on a room row fills the form');
  await page.fill('#name-input', name);
  await page.click('#join-button');
  await page.waitForSelector('#chat-view:not([hidden])', { timeout: 15000 });
  return page;
}

test('the shipped config lists a host, a mesh and a relay room', async () => {
  const page = await openPage(env.browser, env.server);
  await page.waitForSelector('#rooms tr[data-room="relay"]');
  const rows = await page.$$eval('#rooms tbody tr', (trs) =>
    trs.map((tr) => [tr.dataset.room, tr.children[1].textContent]),
  );
  const byName = Object.fromEntries(rows);
  assert.equal(byName.lobby, 'host', JSON.stringify(rows));
  assert.equal(byName.mesh, 'mesh', JSON.stringify(rows));
  assert.equal(byName.relay, 'server relay', JSON.stringify(rows));
  await page.context().close();
});

test("the shipped relay room: the server hosts it, chat outlives its first member, a late joiner gets the history", async () => {
  const ann = await pickAndJoin('relay', 'Ann');
  const bob = await pickAndJoin('relay', 'Bob');
  for (const page of [ann, bob]) {
    await page.waitForSelector('#members li[data-peer="relay"] .state[data-state="connected"]', { timeout: 15000 });
  }
  await say(ann, 'hello from Ann');
  await say(bob, 'hello from Bob');
  await waitForTexts(ann, ['hello from Ann', 'hello from Bob']);
  await waitForTexts(bob, ['hello from Ann', 'hello from Bob']);

  await ann.click('#leave-button');
  await say(bob, 'Ann has gone, the room has not');
  const cy = await pickAndJoin('relay', 'Cy');
  const all = ['hello from Ann', 'hello from Bob', 'Ann has gone, the room has not'];
  await waitForTexts(cy, all);
  await assertShownOnce(cy, all);
  for (const page of [ann, bob, cy]) await page.context().close();
});
