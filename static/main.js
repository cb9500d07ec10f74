// Wiring: connects the signaling, the connection manager and the chat store to the UI.

import { Signaling } from './signaling.js';
import { ChatStore } from './chat-store.js';
import { PeerManager } from './peers.js';
import { Ui } from './ui.js';

const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const ui = new Ui();
const signaling = new Signaling(wsUrl);
const store = new ChatStore();
const peers = new PeerManager(signaling, store);
let current = null; // {room, name} while we are in (or joining) a room
let joinedOnce = false;

// For debugging from the console; the page itself never reads it.
window.switchboard = { signaling, store, peers };

async function refreshRooms() {
  try {
    const res = await fetch('/api/rooms');
    if (res.ok) ui.renderRooms(await res.json());
  } catch {
    // The status pill already says the server is unreachable.
  }
}
refreshRooms();
setInterval(refreshRooms, 5000);

const memberName = (id) => (id === 'relay' ? 'the server' : peers.members.get(id) ?? 'someone');
const REASONS = { left: 'left', closed: 'disconnected', timeout: 'timed out', slow_consumer: 'was too slow and was dropped', kicked: 'was removed by an operator' };

ui.onJoin(({ room, name, password }) => {
  ui.hideError();
  if (!current || current.room !== room) {
    store.clear();
    joinedOnce = false;
  }
  current = { room, name };
  ui.setJoining(true);
  signaling.join(room, name, password);
});

ui.onSend((text) => peers.send(text));

// The room this tab is in (sessionStorage): a reload joins it again and, within the server's
// resume window, takes back the same seat without anyone seeing a leave.
const CURRENT_KEY = 'switchboard:current';
function remember(room, name) {
  try {
    if (room) sessionStorage.setItem(CURRENT_KEY, JSON.stringify({ room, name }));
    else sessionStorage.removeItem(CURRENT_KEY);
  } catch {}
}
function remembered() {
  try {
    const c = JSON.parse(sessionStorage.getItem(CURRENT_KEY) ?? 'null');
    return typeof c?.room === 'string' && typeof c?.name === 'string' ? c : null;
  } catch {
    return null;
  }
}
ui.onRetry((id) => peers.retry(id));
ui.onRetryLink((id) => peers.retryLink(id));

// People who were in the room when we lost the server come back with new ids after it returns;
// within this grace period that is not news ("X joined").
const REJOIN_GRACE_MS = 60000;
const returning = new Map(); // lowercased name -> until when it is not news

ui.onLeave(() => {
  remember(null);
  signaling.leave();
  peers.reset();
  store.clear();
  current = null;
  ui.setStatus('idle', 'Not in a room');
  ui.showJoin();
  refreshRooms();
});

// The room's shape in words, and who confirms our messages (the ✓'s title).
function topologyWords() {
  if (peers.topology === 'mesh') return ['Everyone connects to everyone', 'everyone'];
  if (peers.host === 'relay') return ['Hosted by the server', 'the server'];
  if (peers.host && peers.host === peers.me) return ['You are the host', 'everyone'];
  if (peers.host) return [`Hosted by ${memberName(peers.host)}`, memberName(peers.host)];
  return ['', 'the host'];
}

store.addEventListener('add', ({ detail }) => ui.addMessage(detail));
store.addEventListener('update', ({ detail }) => ui.updateMessage(detail));
store.addEventListener('remove', ({ detail }) => ui.removeMessages(detail));
store.addEventListener('clear', () => ui.clearMessages());
store.addEventListener('reorder', ({ detail }) => ui.replaceMessages(detail));
peers.addEventListener('links', () => {
  ui.renderMembers(peers.roster());
  ui.setTopology(...topologyWords());
});
peers.addEventListener('refused', ({ detail }) => store.notice(`The server refused a message: ${detail.message}`));

signaling.addEventListener('status', ({ detail }) => {
  const s = Math.ceil((detail.delay ?? 0) / 1000);
  if (detail.state === 'connecting') ui.setStatus('connecting', 'Connecting…');
  else if (detail.state === 'open') ui.setStatus('connecting', current ? 'Joining…' : 'Connected');
  else if (detail.state === 'reconnecting') ui.setStatus('reconnecting', `Connection lost, retrying in ${s} s…`);
  else if (detail.state === 'closed') ui.setStatus('closed', 'Not connected');
  // In a room, a lost server is said in a banner until the seat is back: chat over links that
  // are open goes on, and what is typed meanwhile goes out once the server is back.
  if (!current || !joinedOnce || detail.state === 'closed') return ui.hideBanner();
  if (detail.state === 'reconnecting') {
    ui.showBanner(`Connection to the server lost. Reconnecting in ${s} s… Messages you send now go out once it is back.`);
  } else {
    ui.showBanner('Reconnecting to the server…');
  }
});

