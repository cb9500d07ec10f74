// Chat store: the messages shown (deduped by id, in order), and our own messages waiting for an
// ack from the host or relay. Emits 'change' when the list changes.

export class ChatStore extends EventTarget {
  constructor() {
    super();
    this.messages = [];
    this.ids = new Set();
    this.unacked = new Map(); // id -> message, in send order
    this.prefix = Math.random().toString(16).slice(2, 10) + Date.now().toString(16);
    this.counter = 0;
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
    this.dispatchEvent(new Event('change'));
    return true;
  }

  // Shows a line about the room (joins, leaves, host changes) between the messages.
  notice(text) {
    this.counter += 1;
    this.messages.push({ id: `notice-${this.counter}`, notice: text, ts: Date.now() });
    this.dispatchEvent(new Event('change'));
  }

  // Records the relay's seq for one of ours, and stops waiting for it.
  acked(id, seq) {
    this.unacked.delete(id);
    const mine = this.messages.find((m) => m.id === id);
    if (mine) {
      mine.pending = false;
      if (seq != null) mine.seq = seq;
      this.dispatchEvent(new Event('change'));
    }
  }

  track(msg) {
    this.unacked.set(msg.id, msg);
    const mine = this.messages.find((m) => m.id === msg.id);
    if (mine) mine.pending = true;
  }

  pending() {
    return [...this.unacked.values()];
  }

  clear() {
    this.messages = [];
    this.ids.clear();
    this.unacked.clear();
    this.dispatchEvent(new Event('change'));
  }
}
