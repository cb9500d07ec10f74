//! The one-port relay engine: every relay member's peer connection, in every room, is an `rtc`
//! (sans-IO) `RTCPeerConnection`, all driven by one task from one UDP socket (the server runs it
//! on the thread of its rooms and relays; [`EngineTask`]).
//! Datagrams are routed by [`Demux`](super::demux::Demux) (a known remote address, else the
//! STUN USERNAME's ufrag); the connections' timers sit in one heap, so an idle connection costs
//! nothing until its deadline.
//!
//! Relays talk to the engine through an [`EngineHandle`] (commands on a channel: no locks on the
//! packet path) and hear from it on the event channel they pass with each offer. Each
//! connection's outgoing messages wait in its own queue and enter SCTP only while less than
//! [`SEND_WINDOW`] is unacknowledged; a member whose queue stays above `max_buffered` for
//! `slow_grace` is closed as a slow consumer.

mod conn;
mod task;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::transport::RTCIceCandidateInit;
use tokio::sync::{mpsc, oneshot};

use crate::metrics::Metrics;

/// One connection of the engine.
pub type ConnId = u64;

/// Where the engine reports a connection's events (given with its offer).
pub type Events = mpsc::UnboundedSender<(ConnId, EngineEvent)>;

/// Unacknowledged bytes a data channel may hold in SCTP: larger bursts wedged Chromium's
/// association (see `WEBRTC-NOTES.md`); the rest waits in the connection's queue.
pub const SEND_WINDOW: usize = 64 * 1024;

/// Kernel buffer size of the shared socket: with the ~208 KiB default a burst drops datagrams.
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// What the engine reports about a connection.
#[derive(Debug, PartialEq, Eq)]
pub enum EngineEvent {
    /// Its data channel is open.
    Open,
    /// A text message arrived on its data channel.
    Text(String),
    /// A binary message of this many bytes arrived (the relay takes only text).
    Binary(usize),
    /// The engine has let go of it.
    Closed(CloseReason),
}

/// Why a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer closed its channel, or ICE/DTLS failed.
    Ended,
    /// Its channel was not open within the connect timeout.
    TimedOut,
    /// Its queue stayed above `max_buffered` for `slow_grace`.
    Slow,
}

/// How the engine binds, advertises and polices its connections.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// The one UDP address (port 0: any free port).
    pub bind: SocketAddr,
    /// Addresses put in each answer's host candidates, on the bound port. Empty: the bound
    /// address, which must then be concrete. The first is the address packets are taken to
    /// arrive on (ICE pairs them with it).
    pub advertise: Vec<IpAddr>,
    /// A connection whose channel is not open within this is freed.
    pub connect_timeout: Duration,
    /// Queued bytes per connection above which it risks being closed as slow ...
    pub max_buffered: usize,
    /// ... if it stays above for this long.
    pub slow_grace: Duration,
    /// Largest data-channel message, either way (the SDP's `max-message-size`).
    pub max_message_bytes: usize,
}

impl EngineOptions {
    /// Loopback, any port, the relay's default limits: for tests and benchmarks.
    pub fn loopback() -> EngineOptions {
        EngineOptions {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            advertise: Vec::new(),
            connect_timeout: Duration::from_secs(15),
            max_buffered: 64 * 1024,
            slow_grace: Duration::from_secs(2),
            max_message_bytes: 17 * 1024,
        }
    }
}

enum Command {
    Answer {
        offer: Box<RTCSessionDescription>,
        events: Events,
        reply: oneshot::Sender<Result<(ConnId, RTCSessionDescription), String>>,
    },
    Candidate {
        conn: ConnId,
        candidate: RTCIceCandidateInit,
    },
    Send {
        conns: Vec<ConnId>,
        text: Arc<str>,
    },
    Close {
        conn: ConnId,
    },
    Stats {
        reply: oneshot::Sender<EngineStats>,
    },
}

/// What the engine holds and has dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineStats {
    /// Connections it drives now.
    pub connections: usize,
    /// Datagrams from addresses no connection expects, dropped since start.
    pub unknown_datagrams: u64,
    /// Connections freed because their channel was not open within the connect timeout.
    pub timed_out: u64,
    /// Connections closed as slow consumers.
    pub slow: u64,
    /// Bytes queued behind the send windows of every connection.
    pub queued_bytes: usize,
}

