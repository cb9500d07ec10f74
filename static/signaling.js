// Signaling: the WebSocket to the hub and protocol v1. Reconnects with a short, capped backoff
// (and at once when the page regains focus or the network comes back) and rejoins.
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
    // A reconnect that is waiting out its backoff goes now when there is reason to hope.
    const retryNow = () => {
      if (this.timer !== null && document.visibilityState !== 'hidden') this.open();
    };
    window.addEventListener('online', retryNow);
    window.addEventListener('focus', retryNow);
    document.addEventListener('visibilitychange', retryNow);
  }

  // Whether the socket is open (the server can be reached).
  connected() {
    return this.ws?.readyState === WebSocket.OPEN;
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
    this.timer = null;
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
      if (msg.type === 'server_shutdown' && Number.isSafeInteger(msg.retry_after_ms)) {
        // The socket closes next: the first reconnect waits at least what the server asked.
        this.retryAfter = Math.min(Math.max(msg.retry_after_ms, 0), 60000);
      }
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
      // Backoff with jitter: 0.5 s, 1 s, then 2 s (±20 %) for as long as the server is away, so
      // a page is back within a few seconds of the server.
      const base = Math.max(Math.min(2000, 500 * 2 ** this.attempt), this.retryAfter ?? 0);
      this.retryAfter = null;
      const delay = Math.round(base * (0.8 + Math.random() * 0.4));
      this.attempt += 1;
      this.emit('status', { state: 'reconnecting', delay, wasJoined });
      this.timer = setTimeout(() => this.open(), delay);
    };
  }
}
