// Connection manager: one RTCPeerConnection per peer (or the relay) and the topology rules.
//   mesh  - the joiner offers to everyone already there; chat goes to every peer.
//   host  - members offer to the host, who forwards each message to the others and acks it;
//           on host_changed members offer to the new host and resend what was not acked.
//   relay - members offer to the server's peer "relay", which forwards, acks, and sends history.
// Emits 'links' when a link changes state, and 'retrying' ({id, attempt, delay, why}) when a
// failed link will be offered again, and 'refused' ({code, message}) when the relay refused a
// message. What goes over the channels (own messages until confirmed, incoming frames) is the
// ChatRouter's (chat-router.js); chat goes into the ChatStore.
//
// A link this page offered that fails (ICE/DTLS failed, the channel closed, the server reported
// an error about it such as relay_failed, or it was not open within LINK_TIMEOUT_MS) is offered
// again after 1 s, doubling up to 30 s with jitter, and from the first delay again once it opens.
// Only the offering side retries (members to the host or relay, the later joiner in a mesh).

import { isRelayed } from './link-path.js';
import { ChatRouter } from './chat-router.js';

const RELAY = 'relay';

const resumeKey = (room) => `switchboard:resume:${room}`;
export const LINK_TIMEOUT_MS = 20000;
const FIRST_RETRY_MS = 1000;
// On a channel the other side opened, nothing is written until its first frame arrives (it
// sends `hello` or `resume` at once) or this long has passed: Chromium loses, now and then, a
// frame written the moment such a channel opens (seen about once in ten: the host's history to
// a member who had just joined never left the browser).
export const HELLO_WAIT_MS = 500;
const MAX_RETRY_MS = 30000;

export class PeerManager extends EventTarget {
  constructor(signaling, store) {
    super();
    this.signaling = signaling;
    this.store = store;
    store.present = (id) => id === this.me || this.members.has(id);
    this.links = new Map(); // peer id -> {pc, dc, state, outbox, pending, remoteSet}
    // Room -> the last relay seq this page has seen there (where to resume after a reconnect).
    this.resumePoints = new Map();
    this.chat = new ChatRouter(this, store);
    this.room = null;
    this.reset();
    // Own messages written out and never confirmed turn into failed ones (while the server can be
    // reached; while it cannot, they wait as pending).
    setInterval(() => {
      if (this.signaling.connected()) this.store.expire();
      this.failLateLinks();
    }, 1000);
  }

  reset() {
    for (const id of [...this.links.keys()]) this.closeLink(id);
    for (const id of [...(this.retries?.keys() ?? [])]) this.forgetRetry(id);
    this.retries = new Map(); // peer id -> {failures, timer, due}
    this.failed = new Set(); // peers whose link failed and that offer it again themselves
    this.me = null;
    this.name = '';
    this.topology = null;
    this.host = null;
    this.members = new Map(); // id -> name (others)
    this.iceServers = [];
    this.chat.reset();
    this.changed();
  }

  changed() {
    this.dispatchEvent(new Event('links'));
  }

  iAmHost() {
    return this.topology === 'host' && this.host === this.me;
  }

  // Own messages not confirmed yet (typed while links were down, say) go out again after the
  // (re)join, to the host or to every member as the topology wants; receivers drop ids they have
  // already shown.
  welcome(w, name) {
    if (w.resumed && w.peer_id === this.me && w.room === this.room) return this.resumed(w);
    this.reset();
    this.room = w.room;
    this.me = w.peer_id;
    this.name = name;
    this.topology = w.topology;
    this.host = w.host;
    this.store.rekeyOwn(this.me);
    this.iceServers = w.ice_servers || [];
    for (const p of w.peers) this.members.set(p.id, p.name);
    if (this.topology === 'mesh') {
      for (const p of w.peers) this.offerTo(p.id);
    } else if (this.host && this.host !== this.me) {
      this.offerTo(this.host);
    }
    this.changed();
  }

