// Chat store: the lines shown (chat, in arrival order, and notices), and our own messages until
// they are confirmed (by an ack from the host or relay, or, when we host or in a mesh, by being
// written to every member's channel).
//
// Trust: a chat record is built from a few whitelisted wire fields (`id`, `text`, `ts`, `seq`);
// its author (`from`, `name`) is given by the caller, who takes it from the link the message
// arrived on or from the host's or relay's stamp, never from the message. A message is known by
// (sender, id), so one member cannot suppress another's message by sending its id first. Notices
// are made only here, by `notice()`: nothing from the wire becomes one.
//
// Events (each with `detail` = the record, or the records for 'remove'):
//   'add'     a line was appended        'update'  a line's delivery state changed
//   'remove'  old lines dropped (cap)    'clear'   everything is gone
//   'reorder' a line went in above others (history above the notices of the join): every line

// An own message written out but unconfirmed this long, while the server can be reached, is
// shown as failed, with a retry.
export const FAIL_AFTER_MS = 15000;
// Lines kept (and shown); older ones are dropped, own unconfirmed messages excepted.
export const MAX_LINES = 2000;
// The recent chat a host gives a member whose link opens: at most this many messages, and about
// this many bytes (the oldest go first).
export const HISTORY_MESSAGES = 100;
export const HISTORY_BYTES = 64 * 1024;
// (sender, id) pairs remembered for dedupe, beyond the lines kept.
const MAX_REMEMBERED = 8 * MAX_LINES;
// Longest id and text a record keeps (the relay refuses longer ones; a peer might not).
export const MAX_ID_CHARS = 128;
export const MAX_TEXT_CHARS = 16384;

const key = (from, id) => `${from}\u0000${id}`;

