// UI: renders plain data into the page and reports what the user does. It knows nothing about
// WebSockets or peer connections; main.js wires it to the signaling, the peers and the store.

import { el } from './dom.js';
import { MessageList } from './message-list.js';

const $ = (id) => document.getElementById(id);

// The composer's limit (the textarea's maxlength); the counter shows from COUNTER_FROM on.
const MAX_CHARS = 2000;
const COUNTER_FROM = 1;
const WARN_FROM = 1800;

const TOPOLOGY = { mesh: 'mesh', host: 'host', relay: 'server relay' };
const TOPOLOGY_TITLE = {
  mesh: 'everyone connects to everyone',
  host: "one member's browser hosts the room and forwards the chat",
  relay: 'the server hosts the room and keeps its history',
};
// Each member's link as words: connected directly, relayed through a TURN server, and so on.
const STATE = {
  connected: 'connected',
  relayed: 'relayed (TURN)',
  connecting: 'connecting…',
  retrying: 'failed, retrying…',
  failed: 'failed',
  closed: 'disconnected',
  'via host': 'via host',
  'via server': 'via server',
};

export class Ui {
  constructor() {
    this.rooms = [];
    this.messages = new MessageList($('messages'), $('new-messages'));
    this.retryLink = () => {};
    $('error-close').onclick = () => this.hideError();
    // Say which characters a room name may have, not the browser's "match the requested format".
    const room = $('room-input');
    room.oninput = () => {
      room.setCustomValidity(
        room.validity.patternMismatch ? 'Room names use only letters A-Z and a-z, digits, - and _ (up to 64).' : '',
      );
      this.markSelectedRoom();
      this.updatePasswordField();
    };
    this.setUpComposer();
    $('members-toggle').onclick = () => this.toggleMembers();
    $('members').onclick = (e) => {
      const button = e.target.closest('button.retry-link');
      if (button) this.retryLink(button.closest('li').dataset.peer);
    };
  }

  // Enter sends, Shift+Enter (or Enter while an input method composes) is a new line; the box
  // grows with its text up to a few lines, and a counter shows the length against the limit.
  setUpComposer() {
    const input = $('composer-input');
    input.onkeydown = (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        $('composer').requestSubmit();
      }
    };
    input.oninput = () => this.composerChanged();
  }

  composerChanged() {
    const input = $('composer-input');
    input.style.height = '';
    if (input.value) input.style.height = `${input.scrollHeight + 2}px`;
    const counter = $('counter');
    const n = input.value.length;
    counter.hidden = n < COUNTER_FROM;
    counter.textContent = `${n} / ${MAX_CHARS}`;
    counter.dataset.near = String(n >= WARN_FROM);
  }

  // Calls back with a message id when the user retries a failed message.
  onRetry(callback) {
    this.messages.retry = callback;
  }

  // Calls back with a member id when the user asks to retry a failed link now.
  onRetryLink(callback) {
    this.retryLink = callback;
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
      this.composerChanged();
      input.focus();
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

  // A strip under the header while the connection to the server is being won back.
  showBanner(text) {
    $('banner').textContent = text;
    $('banner').hidden = false;
  }

  hideBanner() {
    $('banner').hidden = true;
  }

  setJoining(busy) {
    $('join-button').disabled = busy;
    $('join-button').textContent = busy ? 'Joining…' : 'Join';
  }

  showJoin() {
    $('chat-view').hidden = true;
    $('join-view').hidden = false;
    $('room-heading').hidden = true;
    $('room-actions').hidden = true;
    document.body.dataset.view = 'join';
    this.hideBanner();
    this.toggleMembers(false);
    ($('room-input').value ? $('name-input') : $('room-input')).focus();
  }

  showChat(room) {
    $('join-view').hidden = true;
    $('chat-view').hidden = false;
    $('room-title').textContent = `#${room}`;
    $('room-heading').hidden = false;
    $('room-actions').hidden = false;
    document.body.dataset.view = 'chat';
    $('composer-input').focus();
    this.messages.scrollToEnd();
  }

  // The room's shape in words: "Hosted by Ann", "Hosted by the server", "Everyone connects to
  // everyone"; `confirmer` names who confirms own messages (for their ✓).
  setTopology(text, confirmer) {
    $('topology').textContent = text;
    this.messages.setConfirmer(confirmer);
  }

  // On narrow screens the member list is a panel shown on demand; on wide ones it is always there.
  toggleMembers(show = $('members-toggle').getAttribute('aria-expanded') !== 'true') {
    $('members-toggle').setAttribute('aria-expanded', String(show));
    $('chat-view').classList.toggle('show-members', show);
  }

  // The room list: [{name, topology, peers, max_peers, locked}]. Clicking a row fills the form.
  renderRooms(rooms) {
    this.rooms = rooms;
    const body = $('rooms').querySelector('tbody');
    body.replaceChildren(
      ...rooms.map((r) => {
        const row = el(
          'tr',
          { class: 'room', 'data-room': r.name, tabIndex: 0, title: `Join #${r.name}` },
          el('td', { class: 'room-name' }, r.name),
          el('td', { title: TOPOLOGY_TITLE[r.topology] ?? '' }, TOPOLOGY[r.topology] ?? r.topology),
          el('td', {}, `${r.peers} / ${r.max_peers}`),
          el('td', { title: r.locked ? 'password required' : '' }, r.locked ? 'locked' : ''),
        );
        const pick = () => {
          $('room-input').value = r.name;
          $('room-input').setCustomValidity('');
          this.markSelectedRoom();
          this.updatePasswordField();
          $('name-input').focus();
        };
        row.onclick = pick;
        row.onkeydown = (e) => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            pick();
          }
        };
        return row;
      }),
    );
    $('rooms-empty').hidden = rooms.length > 0;
    this.markSelectedRoom();
    this.updatePasswordField();
  }

  markSelectedRoom() {
    const selected = $('room-input').value.trim();
    for (const row of $('rooms').querySelectorAll('tr.room')) row.classList.toggle('selected', row.dataset.room === selected);
  }

  // The password field is shown for locked rooms and for rooms not in the list.
  updatePasswordField() {
    const name = $('room-input').value.trim();
    const room = this.rooms.find((r) => r.name === name);
    $('password-label').hidden = room ? !room.locked : false;
  }

  addMessage(m) {
    this.messages.add(m);
  }

  updateMessage(m) {
    this.messages.update(m);
  }

  removeMessages(lines) {
    this.messages.remove(lines);
  }

  replaceMessages(lines) {
    this.messages.replaceAll(lines);
  }

  clearMessages() {
    this.messages.clear();
  }

  // Members: [{id, name, host, state, self, relay, retry}]; `retry`: this page can offer the
  // failed link again now.
  renderMembers(members) {
    $('member-count').textContent = `(${members.filter((m) => !m.relay).length})`;
    $('members').replaceChildren(
      ...members.map((m) => {
        const name = el('span', { class: 'name' }, m.self ? `${m.name} (you)` : m.name);
        if (m.host) name.append(el('span', { class: 'badge' }, m.relay ? 'hosted by server' : 'host'));
        const state = el('span', { class: 'state', 'data-state': m.state }, m.self ? '' : STATE[m.state] ?? m.state);
        if (m.retry) state.append(el('button', { class: 'retry-link', type: 'button', title: `Try the link to ${m.name} again now` }, 'Retry'));
        return el('li', { 'data-peer': m.id, 'data-host': String(!!m.host) }, name, state);
      }),
    );
  }
}
