// Chat store: the messages shown (deduped by id, in order), and our own messages until they are
// confirmed (by an ack from the host or relay, or, when we host or in a mesh, by being written to
// every member's channel). Emits 'change' when the list changes.

// An own message written out but unconfirmed this long, while the server can be reached, is
// shown as failed, with a retry.
export const FAIL_AFTER_MS = 15000;

export class ChatStore extends EventTarget {
  constructor() {
    super();
    this.messages = [];
    this.ids = new Set();
    this.unacked = new Map(); // id -> message, in send order
    this.sentAt = new Map(); // id -> when an unconfirmed message last went out
    this.prefix = Math.random().toString(16).slice(2, 10) + Date.now().toString(16);
    this.counter = 0;
  }

  changed() {
    this.dispatchEvent(new Event('change'));
  }

  // A new outgoing message with a unique id.
  compose(from, name, text) {
    this.counter += 1;
    return { type: 'chat', id: `${this.prefix}-${this.counter}`, from, name, text, ts: Date.now() };
  }

  // Shows a message unless its id was already shown. Returns true if it was new.
  add(msg, own = false) {
    if (this.ids.has(msg.id)) return false;
    this.ids.add(msg.id);
    this.messages.push({ ...msg, own });
    this.changed();
    return true;
  }

  // Shows a line about the room (joins, leaves, host changes) between the messages.
  notice(text) {
    this.counter += 1;
    this.messages.push({ id: `notice-${this.counter}`, notice: text, ts: Date.now() });
    this.changed();
  }

  shown(id) {
    return this.messages.find((m) => m.id === id);
  }

  // Our message `id` is confirmed (with the relay's seq, if it came from the relay).
  acked(id, seq) {
    this.unacked.delete(id);
    this.sentAt.delete(id);
    const mine = this.shown(id);
    if (mine) {
      mine.pending = false;
      mine.failed = false;
      if (seq != null) mine.seq = seq;
      this.changed();
    }
  }

  // Waits for a confirmation of `msg`, which is shown as pending meanwhile.
  track(msg) {
    this.unacked.set(msg.id, msg);
    const mine = this.shown(msg.id);
    if (mine) {
      mine.pending = true;
      this.changed();
    }
  }

  // `msg` went out on a channel now: the wait for its confirmation starts (again).
  sent(id) {
    if (this.unacked.has(id)) this.sentAt.set(id, Date.now());
  }

  // Marks as failed what went out and stayed unconfirmed for FAIL_AFTER_MS.
  expire(now = Date.now()) {
    let any = false;
    for (const [id, at] of this.sentAt) {
      const mine = this.shown(id);
      if (mine && !mine.failed && now - at > FAIL_AFTER_MS) {
        mine.failed = true;
        any = true;
      }
    }
    if (any) this.changed();
  }

  // The host or relay refused our message `id`: shown as failed, kept for a retry.
  refused(id) {
    const mine = this.shown(id);
    if (mine && this.unacked.has(id)) {
      mine.failed = true;
      this.changed();
    }
  }

  // A failed message is tried again: pending, not failed.
  retrying(id) {
    const mine = this.shown(id);
    this.sentAt.delete(id);
    if (mine) {
      mine.failed = false;
      this.changed();
    }
  }

  pending() {
    return [...this.unacked.values()];
  }

  clear() {
    this.messages = [];
    this.ids.clear();
    this.unacked.clear();
    this.sentAt.clear();
    this.changed();
  }
}
