//! Switchboard: real-time group chat over WebRTC. An actix signaling hub carries SDP and ICE
//! between browsers (and Rust clients); chat flows over WebRTC data channels.
//!
//! # Layout (see `docs/ARCHITECTURE.md` for the actors and the module layers)
//! - [`config`]: typed configuration, defaults, validation naming the bad key.
//! - [`protocol`]: wire types of protocol v1 (signaling and data-channel messages).
//! - [`error`]: [`error::ClientError`] (stable codes sent to clients) and internal [`error::Error`].
//! - [`http`]: the actix-web app (`/ws`, `/api/rooms`, `/healthz`, `/metrics`, static files).
//! - [`session`]: the `Session` actor, one per WebSocket.
//! - [`room`]: the `Room` actor, one per room: members, host role, routing (it queues frames
//!   straight into each member's outbox, which its session's writer drains).
//! - [`registry`]: the `Registry` actor: room name → room, configured and dynamic rooms, room
//!   passwords, join and resume tokens, the admin API's gate, config reloads.
//! - [`resume`]: resume tokens (`welcome.resume`), which hand a member's seat to a new socket.
//! - [`reload`]: hot reload of the configuration file (SIGHUP, file changes).
//! - [`password`]: [`password::Password`], a room password that `Debug` never shows.
//! - [`auth`]: join tokens (JWT: HS256 or Ed25519), `[auth]` and `[admin]`.
//! - [`cli`]: `switchboard history` and `switchboard token`.
//! - [`cluster`]: several nodes sharing rooms through Redis (`[cluster]`, off by default).
//! - [`clock`]: wall-clock time as the protocol writes it.
//! - [`admission`]: who may open a WebSocket (`[limits]`).
//! - [`rate`]: the token bucket behind per-session and per-address rates.
//! - [`attempts`]: failed attempts per key (backoff, then a block), for room passwords.
//! - [`relay`]: the `Relay` actor, the server-side WebRTC peer that hosts a room's chat.
//! - [`peer`]: one WebRTC peer connection as the relay, the Rust client and the benchmark use it.
//! - [`slots`]: connections per address (WebSockets, relay connections).
//! - [`outbox`]: the queue of one WebSocket, shared by its session and its room.
//! - [`metrics`]: the Prometheus figures.
//! - [`storage`]: durable chat history (the [`storage::Storage`] trait, SQLite by default).
//! - [`client`]: the Rust client library (every topology, reconnect) behind `switchboard chat`.
//! - [`bench`]: `switchboard bench`, the load scenarios and their report.

/// Log directives that keep the WebRTC stack's internals quiet: its per-connection chatter
/// (state changes at info, a warning every ICE check while a member has sent no candidate)
/// would let one client write hundreds of lines; a STUN server that cannot be resolved is an error
/// per peer connection, which `relay::checks` reports once instead. Added to the default log
/// filter.
pub const QUIET_WEBRTC_LOGS: &str = "rtc=warn,rtc_ice=error,rtc_dtls=error,rtc_sctp=error,\
    webrtc=warn,webrtc::peer_connection::transport::stun_gatherer=off";

#[cfg(feature = "server")]
pub mod admission;
#[cfg(feature = "server")]
pub mod attempts;
#[cfg(feature = "server")]
pub mod auth;
#[cfg(feature = "server")]
pub mod bench;
#[cfg(feature = "server")]
pub mod cli;
pub mod client;
pub mod clock;
#[cfg(feature = "server")]
pub mod cluster;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod error;
/// Property tests over everything parsed from the network (`cargo test`; `scripts/fuzz.sh`
/// runs millions of cases).
#[cfg(all(test, feature = "server"))]
mod fuzz;
#[cfg(feature = "server")]
pub mod http;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod outbox;
pub mod password;
pub mod peer;
pub mod protocol;
#[cfg(feature = "server")]
pub mod rate;
#[cfg(feature = "server")]
pub mod redis_link;
#[cfg(feature = "server")]
pub mod registry;
#[cfg(feature = "server")]
pub mod relay;
#[cfg(feature = "server")]
pub mod reload;
#[cfg(feature = "server")]
pub mod resume;
#[cfg(feature = "server")]
pub mod room;
#[cfg(feature = "server")]
pub mod session;
#[cfg(feature = "server")]
pub mod slots;
#[cfg(feature = "server")]
pub mod storage;
