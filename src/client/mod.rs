//! The Rust client: joins a room over protocol v1 and chats over WebRTC data channels in every
//! topology, exactly like the browser client (mesh, host as member or as elected host, relay),
//! with ids, outbox, resend after a host change, dedupe, and reconnect with backoff.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use switchboard::client::{Client, ClientConfig, Event};
//! let config = ClientConfig::new("ws://127.0.0.1:8080/ws", "lobby", "bot");
//! let (client, mut events) = Client::connect(config).await?;
//! client.send("hello");
//! while let Some(event) = events.recv().await {
//!     if let Event::Chat { message } = event {
//!         println!("{}: {}", message.name, message.text);
//!     }
//! }
//! # Ok(()) }
//! ```

mod ask;
mod chat;
mod engine;
mod links;
mod liveness;
mod negotiate;
mod reconnect;
mod resume;
mod retry;
mod seat;
mod store;
pub mod terminal;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;

pub use self::store::{now_ms, ChatStore};
use crate::password::Password;
use crate::protocol::{
    ChatMessage, ErrorCode, HostRef, IceServer, LeaveReason, PeerId, PeerInfo, Topology,
};

/// Where to connect and as whom.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Signaling URL, e.g. `ws://127.0.0.1:8080/ws`.
    pub url: String,
    /// Room to join.
    pub room: String,
    /// Display name.
    pub name: String,
    /// Room password, if it has one.
    pub password: Option<Password>,
    /// Join token (JWT), for rooms that need one (`Debug` does not show it).
    pub token: Option<Password>,
    /// ICE servers to use instead of the ones the server offers (`Some(vec![])` in tests).
    pub ice_servers: Option<Vec<IceServer>>,
    /// Address the client's ICE sockets bind (`127.0.0.1` in tests; `0.0.0.0` for real use).
    pub bind: IpAddr,
    /// Reconnect (and rejoin) after losing the socket.
    pub reconnect: bool,
    /// First reconnect delay; doubles up to `max_backoff`.
    pub backoff: Duration,
    /// Longest reconnect delay.
    pub max_backoff: Duration,
    /// A file that keeps where to resume the relay's chat (the last `seq` seen) across runs;
    /// without it the point is kept in memory only.
    pub resume_file: Option<PathBuf>,
    /// A socket that delivers nothing for this long is taken for dead: the client drops it,
    /// reconnects and resumes its seat. It sends `ping` after a quarter of it.
    pub silence_timeout: Duration,
}

impl ClientConfig {
    /// Defaults: the server's ICE servers, any local address, reconnect from 250 ms up to 5 s.
    pub fn new(url: &str, room: &str, name: &str) -> ClientConfig {
        ClientConfig {
            url: url.to_string(),
            room: room.to_string(),
            name: name.to_string(),
            password: None,
            token: None,
            ice_servers: None,
            bind: IpAddr::from([0, 0, 0, 0]),
            reconnect: true,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
            resume_file: None,
            silence_timeout: Duration::from_secs(15),
        }
    }

    /// Loopback only, no STUN/TURN: for tests and benchmarks on one machine.
    pub fn loopback(mut self) -> ClientConfig {
        self.bind = IpAddr::from([127, 0, 0, 1]);
        self.ice_servers = Some(Vec::new());
        self
    }
}

/// State of the data-channel link to one peer (or the relay).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Negotiating.
    Connecting,
    /// The chat channel is open.
    Open,
    /// Closed (peer left, host changed).
    Closed,
    /// ICE or DTLS failed.
    Failed,
}

/// What happens in the room, as the client sees it.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Joined (also after each reconnect): own id, topology, host, the others. `resumed`: the
    /// same membership came back after a lost socket (same id; nobody saw it leave).
    Joined {
        room: String,
        peer_id: PeerId,
        topology: Topology,
        host: Option<HostRef>,
        members: Vec<PeerInfo>,
        resumed: bool,
    },
    /// Someone joined.
    MemberJoined { peer: PeerInfo },
    /// Someone left.
    MemberLeft {
        peer_id: PeerId,
        name: Option<String>,
        reason: LeaveReason,
    },
    /// The host changed.
    HostChanged { host: HostRef },
    /// A chat message from someone else.
    Chat { message: ChatMessage },
    /// Our own message, as sent. `confirmed`: there is no confirmation to wait for (in a mesh,
    /// and as host, it goes straight onto every member's link); otherwise [`Event::Delivered`]
    /// follows when the host or relay acknowledges it.
    Sent {
        message: ChatMessage,
        confirmed: bool,
    },
    /// The host or relay acknowledged our message `id`.
    Delivered { id: String },
    /// The relay's history (already-seen messages removed).
    History { messages: Vec<ChatMessage> },
    /// The link to a peer changed state.
    Connection { peer: PeerId, state: LinkState },
    /// The server refused something (`peer`: the link it is about, e.g. `relay`).
    ServerError {
        code: ErrorCode,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        peer: Option<PeerId>,
    },
    /// A failed link is offered again after `delay_ms` (its `attempt`-th failure in a row).
    Retrying {
        peer: PeerId,
        attempt: u32,
        delay_ms: u64,
    },
    /// The server is shutting down; the client reconnects after about `retry_after_ms`.
    ServerShutdown { reason: String, retry_after_ms: u64 },
    /// The socket was lost; reconnecting after `delay_ms`.
    Reconnecting { attempt: u32, delay_ms: u64 },
    /// Another connection resumed this membership (the same resume token): this client stops.
    Replaced,
    /// An operator removed this client from the room, saying why; the client stops.
    Kicked { reason: String },
    /// The room was closed (by an operator, or removed from the config); the client stops.
    RoomClosed { reason: String },
    /// A notice from the room's operator.
    Announcement { text: String },
    /// The client left (or gave up); no more events follow.
    Left,
}

/// Why [`Client::connect`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The server refused the join.
    #[error("{message} ({code:?})")]
    Refused { code: ErrorCode, message: String },
    /// The socket could not be opened or closed before `welcome`.
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
}

/// What the handle asks the engine to do.
#[derive(Debug)]
enum Command {
    Send(String),
    Leave,
}

/// A joined client: send chat with it; events arrive on the receiver `connect` returned.
#[derive(Clone)]
pub struct Client {
    commands: mpsc::UnboundedSender<Command>,
}

impl Client {
    /// Connects, joins, and returns once `welcome` arrived (or the join was refused).
    pub async fn connect(
        config: ClientConfig,
    ) -> Result<(Client, mpsc::UnboundedReceiver<Event>), ConnectError> {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (commands_tx, commands_rx) = mpsc::unbounded_channel();
        let engine = engine::Engine::join(config, events_tx).await?;
        tokio::spawn(engine.run(commands_rx));
        Ok((
            Client {
                commands: commands_tx,
            },
            events_rx,
        ))
    }

    /// Sends a chat line (queued until a link is open).
    pub fn send(&self, text: &str) {
        let _ = self.commands.send(Command::Send(text.to_string()));
    }

    /// Leaves the room and closes everything; the event stream ends with [`Event::Left`].
    pub fn leave(&self) {
        let _ = self.commands.send(Command::Leave);
    }
}