signaling.addEventListener('welcome', ({ detail: w }) => {
  if (w.resumed && joinedOnce && peers.me === w.peer_id) {
    // The same seat on a new socket: nobody left, nothing to announce but that we are back.
    peers.welcome(w, current?.name ?? '');
    ui.setJoining(false);
    ui.hideBanner();
    ui.setStatus('connected', `Connected as ${current?.name}`);
    store.notice('Reconnected.');
    return;
  }
  remember(w.room, current?.name);
  if (joinedOnce) {
    const until = Date.now() + REJOIN_GRACE_MS;
    for (const name of peers.members.values()) returning.set(name.toLowerCase(), until);
  } else {
    returning.clear();
  }
  peers.welcome(w, current?.name ?? '');
  ui.setJoining(false);
  ui.hideBanner();
  ui.setStatus('connected', `Connected as ${current?.name}`);
  ui.showChat(w.room);
  store.notice(joinedOnce ? 'Reconnected.' : `You joined #${w.room}.`);
  joinedOnce = true;
  if (w.host === 'relay') store.notice('This room is hosted by the server.');
  else if (w.host && w.host !== w.peer_id) store.notice(`${memberName(w.host)} is hosting this room.`);
  else if (w.host === w.peer_id) store.notice('You are hosting this room: keep this page open.');
});

signaling.addEventListener('peer_joined', ({ detail }) => {
  peers.peerJoined(detail.peer);
  const key = detail.peer.name.toLowerCase();
  const back = (returning.get(key) ?? 0) > Date.now();
  returning.delete(key);
  if (!back) store.notice(`${detail.peer.name} joined.`);
});

signaling.addEventListener('peer_reconnected', ({ detail }) => peers.peerReconnected(detail.peer_id));

// An operator removed us, or closed the room: back to the join form, saying why.
function ended(message) {
  current = null;
  peers.reset();
  remember(null);
  ui.showJoin();
  ui.setJoining(false);
  ui.setStatus('idle', 'Not in a room');
  ui.showError(message);
  refreshRooms();
}
signaling.addEventListener('kicked', ({ detail }) => ended(`You were removed from #${detail.room}: ${detail.reason}`));
signaling.addEventListener('room_closed', ({ detail }) => ended(`#${detail.room} was closed: ${detail.reason}`));
signaling.addEventListener('announcement', ({ detail }) => {
  if (typeof detail.text === 'string') store.notice(`Announcement: ${detail.text}`);
});

signaling.addEventListener('replaced', () => {
  current = null;
  peers.reset();
  remember(null);
  ui.showJoin();
  ui.setStatus('closed', 'Opened in another tab');
  ui.showError('This chat was opened in another tab (or window) with the same seat, so this one stopped. Join again to take it back.');
});

signaling.addEventListener('peer_left', ({ detail }) => {
  const name = memberName(detail.peer_id);
  peers.peerLeft(detail.peer_id);
  store.notice(`${name} ${REASONS[detail.reason] ?? 'left'}.`);
});

signaling.addEventListener('host_changed', ({ detail }) => {
  peers.hostChanged(detail.host);
  if (detail.host === 'relay') store.notice('The server now hosts this room.');
  else if (detail.host === peers.me) store.notice('You are now the host: keep this page open.');
  else store.notice(`${memberName(detail.host)} is now the host.`);
});

signaling.addEventListener('signal', ({ detail }) => {
  peers.signal(detail.from, detail.data).catch((err) => console.warn('signal from', detail.from, err));
});

// A failed link is retried: say so once per failure streak, in the chat, not as a modal error.
peers.addEventListener('retrying', ({ detail }) => {
  if (detail.attempt === 1) {
    const who = detail.id === 'relay' ? 'the server' : memberName(detail.id);
    // The relay's `relay_failed` wording is for programs ("…; offer again"): keep its reason.
    const why = String(detail.why)
      .replace(/^your connection to the relay failed: /, '')
      .replace(/; offer again$/, '');
    store.notice(`Connection to ${who} failed (${why}); retrying…`);
  }
});

signaling.addEventListener('error', ({ detail }) => {
  if (detail.peer && signaling.joined) return peers.linkFailed(detail.peer, detail.message);
  ui.setJoining(false);
  if (!signaling.joined) {
    ui.setStatus('idle', 'Not in a room');
    remember(null);
  }
  ui.showError(detail.message);
});

signaling.addEventListener('server_shutdown', () => {
  store.notice('The server is restarting; reconnecting by itself.');
});

// A reload of a tab that was in a room rejoins it (and resumes the seat).
const again = remembered();
if (again) {
  ui.fillJoin(again.room, again.name);
  current = { room: again.room, name: again.name };
  ui.setJoining(true);
  signaling.join(again.room, again.name);
}
