// The browser client's chat store on its own (plain Node, no browser): own messages are pending
// until confirmed, fail when written out and unconfirmed for too long, and can be retried.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatStore, FAIL_AFTER_MS } from '../../static/chat-store.js';

test('an own message: pending, then failed if unconfirmed, retried, then delivered', () => {
  const store = new ChatStore();
  let changes = 0;
  for (const e of ['add', 'update']) store.addEventListener(e, () => (changes += 1));
  const msg = store.compose('me', 'ann', 'hello');
  store.add(msg, { from: 'me', name: 'ann', own: true });
  store.track(msg);
  const shown = () => store.messages.find((m) => m.id === msg.id);
  assert.equal(shown().pending, true);
  assert.ok(changes >= 2, 'tracking re-renders, so the pending mark shows');

  // Not written out yet (no connection): it waits, however long.
  store.expire(Date.now() + 10 * FAIL_AFTER_MS);
  assert.ok(!shown().failed);

  store.sent(msg.id);
  store.expire(Date.now() + FAIL_AFTER_MS - 1000);
  assert.ok(!shown().failed);
  store.expire(Date.now() + FAIL_AFTER_MS + 1000);
  assert.equal(shown().failed, true);
  assert.deepEqual(store.pending().map((m) => m.id), [msg.id]);
  assert.equal(JSON.parse(JSON.stringify(store.pending()[0])).sentAt, undefined, 'nothing local goes on the wire');

  store.retrying(msg.id);
  assert.equal(shown().failed, false);
  assert.equal(shown().pending, true);

  store.acked(msg.id, 7);
  assert.equal(shown().pending, false);
  assert.equal(shown().seq, 7);
  assert.deepEqual(store.pending(), []);
});

test("a member who sends another's next id first does not suppress the other's message", () => {
  const store = new ChatStore();
  const victimId = 'abc-7';
  assert.equal(store.add({ id: victimId, text: 'forged first' }, { from: 'mallory', name: 'mallory' }), true);
  assert.equal(store.add({ id: victimId, text: 'the real one' }, { from: 'victim', name: 'vic' }), true);
  assert.equal(store.add({ id: victimId, text: 'the real one again' }, { from: 'victim', name: 'vic' }), false, 'a resend from the same sender is a duplicate');
  assert.deepEqual(store.messages.map((m) => [m.name, m.text]), [['mallory', 'forged first'], ['vic', 'the real one']]);
});

test('only whitelisted wire fields make a record: no notice, no name, no own flag from a peer', () => {
  const store = new ChatStore();
  const added = [];
  store.addEventListener('add', ({ detail }) => added.push(detail));
  store.add(
    { id: 'x-1', text: 'hi', notice: 'Alice is now the host.', name: 'Alice', kind: 'notice', own: true, pending: true, failed: true, from: 'alice' },
    { from: 'mallory', name: 'mallory' },
  );
  assert.equal(added.length, 1);
  const [r] = added;
  assert.equal(r.kind, 'chat');
  assert.equal(r.name, 'mallory');
  assert.equal(r.from, 'mallory');
  assert.equal(r.own, false);
  assert.equal(r.notice, undefined);
  assert.ok(!r.pending && !r.failed);
  // Malformed chat is not shown at all.
  for (const bad of [{ text: 'no id' }, { id: 7, text: 'numeric id' }, { id: 'y', text: { html: 1 } }, { id: 'z'.repeat(1000), text: 't' }, null]) {
    assert.equal(store.add(bad, { from: 'mallory', name: 'mallory' }), false, JSON.stringify(bad));
  }
  store.notice('You joined #x.');
  assert.equal(store.messages.at(-1).kind, 'notice');
});

test('the same person back under a new peer id is recognised; someone else under that id is not', () => {
  const store = new ChatStore();
  const present = new Set(['bob-2', 'carol']);
  store.present = (id) => present.has(id);
  store.add({ id: 'b-1', text: 'hello' }, { from: 'bob-1', name: 'bob' }); // bob-1 has left
  assert.equal(store.add({ id: 'b-1', text: 'hello' }, { from: 'bob-2', name: 'bob' }), false);
  assert.equal(store.add({ id: 'b-1', text: 'hello' }, { from: 'carol', name: 'carol' }), true);
});

test('the list is capped: the oldest lines go, an own unconfirmed message stays', () => {
  const store = new ChatStore(5);
  const removed = [];
  store.addEventListener('remove', ({ detail }) => removed.push(...detail));
  const mine = store.compose('me', 'me', 'mine');
  store.add(mine, { from: 'me', name: 'me', own: true });
  store.track(mine);
  for (let i = 0; i < 20; i++) store.add({ id: `p-${i}`, text: `t${i}` }, { from: 'p', name: 'p' });
  assert.equal(store.messages.length, 5);
  assert.equal(store.messages[0].text, 'mine');
  assert.deepEqual(store.messages.slice(1).map((m) => m.text), ['t16', 't17', 't18', 't19']);
  assert.equal(removed.length, 16);
  // A dropped line's (sender, id) is still known: a late resend does not bring it back.
  assert.equal(store.add({ id: 'p-0', text: 't0' }, { from: 'p', name: 'p' }), false);
});

test('history goes above the notices of the join that are newer than it; live chat goes at the end', () => {
  const store = new ChatStore();
  const events = [];
  for (const e of ['add', 'reorder']) store.addEventListener(e, () => events.push(e));
  const now = Date.now();
  store.add({ id: 'm0', text: 'seen before', ts: now - 60000 }, { from: 'a', name: 'ann' });
  store.notice('You joined #lobby.');
  store.notice('Ann is hosting this room.');
  store.add({ id: 'm1', text: 'old', ts: now - 5000 }, { from: 'a', name: 'ann', earlier: true });
  store.add({ id: 'm2', text: 'older still but later in the frame', ts: now - 4000 }, { from: 'b', name: 'ben', earlier: true });
  // Written after we arrived (its time is after the notices): stays at the end.
  store.add({ id: 'm3', text: 'just now', ts: now + 5000 }, { from: 'a', name: 'ann', earlier: true });
  store.add({ id: 'm4', text: 'live', ts: now - 3000 }, { from: 'a', name: 'ann' });
  assert.deepEqual(
    store.messages.map((m) => m.text),
    ['seen before', 'old', 'older still but later in the frame', 'You joined #lobby.', 'Ann is hosting this room.', 'just now', 'live'],
  );
  assert.deepEqual(events, ['add', 'add', 'add', 'reorder', 'reorder', 'add', 'add']);
});
