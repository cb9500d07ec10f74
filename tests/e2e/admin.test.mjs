// The admin API as an operator uses it against real pages: an announcement shows in every page,
// a kicked page says why it was removed (and does not come back by itself), and the others see
// that it was removed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndBrowser, enter, waitForConnected, screenshot } from './helpers.mjs';

const KEY = 'an-admin-key-for-e2e-tests';
const env = serverAndBrowser(`
[admin]
key = "${KEY}"

[[rooms]]
name = "lobby"
topology = "mesh"
`);

async function admin(method, path, body) {
  const res = await fetch(`${env.server.url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const notices = (page) => page.$$eval('#messages li.notice', (items) => items.map((li) => li.lastChild.textContent));

test('an announcement shows in every page; a kicked page says why and stays out', async () => {
  const ann = await enter(env.browser, env.server, 'lobby', 'ann');
  const bob = await enter(env.browser, env.server, 'lobby', 'bob');
  await waitForConnected(ann, 1);
  const listed = await admin('GET', '/rooms/lobby');
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.body.members.map((m) => m.name), ['ann', 'bob']);

  assert.equal((await admin('POST', '/rooms/lobby/announce', { text: 'Server restarts at 18:00' })).status, 200);
  for (const page of [ann, bob]) {
    await page.waitForFunction(
      () => [...document.querySelectorAll('#messages li.notice')].some((li) => li.textContent.includes('Announcement: Server restarts at 18:00')),
      null,
      { timeout: 5000 },
    );
  }

  const bobId = await bob.evaluate(() => window.switchboard.peers.me);
  const seen = (await notices(ann)).length;
  const kicked = await admin('POST', '/rooms/lobby/kick', { peer_id: bobId, reason: 'please keep it civil' });
  assert.equal(kicked.status, 200);
  await bob.waitForSelector('#error:not([hidden])', { timeout: 5000 });
  const banner = await bob.$eval('#error-text', (e) => e.textContent);
  assert.match(banner, /removed from #lobby: please keep it civil/);
  await bob.waitForSelector('#join-view', { state: 'visible', timeout: 2000 });
  assert.equal(await bob.isVisible('#chat-view'), false, 'back at the join form');
  await ann.waitForFunction(
    () => [...document.querySelectorAll('#messages li.notice')].some((li) => li.textContent.includes('bob was removed by an operator')),
    null,
    { timeout: 5000 },
  );
  await screenshot(bob, 'admin-kicked.png');
  // It does not come back by itself.
  await new Promise((r) => setTimeout(r, 2500));
  const after = await admin('GET', '/rooms/lobby');
  assert.deepEqual(after.body.members.map((m) => m.name), ['ann']);
  const news = (await notices(ann)).slice(seen).filter((n) => n.includes('bob joined'));
  assert.deepEqual(news, [], 'bob did not come back');
  for (const page of [ann, bob]) await page.context().close();
});
