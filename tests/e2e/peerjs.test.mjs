// PeerJS apps pointed at Switchboard, unchanged: the example page (examples/peerjs/) with the
// npm package `peerjs` (served to the page from node_modules), in real Chromium. Ids come from
// Switchboard, a DataConnection opens and carries messages both ways, a third peer sees the first
// leave, a taken id is refused as PeerServer refuses it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { serverAndBrowser, exampleSite, ROOT } from './helpers.mjs';

// Switchboard serves the browser client and the example (as a deployment would serve its app).
const site = exampleSite('peerjs');
const env = serverAndBrowser(`
[peerjs]
enabled = true
allow_discovery = true
`, site);

const PEERJS = readFileSync(path.join(ROOT, 'tests/e2e/node_modules/peerjs/dist/peerjs.min.js'));

/** The example page from Switchboard, with the `peerjs` package from node_modules (not its CDN). */
async function openExample(query = '') {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err.message));
  await page.route('https://unpkg.com/**', (route) => route.fulfill({ body: PEERJS, contentType: 'text/javascript' }));
  await page.goto(`${env.server.url}/examples/peerjs/index.html?no-ice${query}`);
  return page;
}

const state = (page) => page.textContent('#state');
const myId = (page) => page.textContent('#my-id');
const logHas = (page, text) =>
  page.waitForFunction((t) => [...document.querySelectorAll('#log li')].some((li) => li.textContent === t), text, { timeout: 15000 });

async function ready(page) {
  await page.waitForFunction(() => document.querySelector('#state').textContent !== 'connecting', null, { timeout: 15000 });
  if ((await state(page)) !== 'ready') console.log('log:', await page.$$eval('#log li', (l) => l.map((x) => x.textContent)));
  assert.equal(await state(page), 'ready');
  return myId(page);
}

async function say(page, text) {
  await page.fill('#message', text);
  await page.press('#message', 'Enter');
}

test('two PeerJS pages get ids from Switchboard, connect and chat both ways; a third sees the first leave', async () => {
  const ann = await openExample();
  const ben = await openExample();
  const annId = await ready(ann);
  const benId = await ready(ben);
  assert.match(annId, /^[0-9a-f]{32}$/, 'an id made by Switchboard');
  assert.notEqual(annId, benId);

  await ann.fill('#peer-id', benId);
  await ann.click('#connect');
  await logHas(ann, `connected to ${benId}`);
  await logHas(ben, `connected to ${annId}`);
  await say(ann, 'hello over PeerJS');
  await logHas(ben, `${annId}: hello over PeerJS`);
  await say(ben, 'and back');
  await logHas(ann, `${benId}: and back`);

  // A third, with an id of its own choosing, connects to ann.
  const cy = await openExample('&id=cy');
  assert.equal(await ready(cy), 'cy');
  const listed = await (await fetch(`${env.server.url}/peerjs/peerjs/peers`)).json();
  assert.deepEqual([...listed].sort(), [annId, benId, 'cy'].sort());
  await cy.fill('#peer-id', annId);
  await cy.click('#connect');
  await logHas(cy, `connected to ${annId}`);
  // PeerJS peers are members like any, counted in /metrics; their room is not offered to the
  // chat page's room list.
  const metrics = await (await fetch(`${env.server.url}/metrics`)).text();
  assert.match(metrics, /^switchboard_members 3$/m);
  const rooms = await (await fetch(`${env.server.url}/api/rooms`)).json();
  assert.equal(rooms.find((r) => r.name === 'peerjs'), undefined);

  await ann.context().close();
  await logHas(cy, `${annId} left`);
  await logHas(ben, `${annId} left`);
  for (const page of [ben, cy]) await page.context().close();
});

test('an id in use is refused as PeerServer refuses it (ID-TAKEN: unavailable-id)', async () => {
  const first = await openExample('&id=dora');
  assert.equal(await ready(first), 'dora');
  const second = await openExample('&id=dora');
  await second.waitForFunction(() => document.querySelector('#state').textContent.startsWith('error'), null, { timeout: 15000 });
  assert.equal(await state(second), 'error: unavailable-id');
  // An id nobody has: the connecting page is told the peer is unavailable.
  await first.fill('#peer-id', 'nobody-here');
  await first.click('#connect');
  await first.waitForFunction(() => document.querySelector('#state').textContent === 'error: peer-unavailable', null, { timeout: 15000 });
  for (const page of [first, second]) await page.context().close();
});

test('PeerServer\'s HTTP calls: a wrong key and a socket without an id are refused', async () => {
  const wrongKey = await fetch(`${env.server.url}/peerjs/nope/id`);
  assert.equal(wrongKey.status, 401);
  const id = await (await fetch(`${env.server.url}/peerjs/peerjs/id`)).text();
  assert.match(id, /^[0-9a-f]{32}$/);
  const about = await (await fetch(`${env.server.url}/peerjs`)).json();
  assert.equal(about.name, 'PeerJS Server');
  const page = await env.browser.newPage();
  await page.goto(`${env.server.url}/healthz`);
  const said = await page.evaluate(async (url) => {
    const first = (q) =>
      new Promise((resolve) => {
        const ws = new WebSocket(`${url}/peerjs/peerjs?${q}`);
        ws.onmessage = (e) => resolve(JSON.parse(e.data).type);
        ws.onclose = () => resolve('closed');
      });
    return [await first('key=nope&id=x&token=t'), await first('key=peerjs&token=t')];
  }, env.server.wsUrl.replace(/\/ws$/, ''));
  assert.deepEqual(said, ['INVALID-KEY', 'ERROR']);
  await page.close();
});
