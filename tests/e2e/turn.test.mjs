// Members behind NATs that only TURN gets through: Switchboard hands each member short-lived
// credentials for coturn (TURN REST scheme) in `welcome`. Pages that may use TURN relays only
// (iceTransportPolicy "relay", as if nothing else got through) chat in a mesh room and in a relay
// room, over a selected candidate pair whose local side is a TURN relay; an expired credential
// gets no relay at all.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startServer, launchBrowser, startTurn, say, waitForTexts, waitForConnected } from './helpers.mjs';

const SECRET = 'a-turn-secret-shared-with-coturn';
const env = {};

before(async () => {
  env.turn = await startTurn(SECRET);
  env.server = await startServer(`
[turn]
urls = ["${env.turn.url}"]
secret = "${SECRET}"
ttl = "10m"

[[rooms]]
name = "mesh"
topology = "mesh"

[[rooms]]
name = "served"
topology = "relay"
`);
  env.browser = await launchBrowser();
});

after(async () => {
  await env.browser?.close();
  await env.server?.stop();
  await env.turn?.stop();
});

/** A page whose peer connections may use TURN relays only. */
async function relayOnlyPage() {
  const context = await env.browser.newContext();
  await context.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    window.RTCPeerConnection = function RelayOnly(config = {}) {
      return new Native({ ...config, iceTransportPolicy: 'relay' });
    };
    window.RTCPeerConnection.prototype = Native.prototype;
  });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err.message));
  await page.goto(env.server.url);
  return page;
}

async function enterRelayOnly(room, name) {
  const page = await relayOnlyPage();
  await page.fill('#room-input', room);
  await page.fill('#name-input', name);
  await page.click('#join-button');
  await page.waitForSelector('#chat-view:not([hidden])', { timeout: 15000 });
  return page;
}

/** The local candidate type of every link's selected pair. */
function selectedLocalTypes(page) {
  return page.evaluate(async () => {
    const types = [];
    for (const link of window.switchboard.peers.links.values()) {
      if (!link.pc) continue;
      const stats = await link.pc.getStats();
      let pairId = null;
      stats.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
      });
      const pair = pairId && stats.get(pairId);
      types.push(pair ? stats.get(pair.localCandidateId)?.candidateType : `none (${link.state}, ${link.pc.connectionState})`);
    }
    return types;
  });
}

test('welcome carries TURN credentials by the TURN REST scheme', async () => {
  const page = await enterRelayOnly('probing', 'probe');
  const servers = await page.evaluate(() => window.switchboard.peers.iceServers);
  const turn = servers.find((s) => s.urls.includes(env.turn.url));
  assert.ok(turn, JSON.stringify(servers));
  const [expiry, id] = turn.username.split(':');
  assert.equal(id, await page.evaluate(() => window.switchboard.peers.me));
  const left = Number(expiry) - Date.now() / 1000;
  assert.ok(left > 590 && left <= 600, `valid for ${left} s`);
  assert.equal(turn.credential, createHmac('sha1', SECRET).update(turn.username).digest('base64'));
  await page.context().close();
});

test('pages that can use TURN relays only chat in a mesh room and in a relay room', async () => {
  for (const room of ['mesh', 'served']) {
    const ann = await enterRelayOnly(room, 'ann');
    const ben = await enterRelayOnly(room, 'ben');
    // Shown as "relayed": the link goes through the TURN server.
    await waitForConnected(ann, 1, 20000, 'relayed');
    await waitForConnected(ben, 1, 20000, 'relayed');
    await say(ann, `hello through TURN in ${room}`);
    await say(ben, `and back through TURN in ${room}`);
    for (const page of [ann, ben]) {
      await waitForTexts(page, [`hello through TURN in ${room}`, `and back through TURN in ${room}`], 15000);
      const types = await selectedLocalTypes(page);
      assert.ok(types.length > 0 && types.every((t) => t === 'relay'), `${room}: local candidates ${types}`);
    }
    for (const page of [ann, ben]) await page.context().close();
  }
});

test('an expired credential gets no TURN relay', async () => {
  const page = await relayOnlyPage();
  const relayCandidates = (iceServer) =>
    page.evaluate(async (server) => {
      const pc = new RTCPeerConnection({ iceServers: [server], iceTransportPolicy: 'relay' });
      const found = [];
      pc.onicecandidate = (e) => e.candidate && found.push(e.candidate.type);
      pc.createDataChannel('probe');
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise((resolve) => {
        pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
        setTimeout(resolve, 5000);
      });
      pc.close();
      return found.filter((t) => t === 'relay').length;
    }, iceServer);
  const signed = (expiry) => {
    const username = `${expiry}:probe`;
    return { urls: [env.turn.url], username, credential: createHmac('sha1', SECRET).update(username).digest('base64') };
  };
  const now = Math.floor(Date.now() / 1000);
  assert.ok((await relayCandidates(signed(now + 600))) > 0, 'a fresh credential gets a relay');
  assert.equal(await relayCandidates(signed(now - 60)), 0, 'an expired one does not');
  await page.context().close();
});
