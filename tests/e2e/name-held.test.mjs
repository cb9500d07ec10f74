// A page that lost its socket and cannot resume (its token is gone) finds its name still held by
// its own old seat: that `name_taken` is not final. The page keeps saying "reconnecting" and
// tries again until the server gives the seat up, then is back in the room, never thrown out.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndBrowser, enter, say, waitForTexts } from './helpers.mjs';

// Seats of closed sockets are held 3 s (the default is 5 s) so that the test is short.
const env = serverAndBrowser(`
[session]
resume_after_close = "3s"

[[rooms]]
name = "held"
topology = "relay"
`);

test('a name_taken while reconnecting is retried until the old seat is given up', async () => {
  const cat = await enter(env.browser, env.server, 'held', 'cat');
  const dan = await enter(env.browser, env.server, 'held', 'dan');
  const firstId = await cat.evaluate(() => window.switchboard.peers.me);
  await cat.evaluate(() => {
    const pill = document.querySelector('#status');
    window.statesSeen = [];
    new MutationObserver(() => window.statesSeen.push(pill.dataset.state)).observe(pill, { attributes: true });
    // The token is lost (as when storage is cleared), then the socket: the rejoin cannot resume.
    const s = window.switchboard.signaling;
    s.setSeat('held', null);
    s.drop(s.ws);
  });
  const started = Date.now();
  await cat.waitForFunction(() => window.switchboard.peers.me && window.switchboard.signaling.joined, null, { timeout: 15000 });
  await cat.waitForSelector('#status[data-state="connected"]', { timeout: 15000 });
  const took = Date.now() - started;
  const seen = await cat.evaluate(() => window.statesSeen);
  assert.ok(seen.includes('reconnecting'), `the page said it was reconnecting: ${seen}`);
  assert.ok(!seen.includes('idle'), `the page was never thrown out of the room: ${seen}`);
  assert.equal(await cat.isVisible('#error'), false, 'no error banner');
  assert.ok(took >= 2500, `back only once the old seat was given up (${took} ms)`);
  assert.notEqual(await cat.evaluate(() => window.switchboard.peers.me), firstId, 'a new membership');
  await say(cat, 'cat is back');
  await waitForTexts(dan, ['cat is back'], 15000);
  for (const page of [cat, dan]) await page.context().close();
});
