//! The `Session` actor: one per WebSocket. It owns the socket (through its writer), keeps the
//! heartbeat, rate-limits and decodes client frames, and passes them to its room.

pub(crate) mod broadcast;
mod dialect;
mod ended;
mod join;
pub(crate) mod peerjs;
mod reader;
mod writer;

use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_http::ws::{CloseCode, CloseReason, ProtocolError};
use actix_rt::net::TcpStream;
use bytes::BytesMut;
use bytestring::ByteString;
use tokio::sync::{mpsc, watch};

pub use self::dialect::Dialect;
pub use self::ended::{KICKED, REPLACED};
pub use self::join::validate_join;
pub use self::peerjs::PeerJs;
pub use self::reader::Inbound;
use self::reader::{FrameLimit, Reader};
use self::writer::write_loop;
use crate::admission::Ticket;
use crate::config::SessionConfig;
use crate::error::ClientError;
use crate::metrics::{InKind, Metrics, OutKind, Refusal};
pub use crate::outbox::{Outbound, Outbox, PushError};
use crate::protocol::{ClientMessage, LeaveReason, PeerId, ServerMessage, SignalData};
use crate::rate::TokenBucket;
use crate::registry::Registry;
use crate::room::{Forward, Leave, Room};

/// When `server_shutdown` tells clients to reconnect (a restart takes about this long; clients
/// back off from there).
const SHUTDOWN_RETRY_AFTER: Duration = Duration::from_secs(1);

/// What every session needs from the server: its place in the connection counts, the
/// registry, the session settings, the metrics, and the shutdown signal.
pub type SessionContext = (
    Ticket,
    Addr<Registry>,
    Arc<SessionConfig>,
    Arc<Metrics>,
    watch::Receiver<bool>,
);

/// Where a session is in its life.
enum State {
    /// Connected, in no room since `since` (it has `join_timeout` to join one, checked at each
    /// heartbeat, so it costs a session no timer of its own).
    Lobby { since: Instant },
    /// Member `peer_id` of `room`.
    Joined { room: Addr<Room>, peer_id: PeerId },
}

impl State {
    /// In no room, from now.
    fn lobby() -> State {
        State::Lobby {
            since: Instant::now(),
        }
    }
}

/// One WebSocket connection.
pub struct Session {
    out: mpsc::Sender<Outbound>,
    /// The writer task: aborted (dropping the socket) when a close frame cannot be queued.
    writer: tokio::task::JoinHandle<()>,
    /// A close frame is queued.
    closing: bool,
    /// The server is shutting down (the room is not told this member left).
    going_away: bool,
    registry: Addr<Registry>,
    /// Where the client connects from (for password limits and logs).
    address: IpAddr,
    config: Arc<SessionConfig>,
    metrics: Arc<Metrics>,
    state: State,
    /// How many rooms this session has tried to join: the current membership's tag.
    membership: u64,
    last_seen: Instant,
    /// The frame limit the reader applies: the lobby's until the session joins a room.
    limit: Rc<FrameLimit>,
    bucket: TokenBucket,
    close_reason: LeaveReason,
    /// The client sent a close frame (it said goodbye: a closed or reloaded page).
    said_goodbye: bool,
    /// Its place in its address's and the server's connection counts (given back on drop).
    _ticket: Ticket,
    /// What the client speaks (the native protocol, PeerJS's, broadcast signaling).
    dialect: Dialect,
}

impl Session {
    /// Starts the session of an upgraded connection: `early` holds bytes read behind the upgrade
    /// request; the session closes with 1001 when `going_away` turns true (server shutdown).
    pub fn start(
        io: TcpStream,
        early: BytesMut,
        ticket: Ticket,
        registry: Addr<Registry>,
        config: Arc<SessionConfig>,
        metrics: Arc<Metrics>,
        going_away: watch::Receiver<bool>,
    ) -> Addr<Session> {
        let context = (ticket, registry, config, metrics, going_away);
        Session::start_speaking(io, early, context, Dialect::Native)
    }