/// How callers reach the engine; its thread ends when every handle is dropped.
#[derive(Clone)]
pub struct EngineHandle {
    commands: mpsc::UnboundedSender<Command>,
    /// The one UDP address every connection uses.
    pub local_addr: SocketAddr,
}

const STOPPED: &str = "the relay engine has stopped";

impl EngineHandle {
    /// Answers a member's offer with a new connection on the shared socket; its events go to
    /// `events`.
    pub async fn answer(
        &self,
        offer: RTCSessionDescription,
        events: Events,
    ) -> Result<(ConnId, RTCSessionDescription), String> {
        let (reply, answered) = oneshot::channel();
        let offer = Box::new(offer);
        self.commands
            .send(Command::Answer {
                offer,
                events,
                reply,
            })
            .map_err(|_| STOPPED.to_string())?;
        answered.await.map_err(|_| STOPPED.to_string())?
    }

    /// Adds a member's trickled ICE candidate to its connection.
    pub fn candidate(&self, conn: ConnId, candidate: RTCIceCandidateInit) {
        let _ = self.commands.send(Command::Candidate { conn, candidate });
    }

    /// Queues `text` on the connection's data channel (dropped if the connection is gone).
    pub fn send(&self, conn: ConnId, text: impl Into<Arc<str>>) {
        self.send_many(vec![conn], text.into());
    }

    /// Queues one message on several connections (a fan-out costs one command).
    pub fn send_many(&self, conns: Vec<ConnId>, text: Arc<str>) {
        if !conns.is_empty() {
            let _ = self.commands.send(Command::Send { conns, text });
        }
    }

    /// Closes a connection (no event follows).
    pub fn close(&self, conn: ConnId) {
        let _ = self.commands.send(Command::Close { conn });
    }

    /// What the engine holds now.
    pub async fn stats(&self) -> Option<EngineStats> {
        let (reply, stats) = oneshot::channel();
        self.commands.send(Command::Stats { reply }).ok()?;
        stats.await.ok()
    }
}

/// Binds `options.bind`; the engine runs once its [`EngineTask`] is spawned. Commands sent
/// meanwhile wait for it.
pub fn start(
    options: EngineOptions,
    metrics: Arc<Metrics>,
) -> io::Result<(EngineHandle, EngineTask)> {
    if options.advertise.is_empty() && options.bind.ip().is_unspecified() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a wildcard bind needs addresses to advertise",
        ));
    }
    let socket = std::net::UdpSocket::bind(options.bind)?;
    let sock = socket2::SockRef::from(&socket);
    let _ = sock.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = sock.set_send_buffer_size(SOCKET_BUFFER);
    socket.set_nonblocking(true)?;
    let local_addr = socket.local_addr()?;
    let (commands, rx) = mpsc::unbounded_channel();
    let task = EngineTask {
        socket,
        options,
        metrics,
        commands: rx,
    };
    Ok((
        EngineHandle {
            commands,
            local_addr,
        },
        task,
    ))
}

/// The engine, bound but not yet running.
pub struct EngineTask {
    socket: std::net::UdpSocket,
    options: EngineOptions,
    metrics: Arc<Metrics>,
    commands: mpsc::UnboundedReceiver<Command>,
}

impl EngineTask {
    async fn run(self) {
        match task::Engine::new(self.socket, self.options, self.metrics) {
            Ok(engine) => engine.run(self.commands).await,
            Err(e) => tracing::error!(error = %e, "the relay engine could not start"),
        }
    }

    /// Runs the engine on the current thread's `LocalSet` (an actix arbiter's). The server runs
    /// it beside its rooms and relays: a chat message then goes from the socket to the relay
    /// actor and back without waking another thread (measured: 32 % less CPU per delivered
    /// message at 50 msg/s per member, and a lower p99; docs/RELAY.md).
    pub fn spawn_local(self) {
        tokio::task::spawn_local(self.run());
    }

    /// Runs the engine on a thread of its own (`switchboard-relay`), with its own runtime.
    pub fn spawn_thread(self) -> io::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("switchboard-relay".into())
            .spawn(move || runtime.block_on(self.run()))?;
        Ok(())
    }
}
