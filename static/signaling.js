// Signaling: the WebSocket to the hub and protocol v1. Reconnects with backoff and rejoins.
// Emits: 'status' {state, delay?}, and one event per server message type
// ('welcome', 'peer_joined', 'peer_left', 'host_changed', 'signal', 'error').

export class Signaling extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.ws = null;
    this.joinRequest = null; // {room, name, password} while we want to be in a room
    this.joined = false;
    this.attempt = 0;
    this.timer = null;
    this.pingTimer = null;
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // Opens the socket (if needed) and joins; rejoins after every reconnect until leave().
  join(room, name, password) {
    this.joinRequest = { room, name, password };
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.sendJoin();
    else this.open();
  }

  leave() {
    this.joinRequest = null;
    if (this.joined) this.send({ type: 'leave' });
    this.joined = false;
  }

  signal(to, data) {
    this.send({ type: 'signal', to, data });
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }

  sendJoin() {
    const { room, name, password } = this.joinRequest;
    const msg = { type: 'join', room, name };
    if (password) msg.password = password;
    this.send(msg);
  }

  open() {
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return;
    clearTimeout(this.timer);
    this.emit('status', { state: 'connecting' });
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.emit('status', { state: 'open' });
      if (this.joinRequest) this.sendJoin();
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.send({ type: 'ping' }), 10000);
    };
    ws.onmessage = (event) => {
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      if (msg.type === 'welcome') this.joined = true;
      if (msg.type === 'error' && !this.joined && this.joinRequest) {
        // A refused join is final until the user tries again.
        this.joinRequest = null;
      }
      this.emit(msg.type, msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      clearInterval(this.pingTimer);
      this.ws = null;
      const wasJoined = this.joined;
      this.joined = false;
      if (!this.joinRequest) {
        this.emit('status', { state: 'closed', wasJoined });
        return;
      }
      // Exponential backoff with jitter: 0.5 s, 1 s, 2 s ... up to 8 s.
      const base = Math.min(8000, 500 * 2 ** this.attempt);
      const delay = Math.round(base * (0.8 + Math.random() * 0.4));
      this.attempt += 1;
      this.emit('status', { state: 'reconnecting', delay, wasJoined });
      this.timer = setTimeout(() => this.open(), delay);
    };
  }
}