    /// [`Session::start`] for a client that speaks `dialect`.
    pub fn start_speaking(
        io: TcpStream,
        early: BytesMut,
        context: SessionContext,
        dialect: Dialect,
    ) -> Addr<Session> {
        let (ticket, registry, config, metrics, mut going_away) = context;
        let address = io
            .peer_addr()
            .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
        let (read, write) = io.into_split();
        let (out, rx) = mpsc::channel(config.max_queued_frames);
        let writer = actix_rt::spawn(write_loop(write, rx, dialect.outbound()));
        let limit = FrameLimit::new(config.lobby_max_frame_bytes, config.max_frame_bytes);
        let reader = Reader::new(read, early, limit.clone(), metrics.clone());
        let session = Session {
            out,
            writer,
            closing: false,
            going_away: false,
            registry,
            address,
            bucket: TokenBucket::new(config.messages_per_second, config.burst),
            config,
            metrics,
            state: State::lobby(),
            membership: 0,
            last_seen: Instant::now(),
            limit,
            close_reason: LeaveReason::Closed,
            said_goodbye: false,
            _ticket: ticket,
            dialect,
        };
        let shutdown = async move { drop(going_away.wait_for(|away| *away).await) };
        let shutdown = shutdown.into_actor(&session).map(|(), act, ctx| {
            act.going_away = true;
            let notice = ServerMessage::ServerShutdown {
                reason: "the server is shutting down".into(),
                retry_after_ms: SHUTDOWN_RETRY_AFTER.as_millis() as u64,
            };
            act.reply(&notice, OutKind::ServerShutdown, ctx);
            act.close(CloseCode::Away, "server shutting down", ctx)
        });
        Session::create(|ctx| {
            ctx.add_stream(reader);
            ctx.spawn(shutdown);
            session
        })
    }

    /// Queues a frame; a socket whose queue is full is a slow consumer and gets closed.
    fn queue(&mut self, frame: Outbound, ctx: &mut Context<Self>) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.out.try_send(frame) {
            self.metrics.slow_sockets.increment(1);
            tracing::warn!("closing a socket whose outbound queue is full");
            self.close_reason = LeaveReason::SlowConsumer;
            ctx.stop();
        }
    }

    fn reply(&mut self, msg: &ServerMessage, kind: OutKind, ctx: &mut Context<Self>) {
        self.metrics.message_out(kind, 1);
        self.queue(Outbound::Text(ByteString::from(msg.to_json())), ctx);
    }

    fn reply_error(&mut self, err: ClientError, ctx: &mut Context<Self>) {
        self.metrics.error(err.code());
        self.reply(&err.to_message(), OutKind::Error, ctx);
    }

    /// Closes the socket with `code` and stops.
    fn close(&mut self, code: CloseCode, why: &str, ctx: &mut Context<Self>) {
        let reason = CloseReason {
            code,
            description: Some(why.to_string()),
        };
        self.queue_close(Some(reason));
        ctx.stop();
    }

    /// Queues the close frame; when the queue is full (a client that does not read) the socket
    /// is dropped instead, so it cannot hold the connection and its queued frames forever.
    fn queue_close(&mut self, reason: Option<CloseReason>) {
        if !self.closing {
            self.closing = true;
            if self.out.try_send(Outbound::Close(reason)).is_err() {
                self.writer.abort();
            }
        }
    }

    /// Handles one text frame from the client.
    fn on_text(&mut self, text: &str, ctx: &mut Context<Self>) {
        if !self.bucket.take(self.last_seen) {
            let err = ClientError::RateLimited(self.config.messages_per_second);
            return self.reply_error(err, ctx);
        }
        match self.dialect {
            Dialect::Native => {}
            Dialect::PeerJs(_) => return self.on_peerjs_text(text, ctx),
            Dialect::Broadcast { .. } => return self.on_broadcast_text(text, ctx),
        }
        match serde_json::from_str::<ClientMessage>(text) {
            Ok(msg) => self.dispatch(msg, ctx),
            Err(e) => {
                self.metrics.message_in(InKind::Invalid);
                self.reply_error(ClientError::BadRequest(e.to_string()), ctx)
            }
        }
    }

    fn dispatch(&mut self, msg: ClientMessage, ctx: &mut Context<Self>) {
        match msg {
            ClientMessage::Join {
                room,
                name,
                password,
                resume,
                token,
            } => self.join(room, name, password, resume, token, ctx),
            ClientMessage::Signal { to, data } => self.signal(to, data, ctx),
            ClientMessage::Leave => self.leave(ctx),
            ClientMessage::Ping => self.ping(ctx),
        }
    }

    fn signal(&mut self, to: PeerId, data: SignalData, ctx: &mut Context<Self>) {
        self.metrics.message_in(InKind::Signal);
        match &self.state {
            State::Joined { room, peer_id } => room.do_send(Forward {
                from: peer_id.clone(),
                to,
                data,
            }),
            State::Lobby { .. } => self.reply_error(ClientError::NotJoined, ctx),
        }
    }

    /// Whether the session has been in no room for `join_timeout`.
    fn lobby_expired(&self) -> bool {
        matches!(self.state, State::Lobby { since } if since.elapsed() >= self.config.join_timeout)
    }

    fn ping(&mut self, ctx: &mut Context<Self>) {
        self.metrics.message_in(InKind::Ping);
        self.reply(&ServerMessage::Pong, OutKind::Pong, ctx);
    }

    /// Pings the client, or drops it when it has been silent past `client_timeout`.
    fn heartbeat(&mut self, ctx: &mut Context<Self>) {
        if self.lobby_expired() {
            tracing::debug!("closing a socket that joined no room within join_timeout");
            self.metrics.refused(Refusal::JoinTimeout);
            return self.close(CloseCode::Policy, "join a room within join_timeout", ctx);
        }
        if self.last_seen.elapsed() > self.config.client_timeout {
            tracing::debug!("closing a silent socket");
            self.close_reason = LeaveReason::Timeout;
            return self.close(CloseCode::Away, "heartbeat timeout", ctx);
        }
        self.queue(Outbound::Ping, ctx);
    }
}

