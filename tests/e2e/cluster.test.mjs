// A relay room over a cluster of three nodes and one Redis, in Chromium: two pages on the nodes
// that do not run the room's relay chat through it; that node is killed (`kill -9`) and another
// takes the room: a line typed meanwhile arrives, nothing shows twice, and a late page gets the
// whole history from Redis.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, enter, say, waitForTexts, assertShownOnce, screenshot } from './helpers.mjs';
import { startRedis } from './redis.mjs';

const env = {};
const IDS = ['a', 'b', 'c'];

before(async () => {
  env.redis = await startRedis();
  env.nodes = [];
  for (const id of IDS) {
    env.nodes.push(
      await startServer(`[storage]
backend = "redis"

[cluster]
redis_url = "${env.redis.url}"
node_id = "${id}"

[[rooms]]
name = "r"
topology = "relay"
`),
    );
  }
  env.browser = await launchBrowser();
});

after(async () => {
  await env.browser?.close();
  for (const node of env.nodes ?? []) await node.stop().catch(() => {});
  await env.redis?.stop();
});

/** The node whose relay holds room `r`, once one does. */
async function holder() {
  for (let i = 0; i < 100; i += 1) {
    const id = env.redis.cli('GET', 'switchboard:room:r:relay');
    if (IDS.includes(id)) return IDS.indexOf(id);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no node holds room r');
}

test('pages on two nodes chat through the relay of a third, which moves when its node dies', async () => {
  const owner = await holder();
  const [y, z] = [0, 1, 2].filter((i) => i !== owner);
  const ann = await enter(env.browser, env.nodes[y], 'r', 'Ann');
  const ben = await enter(env.browser, env.nodes[z], 'r', 'Ben');
  await say(ann, 'Ann: hello from node ' + IDS[y]);
  await say(ben, 'Ben: hello from node ' + IDS[z]);
  const first = ['Ann: hello from node ' + IDS[y], 'Ben: hello from node ' + IDS[z]];
  await waitForTexts(ann, first);
  await waitForTexts(ben, first);

  env.nodes[owner].kill();
  const killed = Date.now();
  await say(ann, 'Ann: while the relay moves');
  const all = [...first, 'Ann: while the relay moves'];
  await waitForTexts(ben, all, 20000);
  const moved = env.redis.cli('GET', 'switchboard:room:r:relay');
  assert.ok(IDS.includes(moved) && moved !== IDS[owner], `relay on ${moved}`);
  console.log(`the line typed at the kill reached Ben ${((Date.now() - killed) / 1000).toFixed(1)} s later (relay now on ${moved})`);
  await assertShownOnce(ann, all);
  await assertShownOnce(ben, all);

  const dee = await enter(env.browser, env.nodes[y], 'r', 'Dee');
  await waitForTexts(dee, all);
  await assertShownOnce(dee, all);
  await screenshot(ben, 'cluster-relay-moved.png');
});
