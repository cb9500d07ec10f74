// The Rust client (`switchboard chat --json`) and Chromium pages in the same rooms, every topology,
// both directions; and a Rust client that hosts a room, forwards between pages, then quits.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  serverAndBrowser, enter, say, members, waitForTexts, waitForConnected, textCounts, assertShownOnce,
  startRustClient, screenshot, BIN,
} from './helpers.mjs';

const env = serverAndBrowser(`
[[rooms]]
name = "rc-mesh"
topology = "mesh"

[[rooms]]
name = "rc-host"
topology = "host"

[[rooms]]
name = "rc-relay"
topology = "relay"

[[rooms]]
name = "rc-failover"
topology = "host"
on_host_leave = "relay"
`);

// alice (page) joins first, then the Rust client, then bob (page); everyone says something.
for (const topology of ['mesh', 'host', 'relay']) {
  test(`${topology}: a Rust client and two pages chat in both directions`, async () => {
    const room = `rc-${topology}`;
    const alice = await enter(env.browser, env.server, room, 'alice');
    const rusty = startRustClient(env.server, room, 'rusty');
    await rusty.until((ev) => ev.some((e) => e.event === 'joined'), 'joined');
    const bob = await enter(env.browser, env.server, room, 'bob');
    // mesh: links to both pages; host: to alice; relay: to the relay.
    await rusty.waitForOpenLinks(topology === 'mesh' ? 2 : 1);
    await waitForConnected(bob, topology === 'mesh' ? 2 : 1);
    await waitForConnected(alice, topology === 'host' ? 2 : 1);

    rusty.say(`rust in ${topology}`);
    await say(alice, `alice in ${topology}`);
    await say(bob, `bob in ${topology}`);
    const all = [`rust in ${topology}`, `alice in ${topology}`, `bob in ${topology}`];
    for (const page of [alice, bob]) {
      await waitForTexts(page, all);
      for (const [text, n] of await textCounts(page)) assert.equal(n, 1, `${text} shown ${n} times`);
    }
    await rusty.waitForTexts([`alice in ${topology}`, `bob in ${topology}`]);
    const fromRust = rusty.events.find((e) => e.event === 'chat' && e.message.text === `bob in ${topology}`);
    assert.equal(fromRust.message.name, 'bob');
    const rustRow = (await members(alice)).find((m) => m.text.startsWith('rusty'));
    assert.ok(rustRow, 'the Rust client is in the page member list');

    assert.equal(await rusty.quit(), 0);
    await alice.waitForFunction(() => ![...document.querySelectorAll('#members li .name')].some((n) => n.textContent.startsWith('rusty')));
    await alice.context().close();
    await bob.context().close();
  });
}

test('a Rust client elected host forwards between pages; when it quits the relay takes over', async () => {
  const rusty = startRustClient(env.server, 'rc-failover', 'rusty');
  await rusty.until((ev) => ev.some((e) => e.event === 'joined'), 'joined');
  const alice = await enter(env.browser, env.server, 'rc-failover', 'alice');
  const bob = await enter(env.browser, env.server, 'rc-failover', 'bob');
  const hostRow = (await members(alice)).find((m) => m.host);
  assert.match(hostRow.text, /^rusty/);
  await rusty.waitForOpenLinks(2);
  await waitForConnected(alice, 1);
  await waitForConnected(bob, 1);

  const expected = ['alice via rust', 'bob via rust', 'rust hosts'];
  await say(alice, 'alice via rust');
  await say(bob, 'bob via rust');
  rusty.say('rust hosts');
  for (const page of [alice, bob]) await waitForTexts(page, expected);
  await rusty.waitForTexts(['alice via rust', 'bob via rust']);
  // A page joining late gets the Rust host's recent chat.
  const cy = await enter(env.browser, env.server, 'rc-failover', 'cy');
  await waitForTexts(cy, expected);
  await assertShownOnce(cy, expected);
  await cy.context().close();

  assert.equal(await rusty.quit(), 0);
  for (let i = 0; i < 10; i++) {
    for (const [who, page] of [['alice', alice], ['bob', bob]]) {
      expected.push(`${who} after ${i}`);
      await say(page, `${who} after ${i}`);
    }
  }
  for (const page of [alice, bob]) {
    await page.waitForSelector('#members li[data-peer="relay"] .state[data-state="connected"]', { timeout: 15000 });
    await waitForTexts(page, expected);
    await assertShownOnce(page, expected);
  }
  await screenshot(alice, 'chat-rust-host-failover.png');
  await alice.context().close();
  await bob.context().close();
});

test('the example bot (examples/echo_bot.rs) answers a page', async () => {
  const bot = spawn(path.join(path.dirname(BIN), 'examples', 'echo_bot'), [env.server.wsUrl, 'rc-relay'], {
    env: { ...process.env, BOT_LOOPBACK: '1', RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise((resolve, reject) => {
      bot.stdout.once('data', resolve);
      bot.once('exit', (code) => reject(new Error(`echo_bot exited with ${code}`)));
    });
    const ava = await enter(env.browser, env.server, 'rc-relay', 'ava');
    await waitForConnected(ava, 1);
    await waitForTexts(ava, ['welcome, ava!']);
    await say(ava, '!echo is anybody there?');
    await waitForTexts(ava, ['ava said: is anybody there?']);
    await ava.context().close();
  } finally {
    bot.kill('SIGINT');
  }
});
