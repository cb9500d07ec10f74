//! Which protocol a session's client speaks: Switchboard's own, PeerJS's (`peerjs.rs`), or the
//! broadcast signaling of simple-peer apps (`broadcast.rs`). The dialects other than the native
//! one join their room as the socket opens and translate frames at the two ends of the session;
//! the rooms see ordinary members.

use bytestring::ByteString;

use super::broadcast;
use super::peerjs::{PeerJs, PeerJsOut};

/// What a session's client speaks.
#[derive(Clone, Debug)]
pub enum Dialect {
    /// Switchboard's protocol (docs/PROTOCOL.md).
    Native,
    /// PeerServer's protocol, as the peer `id` in the PeerJS room.
    PeerJs(PeerJs),
    /// Every text frame goes to every other client of `room` (as the classic `ws` broadcast
    /// server of simple-peer examples does).
    Broadcast { room: String },
}

impl Dialect {
    /// The room and name the socket joins as it opens (not the native protocol's: it says).
    pub fn membership(&self) -> Option<(String, String)> {
        match self {
            Dialect::Native => None,
            Dialect::PeerJs(p) => Some((p.room.clone(), p.id.clone())),
            Dialect::Broadcast { room } => {
                Some((room.clone(), format!("peer-{:08x}", rand::random::<u32>())))
            }
        }
    }

    /// The translation of frames on their way out to the client.
    pub fn outbound(&self) -> Outbound {
        match self {
            Dialect::Native => Outbound::Native,
            Dialect::PeerJs(p) => Outbound::PeerJs(PeerJsOut::new(&p.id)),
            Dialect::Broadcast { .. } => Outbound::Broadcast,
        }
    }
}

/// The session writer's end of a dialect: the hub's frames as the client expects them.
#[derive(Debug)]
pub enum Outbound {
    Native,
    PeerJs(PeerJsOut),
    Broadcast,
}

impl Outbound {
    /// The frame to send for one of the hub's frames (none: nothing for this client).
    pub fn translate(&mut self, frame: ByteString) -> Option<ByteString> {
        match self {
            Outbound::Native => Some(frame),
            Outbound::PeerJs(p) => p.translate(&frame),
            Outbound::Broadcast => broadcast::translate(&frame),
        }
    }
}
