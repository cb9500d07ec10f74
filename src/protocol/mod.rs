//! Wire types of protocol v1: what clients and the server say to each other.
//!
//! Signaling messages travel as JSON text frames on `GET /ws`; chat messages travel over the `chat`
//! WebRTC data channel. Every object is tagged by `type`. This module has no actix or webrtc
//! imports: it is the public contract, documented with an example per variant in
//! `docs/PROTOCOL.md` (a unit test round-trips each example).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::password::Password;

mod channel;
mod code;
mod decode;

pub use self::channel::{ChannelMessage, ChatMessage};
pub use self::code::ErrorCode;
pub use self::decode::SignalData;

/// The reserved id of the server-side relay peer.
pub const RELAY_ID: &str = "relay";

/// Server-assigned identity of one member in one room: 128 random bits, hex encoded, never reused.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PeerId(Arc<str>);

impl PeerId {
    /// Draws a fresh, unguessable id.
    pub fn random() -> Self {
        let bits: u128 = rand::random();
        PeerId(format!("{bits:032x}").into())
    }

    /// The id of the relay peer (`"relay"`).
    pub fn relay() -> Self {
        PeerId(RELAY_ID.into())
    }

    /// Whether this is the relay's reserved id.
    pub fn is_relay(&self) -> bool {
        &*self.0 == RELAY_ID
    }

    /// Whether the id is letters and digits only (every id the server makes), so it can be
    /// written into JSON as it is.
    fn is_plain(&self) -> bool {
        self.0.bytes().all(|b| b.is_ascii_alphanumeric())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for PeerId {
    fn from(s: &str) -> Self {
        PeerId(s.into())
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({})", self.0)
    }
}

/// How the members of a room connect to each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topology {
    /// Everyone connects to everyone.
    Mesh,
    /// A star around one member (or, after failover, the relay) who forwards chat.
    Host,
    /// A star around the server's relay peer.
    Relay,
}

impl Topology {
    /// The topology as it is written in config and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Topology::Mesh => "mesh",
            Topology::Host => "host",
            Topology::Relay => "relay",
        }
    }
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A member as others see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// Server-assigned id.
    pub id: PeerId,
    /// Display name, unique in the room (case-insensitively).
    pub name: String,
    /// The identity a join token proved (`sub`), unique in the room; absent for members who
    /// joined without a token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

/// One ICE server handed to clients in `welcome` (the RTCIceServer dictionary).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceServer {
    /// `stun:` / `turn:` URLs.
    pub urls: Vec<String>,
    /// TURN username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Why a member left its room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// The client sent `leave`.
    Left,
    /// The socket closed or failed.
    Closed,
    /// The socket was silent for longer than `client_timeout`.
    Timeout,
    /// The member could not keep up with what it was sent and was dropped.
    SlowConsumer,
    /// An operator removed the member (admin API).
    Kicked,
}

/// Messages a client sends on the signaling socket. (Its `Deserialize` is in `decode.rs`: a
/// derived one would buffer `data` and could not keep it raw.)
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Enter a room under a display name (password only if the room has one). With `resume`
    /// (the token of an earlier `welcome`), take over that membership instead: same peer id,
    /// name, host role and place in the room.
    Join {
        room: String,
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<Password>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// Pass `data` (an SDP or ICE candidate object) to another member of the room, or to `relay`.
    Signal { to: PeerId, data: SignalData },
    /// Leave the room; the socket stays open and may join another.
    Leave,
    /// Liveness probe; the server answers `pong`.
    Ping,
}

/// Checks a display name; returns it trimmed.
pub fn validate_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    let chars = name.chars().count();
    if !(1..=32).contains(&chars) || name.chars().any(char::is_control) {
        return Err("must be 1-32 characters without control characters".into());
    }
    Ok(name.to_string())
}

/// The close code of a socket whose member a newer socket resumed (reason `replaced`): the
/// client must not reconnect by itself, or two sockets would take the seat from each other.
pub const CLOSE_REPLACED: u16 = 4001;

/// The close code of a socket whose member an operator kicked (the `kicked` message before it
/// says why): the client must not reconnect by itself.
pub const CLOSE_KICKED: u16 = 4002;

/// Who hosts a `host` or `relay` room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostRef {
    /// A member hosts (serialized as its peer id).
    Peer(PeerId),
    /// The server's relay hosts (serialized as `"relay"`).
    Relay,
}

impl Serialize for HostRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            HostRef::Peer(id) => s.serialize_str(id.as_str()),
            HostRef::Relay => s.serialize_str(RELAY_ID),
        }
    }
}

impl<'de> Deserialize<'de> for HostRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(if s == RELAY_ID {
            HostRef::Relay
        } else {
            HostRef::Peer(PeerId::from(s.as_str()))
        })
    }
}