  // Our seat came back on a new socket (same id, name, host role): the links that are open stay
  // (chat went on over them), the rest are dropped and, where we offer, offered again: in a mesh
  // to every member, else to the host.
  resumed(w) {
    this.topology = w.topology;
    this.host = w.host;
    this.iceServers = w.ice_servers || [];
    this.members = new Map(w.peers.map((p) => [p.id, p.name]));
    for (const [id, link] of [...this.links]) {
      const here = this.members.has(id) || id === this.host;
      if (!here || link.state !== 'connected') {
        this.closeLink(id);
        this.forgetRetry(id);
      }
    }
    const mine = this.topology === 'mesh' ? [...this.members.keys()] : this.host && this.host !== this.me ? [this.host] : [];
    for (const id of mine) if (!this.links.has(id)) this.offerTo(id).catch((err) => console.warn('offer to', id, err));
    if (this.chat.confirmsOwn()) this.chat.flushOwn();
    else this.chat.sendToHost(this.store.pending());
    this.changed();
  }

  // Member `id` resumed on a new socket: a link to it that is not open is dead. We offer it
  // again if it hosts and we are a member; otherwise it offers to us.
  peerReconnected(id) {
    if (this.links.get(id)?.state === 'connected') return;
    this.closeLink(id);
    this.forgetRetry(id);
    if (this.topology !== 'mesh' && id === this.host && !this.iAmHost()) {
      this.offerTo(id).catch((err) => console.warn('offer to', id, err));
    }
    this.changed();
  }

  peerJoined(peer) {
    this.members.set(peer.id, peer.name);
    this.changed();
  }

  peerLeft(id) {
    this.members.delete(id);
    this.closeLink(id);
    this.forgetRetry(id);
    if (this.chat.confirmsOwn()) this.chat.flushOwn(); // one member fewer to write to
    this.changed();
  }

  hostChanged(host) {
    if (this.host && this.host !== this.me) {
      this.closeLink(this.host);
      this.forgetRetry(this.host);
    }
    this.host = host;
    if (host !== this.me) {
      this.offerTo(host);
    } else {
      // Elected: what the old host never acked is ours to deliver now, to each member as its
      // channel opens.
      this.chat.flushOwn();
    }
    this.changed();
  }

  // Whether this page is the side that offers to `id` (and so retries it).
  offersTo(id) {
    if (this.topology === 'mesh') return !!this.links.get(id)?.offerer;
    return id === this.host && !this.iAmHost();
  }

  // The link to `id` failed: dropped, shown as failed, and offered again later if we offered it.
  linkFailed(id, why) {
    if (!this.links.has(id)) return;
    const retry = this.offersTo(id);
    this.closeLink(id);
    if (!retry) {
      this.failed.add(id);
      return this.changed();
    }
    const r = this.retries.get(id) ?? { failures: 0, timer: null };
    r.failures += 1;
    const base = Math.min(FIRST_RETRY_MS * 2 ** (r.failures - 1), MAX_RETRY_MS);
    const delay = Math.round(base * (1 + Math.random() * 0.2));
    clearTimeout(r.timer);
    r.due = Date.now() + delay;
    r.timer = setTimeout(() => {
      r.timer = null;
      // In a mesh the failed link (and so offersTo) is gone: the peer must still be in the room.
      const wanted = this.topology === 'mesh' ? this.members.has(id) : this.offersTo(id);
      if (wanted && !this.links.has(id)) this.offerTo(id).catch((err) => console.warn('offer to', id, err));
    }, delay);
    this.retries.set(id, r);
    this.dispatchEvent(new CustomEvent('retrying', { detail: { id, attempt: r.failures, delay, why } }));
    this.changed();
  }

  // The user asked to try the failed link to `id` again now, not when its backoff is up.
  retryLink(id) {
    if (!this.retries.get(id)?.timer) return;
    this.forgetRetry(id);
    if (!this.links.has(id)) this.offerTo(id).catch((err) => console.warn('offer to', id, err));
  }

  forgetRetry(id) {
    this.failed?.delete(id);
    const r = this.retries?.get(id);
    if (!r) return;
    clearTimeout(r.timer);
    this.retries.delete(id);
  }

