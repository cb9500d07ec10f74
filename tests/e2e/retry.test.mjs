// A link the relay refuses is shown and retried by the page, and gets through once the cause is
// gone (issue 18). The relay takes one connection per address here, and every page is 127.0.0.1.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndBrowser, enter, say, members, waitForTexts, waitForConnected, screenshot } from './helpers.mjs';

// The first line continues the [relay] table of the test config.
const env = serverAndBrowser(`max_members_per_address = 1

[[rooms]]
name = "r"
topology = "relay"
`);

test('a refused relay link says so, retries with backoff and connects once a slot is free', async () => {
  const ann = await enter(env.browser, env.server, 'r', 'ann');
  await waitForConnected(ann, 1);
  const ben = await enter(env.browser, env.server, 'r', 'ben');
  // Ben is told, in the chat and in the member list, and nothing modal is shown.
  await ben.waitForSelector('#messages li.notice >> text=/Connection to the server failed .*retrying/', { timeout: 15000 });
  await ben.waitForSelector('#members .state[data-state="retrying"]', { timeout: 15000 });
  assert.equal(await ben.isVisible('#error'), false, 'no error banner for a link failure');
  // The failed link has a Retry button: a click offers it again at once, not when the backoff is up.
  const clicked = await ben.waitForFunction(() => {
    const button = document.querySelector('#members li[data-peer="relay"] button.retry-link');
    if (!button) return false; // between attempts only
    button.click();
    return { offering: window.switchboard.peers.links.has('relay') };
  }, null, { timeout: 15000, polling: 20 });
  assert.deepEqual(await clicked.jsonValue(), { offering: true });
  const file = await screenshot(ben, 'retry-refused.png');
  console.log(`screenshot: ${file}`);

  await say(ben, 'typed while refused');
  await ann.context().close(); // frees the address's one relay connection
  await waitForConnected(ben, 1, 20000);
  await ben.waitForSelector('#messages li.chat.own:not(.pending) >> text=typed while refused', { timeout: 15000 });

  // The relay kept it: a later member sees it in the history (once ben's slot is free).
  await ben.context().close();
  const cy = await enter(env.browser, env.server, 'r', 'cy');
  await waitForTexts(cy, ['typed while refused']);
  assert.ok((await members(cy)).some((m) => m.text.startsWith('Server')));
  await cy.context().close();
});