/// Messages the server sends on the signaling socket.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Answer to `join`: your id, the room's topology and host, who is already there, ICE
    /// servers, and the token that resumes this membership after a lost socket. `resumed` says
    /// the join took over an existing membership (the lists are the room as it is now).
    Welcome {
        room: String,
        peer_id: PeerId,
        topology: Topology,
        host: Option<HostRef>,
        peers: Vec<PeerInfo>,
        ice_servers: Vec<IceServer>,
        resume: String,
        resumed: bool,
    },
    /// Sent to members when someone joins their room.
    PeerJoined { peer: PeerInfo },
    /// Sent to members when someone leaves their room.
    PeerLeft {
        peer_id: PeerId,
        reason: LeaveReason,
    },
    /// Sent to members when another member came back on a new socket (it resumed): links to it
    /// that died are negotiated again, by the side that offers them.
    PeerReconnected { peer_id: PeerId },
    /// Sent to members when the room's host changes; non-hosts offer to the new host.
    HostChanged { host: HostRef },
    /// Signaling data from another member (or the relay); `from` is stamped by the server.
    Signal { from: PeerId, data: SignalData },
    /// A request failed; the session stays open. `peer` names the link the error is about
    /// (`relay` when the relay refused or lost the member's connection to it).
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peer: Option<PeerId>,
    },
    /// Answer to `ping`.
    Pong,
    /// The server is stopping (SIGTERM): the socket closes next. Reconnect after about
    /// `retry_after_ms`, with backoff, and resume.
    ServerShutdown { reason: String, retry_after_ms: u64 },
    /// An operator removed you from the room, saying why; the socket closes next (4002): do
    /// not reconnect by yourself.
    Kicked { room: String, reason: String },
    /// A notice from the room's operator to everyone in it (`ts`: ms since the Unix epoch).
    Announcement { room: String, text: String, ts: u64 },
    /// The room was closed (by an operator, or removed from the config): you are in no room
    /// now; the socket stays open and may join another.
    RoomClosed { room: String, reason: String },
}

impl ServerMessage {
    /// The message as a JSON text frame.
    pub fn to_json(&self) -> String {
        match self {
            ServerMessage::Signal { from, data } if from.is_plain() => {
                // The hot path, written directly: `data` is already JSON and the id needs no
                // escaping, so this is one exact-size allocation and three copies.
                let (from, data) = (from.as_str(), data.get());
                let mut json = String::with_capacity(34 + from.len() + data.len());
                json.push_str(r#"{"type":"signal","from":""#);
                json.push_str(from);
                json.push_str(r#"","data":"#);
                json.push_str(data);
                json.push('}');
                json
            }
            // unwrap: these types have string keys and no failing Serialize impls
            _ => serde_json::to_string(self).unwrap(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;
    use serde_json::Value;

    #[test]
    fn signal_frames_written_directly_match_serde() {
        let data = SignalData::from_raw(
            serde_json::value::RawValue::from_string(r#"{"candidate":"a \"b\"","n":[1]}"#.into())
                .unwrap(),
        )
        .unwrap();
        for from in [PeerId::random(), PeerId::relay(), PeerId::from("odd\"id")] {
            let msg = ServerMessage::Signal {
                from,
                data: data.clone(),
            };
            assert_eq!(msg.to_json(), serde_json::to_string(&msg).unwrap());
        }
    }

    /// The JSON examples of `docs/PROTOCOL.md` fenced as `json <kind>`.
    fn examples(kind: &str) -> Vec<String> {
        let doc = include_str!("../../docs/PROTOCOL.md");
        let fence = format!("```json {kind}\n");
        doc.split(&fence)
            .skip(1)
            .map(|rest| rest.split("```").next().unwrap().trim().to_string())
            .collect()
    }

    fn round_trips<T: DeserializeOwned + Serialize>(kind: &str, expected: usize) {
        let examples = examples(kind);
        assert!(
            examples.len() >= expected,
            "{kind}: {} examples",
            examples.len()
        );
        for text in examples {
            let parsed: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let back = serde_json::to_value(&parsed).unwrap();
            let original: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, original, "round trip of {text}");
        }
    }

    #[test]
    fn every_documented_client_message_round_trips() {
        round_trips::<ClientMessage>("client", 5);
    }

    #[test]
    fn every_documented_server_message_round_trips() {
        round_trips::<ServerMessage>("server", 9);
    }

    #[test]
    fn every_documented_channel_message_round_trips() {
        round_trips::<ChannelMessage>("channel", 3);
    }

    #[test]
    fn every_error_code_is_documented() {
        let doc = include_str!("../../docs/PROTOCOL.md");
        for code in ErrorCode::ALL {
            assert!(
                doc.contains(&format!("| `{}` |", code.as_str())),
                "{code:?}"
            );
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }

    #[test]
    fn host_ref_uses_the_reserved_relay_id() {
        assert_eq!(serde_json::to_value(HostRef::Relay).unwrap(), "relay");
        let peer: HostRef = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(peer, HostRef::Peer(PeerId::from("abc")));
    }

    #[test]
    fn peer_ids_are_128_bit_hex_and_distinct() {
        let (a, b) = (PeerId::random(), PeerId::random());
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