  // Links not open within LINK_TIMEOUT_MS have failed.
  failLateLinks(now = Date.now()) {
    for (const [id, link] of [...this.links]) {
      if (link.state !== 'connected' && now - link.started > LINK_TIMEOUT_MS) this.linkFailed(id, 'not connected in time');
    }
  }

  link(id) {
    if (!this.links.has(id)) {
      this.failed.delete(id);
      this.links.set(id, { pc: null, dc: null, state: 'connecting', outbox: [], pending: [], remoteSet: false, offerer: false, started: Date.now() });
    }
    return this.links.get(id);
  }

  closeLink(id) {
    const link = this.links.get(id);
    if (!link) return;
    this.links.delete(id);
    clearTimeout(link.helloTimer);
    try {
      link.dc?.close();
      link.pc?.close();
    } catch {}
    this.changed();
  }

  createPc(id) {
    const link = this.link(id);
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    link.pc = pc;
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) {
        this.signaling.signal(id, { type: 'candidate', candidate: e.candidate.toJSON() });
      }
    };
    pc.onconnectionstatechange = () => {
      if (this.links.get(id) !== link) return;
      if (pc.connectionState === 'failed') return this.linkFailed(id, 'the connection failed');
      if (pc.connectionState === 'connected' && link.dc?.readyState === 'open') link.state = 'connected';
      if (pc.connectionState === 'connected') this.checkPath(id, link);
      this.changed();
    };
    pc.ondatachannel = (e) => this.setupChannel(id, link, e.channel);
    return pc;
  }

  async offerTo(id) {
    this.closeLink(id);
    const pc = this.createPc(id);
    const link = this.links.get(id);
    link.offerer = true;
    this.setupChannel(id, link, pc.createDataChannel('chat', { ordered: true }));
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    this.signaling.signal(id, { type: 'offer', sdp: offer.sdp });
    this.changed();
  }

  async signal(from, data) {
    if (data.type === 'offer') {
      this.closeLink(from);
      const pc = this.createPc(from);
      const link = this.links.get(from);
      await pc.setRemoteDescription({ type: 'offer', sdp: data.sdp });
      await this.remoteSet(link);
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      this.signaling.signal(from, { type: 'answer', sdp: answer.sdp });
      this.changed();
    } else if (data.type === 'answer') {
      const link = this.links.get(from);
      if (!link?.pc) return;
      await link.pc.setRemoteDescription({ type: 'answer', sdp: data.sdp });
      await this.remoteSet(link);
    } else if (data.type === 'candidate' && data.candidate?.candidate) {
      const link = this.links.get(from);
      if (!link) return;
      if (link.remoteSet) await link.pc.addIceCandidate(data.candidate).catch(() => {});
      else link.pending.push(data.candidate); // arrived before the remote description
    }
  }

  async remoteSet(link) {
    link.remoteSet = true;
    for (const c of link.pending.splice(0)) await link.pc.addIceCandidate(c).catch(() => {});
  }

  setupChannel(id, link, dc) {
    link.dc = dc;
    link.ready = false; // whether frames may be written (see HELLO_WAIT_MS)
    dc.onopen = () => {
      if (this.links.get(id) !== link) return;
      link.state = 'connected';
      this.forgetRetry(id);
      this.checkPath(id, link);
      if (id === RELAY) {
        // First on the channel: where to resume; the relay sends what came after, then live chat.
        const after = this.resumePoint();
        dc.send(JSON.stringify(after === null ? { type: 'resume' } : { type: 'resume', after }));
      } else if (link.offerer) {
        dc.send(JSON.stringify({ type: 'hello' })); // the other side waits for a first frame
      }
      if (link.offerer) this.channelReady(id, link); // the relay's link too: members offer it
      else link.helloTimer = setTimeout(() => this.channelReady(id, link), HELLO_WAIT_MS);
      this.changed();
    };
    dc.onclose = () => {
      if (this.links.get(id) !== link) return;
      this.linkFailed(id, 'the channel closed');
    };
    dc.onmessage = (e) => {
      if (!link.ready && this.links.get(id) === link) this.channelReady(id, link);
      this.chat.onChannel(id, e.data);
    };
  }

  // The channel to `id` may be written: what waited for it goes out (as host, the room's recent
  // chat first), then our own unconfirmed messages.
  channelReady(id, link) {
    clearTimeout(link.helloTimer);
    if (link.ready || this.links.get(id) !== link || link.dc?.readyState !== 'open') return;
    link.ready = true;
    if (this.iAmHost() && this.topology === 'host') this.chat.sendHistory(id);
    for (const frame of link.outbox.splice(0)) link.dc.send(frame);
    if (this.chat.confirmsOwn()) this.chat.flushOwn();
    else if (id === this.host) this.chat.sendToHost(this.store.pending());
  }

  // Whether frames to `id` can be written now (its channel is open and ready).
  writable(id) {
    const link = this.links.get(id);
    return !!link?.ready && link.dc?.readyState === 'open';
  }

  // Notes whether the open link to `id` goes through a TURN server (shown as "relayed").
  checkPath(id, link) {
    isRelayed(link.pc)
      .then((relayed) => {
        if (this.links.get(id) !== link || link.relayed === relayed) return;
        link.relayed = relayed;
        this.changed();
      })
      .catch(() => {});
  }

  // Sends a chat line as this topology wants, and shows it at once, as pending until confirmed.
  send(text) {
    this.chat.send(text);
  }

  // Sends a failed message again.
  retry(id) {
    this.chat.retry(id);
  }

  // Where this page resumes the relay's chat in this room: what it saw itself, or on a fresh page
  // what the last page of this room saw (localStorage, so a reload resumes). null: nothing.
  resumePoint() {
    if (this.resumePoints.has(this.room)) return this.resumePoints.get(this.room);
    let saved = null;
    try {
      saved = Number.parseInt(localStorage.getItem(resumeKey(this.room)) ?? '', 10);
    } catch {
      saved = null; // storage disabled
    }
    return Number.isSafeInteger(saved) && saved >= 0 ? saved : null;
  }

  // The relay delivered message `seq` in this room.
  sawSeq(seq) {
    if (!Number.isSafeInteger(seq) || seq < 0) return;
    const last = this.resumePoint();
    if (last !== null && last >= seq) return;
    this.resumePoints.set(this.room, seq);
    try {
      localStorage.setItem(resumeKey(this.room), String(seq));
    } catch {
      // storage disabled or full: this page still resumes from memory
    }
  }

  sendTo(id, frame) {
    const link = this.links.get(id);
    if (!link) return;
    if (this.writable(id)) link.dc.send(frame);
    else link.outbox.push(frame);
  }

  // The member list as the UI shows it: self first, then others in join order. A member's state
  // is its link's: connecting, connected, relayed (through TURN), retrying (failed; this page
  // offers it again, `retry`), failed (the other side offers again); or, with no link of our
  // own to it, via host / via server.
  roster() {
    const state = (id) => {
      const link = this.links.get(id);
      if (link) return link.state === 'connected' && link.relayed ? 'relayed' : link.state;
      if (this.retries.get(id)?.timer) return 'retrying';
      if (this.failed.has(id)) return 'failed';
      if (id === RELAY || this.needsLink(id)) return 'connecting';
      return this.host === RELAY ? 'via server' : 'via host';
    };
    const entry = (id, name, extra = {}) => {
      const s = state(id);
      return { id, name, host: this.host === id, state: s, retry: s === 'retrying', ...extra };
    };
    const list = [];
    if (this.host === RELAY) list.push(entry(RELAY, 'Server', { relay: true }));
    if (this.me) list.push({ id: this.me, name: this.name, host: this.host === this.me, state: 'you', self: true });
    for (const [id, name] of this.members) list.push(entry(id, name));
    return list;
  }

  needsLink(id) {
    return this.topology === 'mesh' || this.iAmHost() || id === this.host;
  }
}