pub use crate::protocol::validate_name;

impl Actor for Session {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.metrics.sessions.increment(1.0);
        if let Some((room, name)) = self.dialect.membership() {
            self.join(room, name, None, None, None, ctx);
        }
        ctx.run_interval(self.config.heartbeat_interval, |act, ctx| {
            act.heartbeat(ctx)
        });
    }

    fn stopping(&mut self, ctx: &mut Self::Context) -> Running {
        self.metrics.sessions.decrement(1.0);
        if let State::Joined { room, peer_id } = std::mem::replace(&mut self.state, State::lobby())
        {
            room.do_send(Leave {
                peer_id,
                session: ctx.address().recipient(),
                reason: self.close_reason,
                quiet: self.going_away,
                hold_until: self.hold_seat_until(),
            });
        }
        self.queue_close(None);
        Running::Stop
    }
}

impl StreamHandler<Result<Inbound, ProtocolError>> for Session {
    fn handle(&mut self, item: Result<Inbound, ProtocolError>, ctx: &mut Context<Self>) {
        self.last_seen = Instant::now();
        match item {
            Ok(Inbound::Text(text)) => self.on_text(&text, ctx),
            Ok(Inbound::Ping(bytes)) => self.queue(Outbound::Pong(bytes), ctx),
            Ok(Inbound::Pong(_)) => {}
            Ok(Inbound::Binary(_)) => {
                tracing::debug!("closing a socket that sent a binary frame");
                self.metrics.refused(Refusal::BinaryFrame);
                self.close(
                    CloseCode::Unsupported,
                    "binary frames are not supported",
                    ctx,
                )
            }
            Ok(Inbound::Close(_)) => {
                self.said_goodbye = true;
                self.close(CloseCode::Normal, "bye", ctx)
            }
            Err(ProtocolError::Overflow) => {
                let limit = self.limit.get();
                tracing::debug!(limit, "closing a socket that sent a frame past its limit");
                self.metrics.refused(Refusal::FrameTooLarge);
                let why = if matches!(self.state, State::Lobby { .. }) {
                    "frame larger than lobby_max_frame_bytes (join a room first)"
                } else {
                    "frame larger than max_frame_bytes"
                };
                self.close(CloseCode::Size, why, ctx)
            }
            Err(ProtocolError::Io(e)) if e.kind() != std::io::ErrorKind::InvalidData => {
                tracing::debug!(error = %e, "socket read failed");
                ctx.stop();
            }
            Err(e) => {
                tracing::debug!(error = %e, "websocket protocol error");
                self.metrics.refused(Refusal::ProtocolError);
                self.close(CloseCode::Protocol, "protocol error", ctx)
            }
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl Session {
    /// Until when the room holds this session's seat after the socket ended: none when the
    /// member left or was dropped, `resume_after_close` after a close frame, otherwise
    /// `resume_window` after the last frame heard.
    fn hold_seat_until(&self) -> Option<Instant> {
        let c = &self.config;
        if !matches!(self.dialect, Dialect::Native) {
            return None; // a PeerJS id is free again once its socket is gone, as in PeerServer
        }
        match self.close_reason {
            LeaveReason::Left | LeaveReason::SlowConsumer | LeaveReason::Kicked => None,
            LeaveReason::Closed | LeaveReason::Timeout if self.said_goodbye => {
                Some(Instant::now() + c.resume_after_close)
            }
            LeaveReason::Closed | LeaveReason::Timeout => Some(self.last_seen + c.resume_window),
        }
    }
}
