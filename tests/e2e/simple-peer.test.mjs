// simple-peer apps on Switchboard's broadcast signaling, unchanged: the example page
// (examples/simple-peer/) with the npm package `simple-peer` (served to the page from
// node_modules), in real Chromium: two pages signal through /broadcast/{room} and open a data
// channel; a page in another room hears nothing of theirs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { serverAndBrowser, exampleSite, ROOT } from './helpers.mjs';

const site = exampleSite('simple-peer');
const env = serverAndBrowser(`
[broadcast]
enabled = true
`, site);

const SIMPLE_PEER = readFileSync(path.join(ROOT, 'tests/e2e/node_modules/simple-peer/simplepeer.min.js'));

async function openExample(query) {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err.message));
  await page.route('https://unpkg.com/**', (route) => route.fulfill({ body: SIMPLE_PEER, contentType: 'text/javascript' }));
  await page.goto(`${env.server.url}/examples/simple-peer/index.html?no-ice&${query}`);
  return page;
}

/** Waits until `room` has `n` members (the room list says so). */
async function members(room, n) {
  for (let i = 0; i < 200; i++) {
    const rooms = await (await fetch(`${env.server.url}/api/rooms`)).json();
    if (rooms.find((r) => r.name === room)?.peers === n) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${room} never had ${n} members`);
}

const logHas = (page, text) =>
  page.waitForFunction((t) => [...document.querySelectorAll('#log li')].some((li) => li.textContent === t), text, { timeout: 15000 });

test('two simple-peer pages signal through /broadcast/{room} and open a data channel', async () => {
  const bystander = await openExample('room=elsewhere');
  const answerer = await openExample('room=pair');
  // The answering page is in the room before the initiator sends its offer (as with the classic
  // broadcast server, a frame reaches only those connected when it is sent).
  await members('pair', 1);
  const initiator = await openExample('room=pair&initiator=1');
  for (const page of [answerer, initiator]) {
    await page.waitForFunction(() => document.querySelector('#state').textContent === 'connected', null, { timeout: 15000 });
  }
  await initiator.fill('#message', 'hello through simple-peer');
  await initiator.press('#message', 'Enter');
  await logHas(answerer, 'them: hello through simple-peer');
  await answerer.fill('#message', 'and back');
  await answerer.press('#message', 'Enter');
  await logHas(initiator, 'them: and back');
  assert.equal(await bystander.textContent('#state'), 'signaling', 'another room heard nothing');
  const rooms = await (await fetch(`${env.server.url}/api/rooms`)).json();
  assert.equal(rooms.find((r) => r.name === 'pair').peers, 2, 'broadcast clients are members of their room');
  for (const page of [bystander, answerer, initiator]) await page.context().close();
});
