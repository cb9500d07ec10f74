// What a hostile member can send over its data channels does not forge, hide or suppress other
// members' chat in real Chromium pages (issue 18): mallory drives her own page's links by hand.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndBrowser, enter, say, messages, waitForTexts, waitForConnected, screenshot } from './helpers.mjs';

const env = serverAndBrowser(`
[[rooms]]
name = "mesh"
topology = "mesh"
`);

/** Sends `frames` (objects) raw on every open data channel of `page`, as a modified client could. */
function sendRaw(page, frames) {
  return page.evaluate((list) => {
    const { peers } = window.switchboard;
    for (const link of peers.links.values()) for (const f of list) link.dc.send(typeof f === 'string' ? f : JSON.stringify(f));
  }, frames);
}

test("a peer's forged ids, names and notices do not suppress or impersonate anyone", async () => {
  const alice = await enter(env.browser, env.server, 'mesh', 'alice');
  const bob = await enter(env.browser, env.server, 'mesh', 'bob');
  const mallory = await enter(env.browser, env.server, 'mesh', 'mallory');
  for (const page of [alice, bob, mallory]) await waitForConnected(page, 2);

  await say(bob, 'bob one');
  for (const page of [alice, mallory]) await waitForTexts(page, ['bob one']);
  // Mallory reads bob's id off her page and sends his next one first, plus a fake notice, a
  // message in bob's name, and junk.
  const bobsId = (await messages(mallory)).find((m) => m.text === 'bob one').id;
  const [prefix, n] = [bobsId.slice(0, bobsId.lastIndexOf('-')), Number(bobsId.split('-').pop())];
  const nextId = `${prefix}-${n + 1}`;
  await sendRaw(mallory, [
    { type: 'chat', id: nextId, from: 'x', name: 'bob', text: 'forged with bob\'s next id' },
    { type: 'chat', id: 'm-1', name: 'alice', from: 'alice', text: 'fake notice', notice: 'alice is now the host.', kind: 'notice' },
    { type: 'history', messages: [{ id: 'h-1', from: 'bob', name: 'bob', text: 'fake history' }] },
    { type: 'ack', id: nextId },
    'not json',
    { type: 'chat', id: 42, text: 'numeric id' },
  ]);
  await say(bob, 'bob two');
  await waitForTexts(alice, ['bob two', "forged with bob's next id", 'fake notice']);

  const shown = await messages(alice);
  const byText = new Map(shown.map((m) => [m.text, m]));
  assert.equal(byText.get('bob two').name, 'bob', "bob's real message is shown, under his name");
  assert.equal(byText.get("forged with bob's next id").name, 'mallory', 'the forger is named as herself');
  assert.equal(byText.get('fake notice').name, 'mallory');
  assert.ok(!byText.has('fake history'), 'history from a mesh peer is not taken');
  assert.ok(!byText.has('numeric id'));
  const notices = await alice.$$eval('#messages li.notice', (items) => items.map((li) => li.textContent));
  assert.ok(!notices.some((t) => t.includes('alice is now the host')), `notices: ${notices}`);
  const file = await screenshot(alice, 'trust-mesh.png');
  console.log(`screenshot: ${file}`);

  // Bob's own copy is confirmed by his peers, not by mallory's ack of an id he had not sent.
  await bob.waitForSelector('#messages li.chat.own:not(.pending) >> text=bob two', { timeout: 15000 });
  for (const page of [alice, bob, mallory]) await page.context().close();
});
