// Signaling: the WebSocket to the hub and protocol v1. Reconnects with a short, capped backoff
// (and at once when the page regains focus or the network comes back) and resumes its seat with
// the token of the last `welcome`, kept per room in sessionStorage (so a reload resumes too).
// A socket that delivers nothing for SILENCE_MS is taken for dead (a network blip leaves no
// close) and replaced. Emits: 'status' {state, delay?}, 'replaced' (another tab took the seat),
// and one event per server message type ('welcome', 'peer_joined', 'peer_left',
// 'peer_reconnected', 'host_changed', 'signal', 'error').

const seatKey = (room) => `switchboard:seat:${room}`;
// The server pings every 5 s and the page every PING_MS (answered at once by `pong`), so a
// healthy socket is never silent for much more than PING_MS; silence this long means dead.
const PING_MS = 3000;
const SILENCE_MS = 9000;
// A socket not open this long (a network that drops the handshake) is given up and retried.
const CONNECT_TIMEOUT_MS = 5000;
// How long after losing the socket a `name_taken` is not final: the server holds our old seat
// (resume_window, 30 s after our last frame) when the token could not be used.
const NAME_TAKEN_GRACE_MS = 40000;
const RESUME_REFUSED = new Set(['resume_expired', 'resume_invalid', 'resume_wrong_room']);
// The close code of a socket whose seat a newer socket resumed.
const REPLACED = 4001;
// The close code of a socket whose member an operator removed (after a `kicked` message).
const KICKED = 4002;

// A seat is {token, name}: the token resumes only a join under the same name.
function loadSeat(room) {
  try {
    const seat = JSON.parse(sessionStorage.getItem(seatKey(room)) ?? 'null');
    return typeof seat?.token === 'string' && typeof seat?.name === 'string' ? seat : null;
  } catch {
    return null; // storage disabled or damaged: this page resumes from memory only
  }
}

function saveSeat(room, seat) {
  try {
    if (seat) sessionStorage.setItem(seatKey(room), JSON.stringify(seat));
    else sessionStorage.removeItem(seatKey(room));
  } catch {}
}

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
    this.seats = new Map(); // room -> {token, name} (mirrored in sessionStorage)
    this.lostAt = null; // when the socket was lost while in a room
    this.lastHeard = 0;
    // A reconnect that is waiting out its backoff goes now when there is reason to hope.
    const retryNow = () => {
      if (this.timer !== null && document.visibilityState !== 'hidden') this.open();
    };
    window.addEventListener('online', retryNow);
    // The network went away: the socket will deliver nothing more (and may never be told), so
    // drop it now; the seat is resumed on a new one when the network is back.
    window.addEventListener('offline', () => {
      if (this.ws) this.drop(this.ws);
    });
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
    if (this.joinRequest) this.setSeat(this.joinRequest.room, null);
    this.joinRequest = null;
    this.lostAt = null;
    if (this.joined) this.send({ type: 'leave' });
    this.joined = false;
  }

  // The resume token for joining `room` as `name`: this page's, or on a fresh page (a reload)
  // the tab's; none when the seat has another name (the user chose a new one).
  seat(room, name) {
    if (!this.seats.has(room)) this.seats.set(room, loadSeat(room));
    const seat = this.seats.get(room);
    return seat && seat.name.toLowerCase() === name.trim().toLowerCase() ? seat.token : null;
  }

  setSeat(room, seat) {
    this.seats.set(room, seat);
    saveSeat(room, seat);
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
    const token = this.seat(room, name);
    if (token) msg.resume = token;
    this.send(msg);
  }

  // A refused join: a token that is no use is dropped and the join sent again without it; a
  // name our own old seat still holds is tried again until the server gives it up; anything
  // else is final until the user tries again. Returns whether it was handled here.
  joinRefused(msg) {
    const { room, name } = this.joinRequest;
    // too_many_attempts answers a token from an address that sent forged ones: join without it.
    if ((RESUME_REFUSED.has(msg.code) || msg.code === 'too_many_attempts') && this.seat(room, name)) {
      this.setSeat(room, null);
      this.sendJoin();
      return true;
    }
    if (msg.code === 'name_taken' && this.lostAt !== null && Date.now() - this.lostAt < NAME_TAKEN_GRACE_MS) {
      this.ws?.close(); // onclose schedules the next attempt with backoff
      return true;
    }
    this.joinRequest = null;
    this.lostAt = null;
    return false;
  }

  open() {
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.emit('status', { state: 'connecting' });
    const ws = new WebSocket(this.url);
    this.ws = ws;
    setTimeout(() => {
      if (ws.readyState === WebSocket.CONNECTING) this.drop(ws);
    }, CONNECT_TIMEOUT_MS);
    ws.onopen = () => {
      this.emit('status', { state: 'open' });
      if (this.joinRequest) this.sendJoin();
      else this.attempt = 0;
      this.lastHeard = Date.now();
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.checkAlive(ws), PING_MS);
    };
    ws.onmessage = (event) => {
      this.lastHeard = Date.now();
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      if (msg.type === 'welcome') {
        this.joined = true;
        this.attempt = 0;
        this.lostAt = null;
        const name = this.joinRequest?.name.trim() ?? '';
        if (typeof msg.resume === 'string') this.setSeat(msg.room, { token: msg.resume, name });
      }
      if (msg.type === 'server_shutdown' && Number.isSafeInteger(msg.retry_after_ms)) {
        // The socket closes next: the first reconnect waits at least what the server asked.
        this.retryAfter = Math.min(Math.max(msg.retry_after_ms, 0), 60000);
      }
      if (msg.type === 'kicked' || msg.type === 'room_closed') {
        // The membership is over: no rejoin, and its seat is gone.
        if (this.joinRequest) this.setSeat(this.joinRequest.room, null);
        this.joinRequest = null;
        this.joined = false;
        this.lostAt = null;
      }
      if (msg.type === 'error' && !this.joined && this.joinRequest && !msg.peer) {
        if (this.joinRefused(msg)) return;
      }
      this.emit(msg.type, msg);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      clearInterval(this.pingTimer);
      this.ws = null;
      const wasJoined = this.joined;
      this.joined = false;
      if (event.code === KICKED) {
        // Removed by an operator ('kicked' said why): coming back by itself would be wrong.
        this.joinRequest = null;
        this.lostAt = null;
        this.emit('status', { state: 'closed', wasJoined });
        return;
      }
      if (event.code === REPLACED) {
        // Another tab (a duplicated one has our token) resumed this seat: stop, or the two
        // would take it from each other forever.
        this.joinRequest = null;
        this.lostAt = null;
        this.emit('status', { state: 'closed', wasJoined });
        this.emit('replaced', {});
        return;
      }
      if (!this.joinRequest) {
        this.emit('status', { state: 'closed', wasJoined });
        return;
      }
      if (this.lostAt === null) this.lostAt = Date.now();
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

  // Every PING_MS: ping the server; a socket silent for SILENCE_MS is dead (no close came
  // through), so it is dropped and replaced at once.
  checkAlive(ws) {
    if (this.ws !== ws) return;
    if (Date.now() - this.lastHeard > SILENCE_MS) return this.drop(ws);
    this.send({ type: 'ping' });
  }

  // Gives up on a socket that is dead without having said so: handled as closed at once (the
  // reconnect is scheduled), then closed for real.
  drop(ws) {
    if (this.ws !== ws) return;
    ws.onclose({ code: 1006 });
    ws.close();
  }
}
