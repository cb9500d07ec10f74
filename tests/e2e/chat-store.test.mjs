// The browser client's chat store on its own (plain Node, no browser): own messages are pending
// until confirmed, fail when written out and unconfirmed for too long, and can be retried.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatStore, FAIL_AFTER_MS } from '../../static/chat-store.js';

test('an own message: pending, then failed if unconfirmed, retried, then delivered', () => {
  const store = new ChatStore();
  let changes = 0;
  store.addEventListener('change', () => (changes += 1));
  const msg = store.compose('me', 'ann', 'hello');
  store.add(msg, true);
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
