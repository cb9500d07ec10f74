// What goes over the data channels: our own messages until confirmed (to the host or relay, whose
// ack confirms them; in a mesh or as host, written to every member's channel), and the frames
// that come in, accepted by who may send what in this topology. The links themselves, the
// topology and the roster are the PeerManager's (peers.js); this reads them.

const RELAY = 'relay';
// A history frame holds messages up to about this size; more go in more frames.
const HISTORY_FRAME_BYTES = 16 * 1024;

export class ChatRouter {
  constructor(peers, store) {
    this.peers = peers;
    this.store = store;
    this.reset();
  }

  // Mesh, or as host: own message id -> the members it has been written to. (Peer ids are new
  // after a rejoin, so it starts empty and unconfirmed messages go to everyone again.)
  reset() {
    this.delivered = new Map();
  }

  // As host of a host room: the room's recent chat to member `id`, whose link just opened (after
  // an election too, from what this page has), in frames of HISTORY_FRAME_BYTES; the member
  // drops what it has seen already.
  sendHistory(id) {
    let frame = [];
    let bytes = 0;
    const flush = () => {
      if (frame.length) this.peers.sendTo(id, JSON.stringify({ type: 'history', messages: frame }));
      frame = [];
      bytes = 0;
    };
    const recent = this.store.recent();
    console.debug(`switchboard: history to ${id}: ${recent.length} messages`);
    for (const wire of recent) {
      const n = JSON.stringify(wire).length;
      if (bytes + n > HISTORY_FRAME_BYTES) flush();
      frame.push(wire);
      bytes += n;
    }
    flush();
  }

  // Whether our own messages are confirmed here (mesh, or hosting) rather than by a host's ack.
  confirmsOwn() {
    return this.peers.topology === 'mesh' || this.peers.iAmHost();
  }

  // Sends a chat line as this topology wants, and shows it at once, as pending until confirmed.
  send(text) {
    const msg = this.store.compose(this.peers.me, this.peers.name, text);
    this.store.add(msg, { from: this.peers.me, name: this.peers.name, own: true });
    this.store.track(msg);
    if (this.confirmsOwn()) this.flushOwn();
    else this.sendToHost([msg]);
  }

  // Sends a failed message again.
  retry(id) {
    this.store.retrying(id);
    this.delivered.delete(id);
    if (this.confirmsOwn()) this.flushOwn();
    else this.sendToHost(this.store.pending().filter((m) => m.id === id));
  }

  // As a member of a host or relay room: `msgs` (own, unconfirmed) to the host, if its channel
  // is open; its ack confirms each. What it misses goes when the channel (re)opens.
  sendToHost(msgs) {
    if (!this.peers.host || !this.peers.writable(this.peers.host)) return;
    const { dc } = this.peers.links.get(this.peers.host);
    for (const msg of msgs) {
      dc.send(JSON.stringify(msg));
      this.store.sent(msg.id);
    }
  }

  // Mesh, or as host: writes each unconfirmed own message to every member with an open channel
  // that has not had it; a message every member has had is confirmed.
  flushOwn() {
    const members = [...this.peers.members.keys()];
    for (const msg of this.store.pending()) {
      const had = this.delivered.get(msg.id) ?? new Set();
      this.delivered.set(msg.id, had);
      const frame = JSON.stringify({ ...msg, from: this.peers.me }); // from us as we are now
      for (const id of members) {
        if (!had.has(id) && this.peers.writable(id)) {
          this.peers.links.get(id).dc.send(frame);
          had.add(id);
        }
      }
      if (members.every((id) => had.has(id))) {
        this.delivered.delete(msg.id);
        this.store.acked(msg.id);
      } else if (had.size > 0 && !this.store.sentAt.has(msg.id)) {
        this.store.sent(msg.id); // out to some: the others have FAIL_AFTER_MS to connect
      }
    }
  }

  // A frame on the data channel of the link to `from`. Who may send what follows the topology:
  // in a mesh every member sends its own chat (its identity is the link); in host and relay rooms
  // only the host (or the relay) sends chat, acks, history and errors, and stamps who wrote each
  // message. Anything else is dropped.
  onChannel(from, raw) {
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      return this.dropped(from, 'not JSON');
    }
    if (!msg || typeof msg !== 'object') return this.dropped(from, 'not an object');
    if (msg.type === 'hello') return; // a channel's first frame (peers.js: HELLO_WAIT_MS)
    const fromHost = from === this.peers.host && !this.peers.iAmHost();
    if (msg.type === 'chat' && this.peers.iAmHost()) {
      this.forwardAsHost(from, msg);
    } else if (msg.type === 'chat' && this.peers.topology === 'mesh') {
      this.store.add(msg, { from, name: this.peers.members.get(from) ?? '?' });
    } else if (!fromHost) {
      this.dropped(from, `${msg.type} from a member that is not the host`);
    } else if (msg.type === 'chat') {
      this.addStamped(msg);
      if (from === RELAY) this.peers.sawSeq(msg.seq);
    } else if (msg.type === 'ack') {
      this.store.acked(msg.id, msg.seq);
    } else if (msg.type === 'history' && Array.isArray(msg.messages)) {
      console.debug(`switchboard: history from ${from}: ${msg.messages.length} messages`);
      for (const m of msg.messages) this.addStamped(m, true);
      if (from === RELAY) for (const m of msg.messages) this.peers.sawSeq(m?.seq);
    } else if (msg.type === 'error') {
      // The relay refused something we sent (too large, too fast): that message failed.
      if (typeof msg.id === 'string') this.store.refused(msg.id);
      const message = typeof msg.message === 'string' ? msg.message : 'refused';
      this.peers.dispatchEvent(new CustomEvent('refused', { detail: { code: String(msg.code), message } }));
    } else {
      this.dropped(from, `unknown frame ${msg.type}`);
    }
  }

  dropped(from, why) {
    console.debug(`switchboard: dropped a frame from ${from}: ${why}`);
  }

  // A message the host or relay forwarded, with `from` stamped by it. The name shown is the
  // roster's for that member; the stamp's only for someone no longer in the room. `earlier`:
  // from a history (shown above the notices of our arrival).
  addStamped(m, earlier = false) {
    if (typeof m?.from !== 'string') return;
    const name =
      m.from === this.peers.me ? this.peers.name : this.peers.members.get(m.from) ?? (typeof m.name === 'string' ? m.name : '?');
    this.store.add(m, { from: m.from, name, own: m.from === this.peers.me, earlier });
  }

  // As host: stamp the sender's real identity, show it, forward to the others, ack the sender.
  // Only the chat fields are forwarded, never whatever else the sender put in the frame.
  forwardAsHost(from, msg) {
    if (typeof msg.id !== 'string') return this.dropped(from, 'chat without an id');
    const name = this.peers.members.get(from) ?? '?';
    const stamped = { type: 'chat', id: msg.id, from, name, text: msg.text, ts: msg.ts };
    if (this.store.add(stamped, { from, name })) {
      const frame = JSON.stringify(stamped);
      for (const id of this.peers.links.keys()) if (id !== from) this.peers.sendTo(id, frame);
    }
    this.peers.sendTo(from, JSON.stringify({ type: 'ack', id: msg.id }));
  }
}
