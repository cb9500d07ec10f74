// Mesh and host rooms in real Chromium pages: chat, host election, errors in words.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  serverAndBrowser, openPage, join, enter, say, messages, members,
  waitForTexts, waitForConnected, textCounts, assertShownOnce, screenshot,
} from './helpers.mjs';

const env = serverAndBrowser(`
[[rooms]]
name = "mesh"
topology = "mesh"

[[rooms]]
name = "hosted"
topology = "host"
on_host_leave = "elect"

[[rooms]]
name = "secret"
topology = "mesh"
password = "opensesame"
`);

test('three pages in a mesh room all see each other and every message once', async () => {
  const alice = await enter(env.browser, env.server, 'mesh', 'alice');
  const bob = await enter(env.browser, env.server, 'mesh', 'bob');
  const carol = await enter(env.browser, env.server, 'mesh', 'carol');
  const pages = [alice, bob, carol];
  for (const page of pages) await waitForConnected(page, 2);

  await say(alice, 'hello from alice');
  await say(bob, 'hi alice, bob here');
  await say(carol, 'carol says hi');
  const all = ['hello from alice', 'hi alice, bob here', 'carol says hi'];
  for (const page of pages) {
    await waitForTexts(page, all);
    for (const [text, n] of await textCounts(page)) assert.equal(n, 1, `${text} shown ${n} times`);
  }
  const byBob = (await messages(carol)).find((m) => m.text === 'hi alice, bob here');
  assert.equal(byBob.name, 'bob');

  const list = await members(carol);
  assert.deepEqual(list.map((m) => m.text), ['carol (you)', 'alice', 'bob']);
  const file = await screenshot(carol, 'chat-mesh.png');
  console.log(`screenshot: ${file}`);
  for (const page of pages) await page.context().close();
});

test('host room: the host forwards, and when it closes the earliest member takes over without loss', async () => {
  const host = await enter(env.browser, env.server, 'hosted', 'hana');
  const bob = await enter(env.browser, env.server, 'hosted', 'bob');
  const carol = await enter(env.browser, env.server, 'hosted', 'carol');
  await waitForConnected(host, 2);
  await waitForConnected(bob, 1);
  await waitForConnected(carol, 1);
  const hostMark = (await members(bob)).find((m) => m.host);
  assert.equal(hostMark.text, 'hanahost');

  await say(bob, 'bob before');
  await say(carol, 'carol before');
  for (const page of [host, bob, carol]) await waitForTexts(page, ['bob before', 'carol before']);

  // The host leaves by closing the page; carol keeps typing through the switch.
  await host.context().close();
  const during = [];
  for (let i = 0; i < 10; i++) {
    during.push(`carol during ${i}`);
    await say(carol, `carol during ${i}`);
  }
  await bob.waitForSelector('#members li[data-host="true"] >> text=bob (you)', { timeout: 15000 });
  await waitForConnected(bob, 1);
  await say(bob, 'bob after');
  const expected = ['bob before', 'carol before', ...during, 'bob after'];
  for (const page of [bob, carol]) {
    await waitForTexts(page, expected);
    await assertShownOnce(page, expected);
  }
  await screenshot(carol, 'chat-host.png');
  await bob.context().close();
  await carol.context().close();
});

test('refused joins are explained in words and the form stays usable', async () => {
  const alice = await enter(env.browser, env.server, 'secret', 'alice', 'opensesame');
  const page = await openPage(env.browser, env.server);
  await join(page, 'secret', 'mallory', 'guess');
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.textContent('#error-text'), /wrong or missing password/);
  assert.equal(await page.isVisible('#join-view'), true);

  await join(page, 'secret', 'ALICE', 'opensesame');
  await page.waitForFunction(() => /already taken/.test(document.querySelector('#error-text').textContent));

  await join(page, 'secret', 'mallory', 'opensesame');
  await page.waitForSelector('#chat-view:not([hidden])');
  await waitForConnected(alice, 1);
  await page.context().close();
  await alice.context().close();
});

test('a page whose WebSocket drops reconnects, rejoins and keeps chatting', async () => {
  const alice = await enter(env.browser, env.server, 'mesh', 'alice');
  const bob = await enter(env.browser, env.server, 'mesh', 'bob');
  await waitForConnected(alice, 1);
  // Lose the signaling socket the way a network blip would (not a user's leave).
  // Record every status the pill shows, so a short-lived "reconnecting" cannot be missed.
  await alice.evaluate(() => {
    const pill = document.querySelector('#status');
    window.statesSeen = [];
    new MutationObserver(() => window.statesSeen.push(pill.dataset.state)).observe(pill, { attributes: true });
    window.switchboard.signaling.ws.close();
  });
  await alice.waitForFunction(() => [...document.querySelectorAll('#messages li.notice')].some((li) => li.textContent.includes('Reconnected.')), null, { timeout: 15000 });
  await alice.waitForSelector('#status[data-state="connected"]');
  assert.ok((await alice.evaluate(() => window.statesSeen)).includes('reconnecting'), 'the page said it was reconnecting');
  await waitForConnected(alice, 1);
  await waitForConnected(bob, 1);
  await say(alice, 'alice is back');
  await say(bob, 'welcome back');
  await waitForTexts(bob, ['alice is back']);
  await waitForTexts(alice, ['welcome back']);
  await alice.context().close();
  await bob.context().close();
});

test('an invalid room name is explained in words, not "match the requested format"', async () => {
  const page = await openPage(env.browser, env.server);
  await page.fill('#room-input', 'my room!');
  await page.fill('#name-input', 'alice');
  await page.click('#join-button');
  const message = await page.$eval('#room-input', (input) => input.validationMessage);
  assert.match(message, /letters A-Z and a-z, digits, - and _/);
  assert.equal(await page.isVisible('#chat-view'), false);
  await page.fill('#room-input', 'my-room_2');
  assert.equal(await page.$eval('#room-input', (input) => input.validationMessage), '');
  await page.context().close();
});
