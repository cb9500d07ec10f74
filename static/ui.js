// UI: renders plain data into the page and reports what the user does. It knows nothing about
// WebSockets or peer connections; main.js wires it to the signaling, the peers and the store.

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-')) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) node.append(c);
  return node;
}

const TITLE = {
  pending: 'sending: not yet confirmed (it goes out as soon as there is a connection)',
  failed: 'not confirmed in time: retry to send it again',
};
const TOPOLOGY = { mesh: 'mesh', host: 'host', relay: 'server relay' };
const STATE = { you: 'you', connected: 'connected', connecting: 'connecting…', failed: 'failed', retrying: 'retrying…', closed: 'disconnected', 'via host': 'via host', 'via server': 'via server' };

export class Ui {
  constructor() {
    this.rooms = [];
    this.items = new Map(); // line number -> its <li>
    this.retry = () => {};
    $('error-close').onclick = () => this.hideError();
    // Say which characters a room name may have, not the browser's "match the requested format".
    const room = $('room-input');
    room.oninput = () =>
      room.setCustomValidity(
        room.validity.patternMismatch ? 'Room names use only letters A-Z and a-z, digits, - and _ (up to 64).' : '',
      );
    // Retry buttons of failed messages (lines are replaced as they change, so listen on the list).
    $('messages').onclick = (e) => {
      const button = e.target.closest('button.retry');
      if (button) this.retry(button.closest('li').dataset.id);
    };
  }

  // Calls back with a message id when the user retries a failed message.
  onRetry(callback) {
    this.retry = callback;
  }

  // Calls back with {room, name, password} when the join form is submitted.
  onJoin(callback) {
    $('join-form').onsubmit = (e) => {
      e.preventDefault();
      callback({
        room: $('room-input').value.trim(),
        name: $('name-input').value.trim(),
        password: $('password-input').value,
      });
    };
  }

  // Puts a room and name into the join form (a reload that rejoins shows what it joins).
  fillJoin(room, name) {
    $('room-input').value = room;
    $('name-input').value = name;
  }

  // Calls back with the text when the composer is submitted (Enter or the button).
  onSend(callback) {
    $('composer').onsubmit = (e) => {
      e.preventDefault();
      const input = $('composer-input');
      const text = input.value.trim();
      if (!text) return;
      input.value = '';
      callback(text);
    };
  }

  onLeave(callback) {
    $('leave-button').onclick = callback;
  }

  setStatus(state, text) {
    const s = $('status');
    s.dataset.state = state;
    s.textContent = text;
  }

  showError(text) {
    $('error-text').textContent = text;
    $('error').hidden = false;
  }

  hideError() {
    $('error').hidden = true;
  }

  setJoining(busy) {
    $('join-button').disabled = busy;
    $('join-button').textContent = busy ? 'Joining…' : 'Join';
  }

  showJoin() {
    $('chat-view').hidden = true;
    $('join-view').hidden = false;
    $('room-title').hidden = true;
  }

  showChat(room, topology) {
    $('join-view').hidden = true;
    $('chat-view').hidden = false;
    const title = $('room-title');
    title.textContent = `#${room} · ${TOPOLOGY[topology] ?? topology}`;
    title.hidden = false;
    $('composer-input').focus();
  }

  // The room list: [{name, topology, peers, max_peers, locked}]. Clicking a row fills the form.
  renderRooms(rooms) {
    this.rooms = rooms;
    const body = $('rooms').querySelector('tbody');
    const selected = $('room-input').value.trim();
    body.replaceChildren(
      ...rooms.map((r) => {
        const row = el(
          'tr',
          { class: r.name === selected ? 'room selected' : 'room', 'data-room': r.name },
          el('td', {}, r.name),
          el('td', {}, TOPOLOGY[r.topology] ?? r.topology),
          el('td', {}, `${r.peers} / ${r.max_peers}`),
          el('td', { title: r.locked ? 'password required' : '' }, r.locked ? 'locked' : ''),
        );
        row.onclick = () => {
          $('room-input').value = r.name;
          this.renderRooms(this.rooms);
          this.updatePasswordField();
          $('name-input').focus();
        };
        return row;
      }),
    );
    $('rooms-empty').hidden = rooms.length > 0;
    this.updatePasswordField();
  }

  // The password field is shown for locked rooms and for rooms not in the list.
  updatePasswordField() {
    const name = $('room-input').value.trim();
    const room = this.rooms.find((r) => r.name === name);
    $('password-label').hidden = room ? !room.locked : false;
  }

  // The message list is kept in step with the chat store line by line (a flood costs O(1) per
  // line, not a re-render of the list). Lines: chat {n, kind: 'chat', id, name, text, ts, own,
  // pending, failed} and notices {n, kind: 'notice', text, ts}; only the store makes notices.
  addMessage(m) {
    const list = $('messages');
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const item = messageItem(m);
    this.items.set(m.n, item);
    list.append(item);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  updateMessage(m) {
    const old = this.items.get(m.n);
    if (!old) return;
    const item = messageItem(m);
    this.items.set(m.n, item);
    old.replaceWith(item);
  }

  removeMessages(lines) {
    for (const m of lines) {
      this.items.get(m.n)?.remove();
      this.items.delete(m.n);
    }
  }

  clearMessages() {
    this.items.clear();
    $('messages').replaceChildren();
  }

  // Members: [{id, name, host, state, self, relay}].
  renderMembers(members) {
    $('members').replaceChildren(
      ...members.map((m) => {
        const name = el('span', { class: 'name' }, m.self ? `${m.name} (you)` : m.name);
        if (m.host) name.append(el('span', { class: 'badge' }, m.relay ? 'hosted by server' : 'host'));
        const state = m.self ? '' : STATE[m.state] ?? m.state;
        return el('li', { 'data-peer': m.id, 'data-host': String(!!m.host) }, name,
          el('span', { class: 'state', 'data-state': m.state }, state));
      }),
    );
  }
}

// One line of the message list. Peer text goes in as text nodes, never as markup.
function messageItem(m) {
  const time = el('span', { class: 'time' }, formatTime(m.ts));
  if (m.kind === 'notice') return el('li', { class: 'notice' }, time, m.text);
  const state = m.failed ? 'failed' : m.pending ? 'pending' : '';
  const cls = ['chat', m.own ? 'own' : '', state].join(' ').trim();
  const item = el('li', { class: cls, 'data-id': m.id, 'data-from': m.from, title: TITLE[state] ?? '' },
    time, el('span', { class: 'author' }, m.name), el('span', { class: 'text' }, m.text));
  if (m.own && state) item.append(el('span', { class: 'delivery' }, state === 'failed' ? 'not delivered' : 'sending…'));
  if (state === 'failed') item.append(el('button', { class: 'retry', type: 'button' }, 'Retry'));
  return item;
}

function formatTime(ts) {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