export class ChatStore extends EventTarget {
  constructor(maxLines = MAX_LINES) {
    super();
    this.maxLines = maxLines;
    this.messages = []; // records, oldest first
    this.seen = new Map(); // key(from, id) -> record (or null once dropped), oldest first
    this.own = new Map(); // own id -> record
    this.byId = new Map(); // id -> the first record shown under it (of the lines kept)
    this.unacked = new Map(); // own id -> wire message, in send order
    this.sentAt = new Map(); // own id -> when an unconfirmed message last went out
    this.prefix = Math.random().toString(16).slice(2, 10) + Date.now().toString(16);
    this.counter = 0; // own ids
    this.lines = 0; // local line numbers (`n`), for the UI
    // Whether a peer id is still in the room; set by the connection manager. A message whose id
    // was shown from a departed peer with the same name is that person back after a rejoin.
    this.present = () => true;
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // A new outgoing message with a unique id.
  compose(from, name, text) {
    this.counter += 1;
    return { type: 'chat', id: `${this.prefix}-${this.counter}`, from, name, text, ts: Date.now() };
  }

  // Shows a chat message from `from` (called `name`) unless it was shown already. Only the
  // whitelisted fields of `wire` are read; a malformed one is not shown. Returns true if new.
  // `earlier`: from a history, so it goes above the notices at the end that are newer than it
  // ("You joined", "Ann is hosting"): the room's past reads before our arrival.
  add(wire, { from, name, own = false, earlier = false }) {
    const id = wire?.id;
    const text = wire?.text;
    if (typeof id !== 'string' || id === '' || id.length > MAX_ID_CHARS) return false;
    if (typeof text !== 'string' || text.length > MAX_TEXT_CHARS || typeof from !== 'string') return false;
    const k = key(from, id);
    if (this.seen.has(k) || this.returning(from, id, name)) return false;
    const ts = Number.isFinite(wire.ts) ? wire.ts : Date.now();
    const seq = Number.isSafeInteger(wire.seq) ? wire.seq : undefined;
    this.lines += 1;
    const record = { n: this.lines, kind: 'chat', id, from, name: String(name ?? '?'), text, ts, seq, own };
    this.remember(k, record);
    if (own) this.own.set(id, record);
    if (!this.byId.has(id)) this.byId.set(id, record);
    let at = this.messages.length;
    while (earlier && at > 0 && this.messages[at - 1].kind === 'notice' && this.messages[at - 1].ts > ts) at -= 1;
    if (at === this.messages.length) {
      this.messages.push(record);
      this.emit('add', record);
    } else {
      this.messages.splice(at, 0, record);
      this.emit('reorder', this.messages);
    }
    this.trim();
    return true;
  }

  // The same id shown from a peer who has left, under the same name: the same person, resending
  // after a rejoin gave them a new peer id. (Names are unique in a room, so no one present can
  // pass as them.)
  returning(from, id, name) {
    const m = this.byId.get(id);
    return !!m && m.from !== from && m.name === name && !this.present(m.from);
  }

  remember(k, record) {
    this.seen.set(k, record);
    if (this.seen.size > MAX_REMEMBERED) this.seen.delete(this.seen.keys().next().value);
  }

  // Drops the oldest lines beyond the cap (own unconfirmed messages stay).
  trim() {
    const removed = [];
    while (this.messages.length > this.maxLines) {
      const i = this.messages.findIndex((m) => !(m.own && this.unacked.has(m.id)));
      if (i < 0) break;
      const [old] = this.messages.splice(i, 1);
      if (old.kind === 'chat') this.seen.set(key(old.from, old.id), null);
      if (old.own) this.own.delete(old.id);
      if (this.byId.get(old.id) === old) this.byId.delete(old.id);
      removed.push(old);
    }
    if (removed.length) this.emit('remove', removed);
  }

  // Shows a line about the room (joins, leaves, host changes) between the messages.
  notice(text) {
    this.lines += 1;
    const record = { n: this.lines, kind: 'notice', text: String(text), ts: Date.now() };
    this.messages.push(record);
    this.emit('add', record);
    this.trim();
  }

  // Our own message `id`, if shown.
  shown(id) {
    return this.own.get(id);
  }

  update(record) {
    if (record) this.emit('update', record);
  }

  // Our own unconfirmed messages will go out again from a new peer id (after a rejoin): they are
  // known under it from now on, so an echo from the relay is recognised.
  rekeyOwn(from) {
    for (const id of this.unacked.keys()) {
      const mine = this.own.get(id);
      if (!mine || mine.from === from) continue;
      mine.from = from;
      this.remember(key(from, id), mine);
    }
  }

  // Our message `id` is confirmed (with the relay's seq, if it came from the relay).
  acked(id, seq) {
    if (typeof id !== 'string') return;
    this.unacked.delete(id);
    this.sentAt.delete(id);
    const mine = this.shown(id);
    if (mine) {
      mine.pending = false;
      mine.failed = false;
      if (Number.isSafeInteger(seq)) mine.seq = seq;
      this.update(mine);
    }
  }

  // Waits for a confirmation of `msg`, which is shown as pending meanwhile.
  track(msg) {
    this.unacked.set(msg.id, msg);
    const mine = this.shown(msg.id);
    if (mine) {
      mine.pending = true;
      this.update(mine);
    }
  }

  // `msg` went out on a channel now: the wait for its confirmation starts (again).
  sent(id) {
    if (this.unacked.has(id)) this.sentAt.set(id, Date.now());
  }

  // Marks as failed what went out and stayed unconfirmed for FAIL_AFTER_MS.
  expire(now = Date.now()) {
    for (const [id, at] of this.sentAt) {
      const mine = this.shown(id);
      if (mine && !mine.failed && now - at > FAIL_AFTER_MS) {
        mine.failed = true;
        this.update(mine);
      }
    }
  }

  // The host or relay refused our message `id`: shown as failed, kept for a retry.
  refused(id) {
    const mine = this.shown(id);
    if (mine && this.unacked.has(id)) {
      mine.failed = true;
      this.update(mine);
    }
  }

  // A failed message is tried again: pending, not failed.
  retrying(id) {
    const mine = this.shown(id);
    this.sentAt.delete(id);
    if (mine) {
      mine.failed = false;
      this.update(mine);
    }
  }

  pending() {
    return [...this.unacked.values()];
  }

  // The recent chat as wire messages (stamped with who wrote each), oldest first, within
  // HISTORY_MESSAGES and HISTORY_BYTES.
  recent() {
    const out = [];
    let bytes = 0;
    for (let i = this.messages.length - 1; i >= 0 && out.length < HISTORY_MESSAGES; i -= 1) {
      const m = this.messages[i];
      if (m.kind !== 'chat') continue;
      const wire = { id: m.id, from: m.from, name: m.name, text: m.text, ts: m.ts };
      bytes += JSON.stringify(wire).length;
      if (bytes > HISTORY_BYTES) break;
      out.push(wire);
    }
    return out.reverse();
  }

  clear() {
    this.messages = [];
    this.seen.clear();
    this.own.clear();
    this.byId.clear();
    this.unacked.clear();
    this.sentAt.clear();
    this.emit('clear');
  }
}
