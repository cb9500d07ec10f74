// The message list: chat lines and notices kept in step with the chat store line by line (a
// flood costs O(1) per line, not a re-render), a separator where the day changes (history from
// yesterday reads as such), and a "new messages" button while the reader is scrolled up.
//
// Lines: chat {n, kind: 'chat', id, from, name, text, ts, own, pending, failed} and notices
// {n, kind: 'notice', text, ts}; only the store makes notices. Peer text goes in as text nodes,
// never as markup.

import { el } from './dom.js';

// Within this many pixels of the bottom counts as reading the latest line.
const AT_BOTTOM_PX = 40;

const TITLE = {
  pending: 'sending: not yet confirmed (it goes out as soon as there is a connection)',
  failed: 'not confirmed in time: retry to send it again',
};

export class MessageList {
  constructor(list, newButton) {
    this.list = list;
    this.newButton = newButton;
    this.items = new Map(); // line number -> its <li>
    this.lastDay = null; // the day of the last line appended
    this.unread = 0;
    this.retry = () => {};
    this.confirmedBy = 'delivered';
    // Whether the reader follows the latest line: then a list that gets shorter (the member
    // panel opens, the on-screen keyboard comes up) stays scrolled to its end.
    this.following = true;
    list.onscroll = () => {
      this.following = this.atBottom();
      if (this.following) this.markRead();
    };
    new ResizeObserver(() => {
      if (this.following) list.scrollTop = list.scrollHeight;
    }).observe(list);
    newButton.onclick = () => this.scrollToEnd();
    // Retry buttons of failed messages (lines are replaced as they change, so listen on the list).
    list.onclick = (e) => {
      const button = e.target.closest('button.retry');
      if (button) this.retry(button.closest('li').dataset.id);
    };
  }

  atBottom() {
    const l = this.list;
    return l.scrollHeight - l.scrollTop - l.clientHeight < AT_BOTTOM_PX;
  }

  scrollToEnd() {
    this.list.scrollTop = this.list.scrollHeight;
    this.following = true;
    this.markRead();
  }

  markRead() {
    this.unread = 0;
    this.newButton.hidden = true;
  }

  // Who confirms own messages, for the ✓'s title: "the host", "the server", "everyone".
  setConfirmer(who) {
    this.confirmedBy = `delivered to ${who}`;
  }

  add(m) {
    const follow = this.atBottom();
    this.append(m);
    if (follow || m.own) {
      this.scrollToEnd();
    } else if (m.kind === 'chat') {
      this.unread += 1;
      this.newButton.textContent = this.unread === 1 ? '1 new message ↓' : `${this.unread} new messages ↓`;
      this.newButton.hidden = false;
    }
  }

  // A line at the end, after a day separator if its day is not the last line's.
  append(m) {
    const day = dayKey(m.ts);
    if (day !== this.lastDay) {
      this.list.append(el('li', { class: 'day', role: 'separator', 'data-day': day }, dayLabel(m.ts)));
      this.lastDay = day;
    }
    const item = this.item(m);
    this.items.set(m.n, item);
    this.list.append(item);
  }

  // Every line again, in the store's order (a history went in above the notices of the join;
  // once per history frame, so a rebuild is cheap enough). The reader stays where they were.
  replaceAll(lines) {
    const follow = this.following || this.atBottom();
    const top = this.list.scrollTop;
    this.items.clear();
    this.lastDay = null;
    this.list.replaceChildren();
    for (const m of lines) this.append(m);
    if (follow) this.scrollToEnd();
    else this.list.scrollTop = top;
  }

  update(m) {
    const old = this.items.get(m.n);
    if (!old) return;
    const item = this.item(m);
    this.items.set(m.n, item);
    old.replaceWith(item);
  }

  // Old lines dropped by the store's cap; a day separator left with no line under it goes too.
  remove(lines) {
    for (const m of lines) {
      const item = this.items.get(m.n);
      this.items.delete(m.n);
      if (!item) continue;
      const before = item.previousElementSibling;
      item.remove();
      const next = before?.nextElementSibling;
      if (before?.classList.contains('day') && (!next || next.classList.contains('day'))) before.remove();
    }
  }

  clear() {
    this.items.clear();
    this.lastDay = null;
    this.list.replaceChildren();
    this.markRead();
  }

  // One line of the list.
  item(m) {
    const time = el('time', { class: 'time', dateTime: isoTime(m.ts), title: fullTime(m.ts) }, shortTime(m.ts));
    if (m.kind === 'notice') return el('li', { class: 'notice' }, time, m.text);
    const state = m.failed ? 'failed' : m.pending ? 'pending' : '';
    const cls = ['chat', m.own ? 'own' : '', state].join(' ').trim();
    const meta = el('div', { class: 'meta' }, el('span', { class: 'author' }, m.name), time);
    // "/me waves" is an action: shown as "* ann waves" (as the terminal client does).
    const action = m.text.startsWith('/me ') ? m.text.slice(4) : null;
    const text = action === null ? el('div', { class: 'text' }, m.text) : el('div', { class: 'text action' }, `* ${m.name} ${action}`);
    const item = el('li', { class: cls, 'data-id': m.id, 'data-from': m.from, title: TITLE[state] ?? '' }, meta, text);
    if (m.own) {
      const [mark, title] =
        state === 'failed' ? ['not delivered', TITLE.failed] : state === 'pending' ? ['sending…', TITLE.pending] : ['✓', this.confirmedBy];
      item.append(el('span', { class: 'delivery', title, 'aria-label': title }, mark));
    }
    if (state === 'failed') item.append(el('button', { class: 'retry', type: 'button' }, 'Retry'));
    return item;
  }
}

function valid(ts) {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? null : d;
}

function dayKey(ts) {
  const d = valid(ts) ?? new Date();
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

// "Today", "Yesterday", or the date in the reader's words.
export function dayLabel(ts, now = new Date()) {
  const d = valid(ts) ?? now;
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (dayKey(d) === dayKey(now)) return 'Today';
  if (dayKey(d) === dayKey(yesterday)) return 'Yesterday';
  const sameYear = d.getFullYear() === now.getFullYear();
  return d.toLocaleDateString([], { weekday: 'long', day: 'numeric', month: 'long', year: sameYear ? undefined : 'numeric' });
}

function shortTime(ts) {
  const d = valid(ts);
  return d ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '';
}

function fullTime(ts) {
  const d = valid(ts);
  return d ? d.toLocaleString() : '';
}

function isoTime(ts) {
  const d = valid(ts);
  return d ? d.toISOString() : '';
}
