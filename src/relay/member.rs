//! One member as the relay sees it: where its connection in the engine stands, its name and its
//! send rate.

use webrtc::peer_connection::RTCIceCandidateInit;

use super::engine::ConnId;
use crate::rate::TokenBucket;
use crate::slots::AddressSlot;

/// Where a member's connection to the relay stands.
pub enum Link {
    /// The engine is answering its offer; remote candidates wait here.
    Answering { pending: Vec<RTCIceCandidateInit> },
    /// Answer sent; ICE, DTLS and SCTP under way.
    Connecting(ConnId),
    /// The chat channel is open.
    Open(ConnId),
}

/// A member of the room with a connection to the relay.
pub struct RelayMember {
    /// Display name (stamped on its messages).
    pub name: String,
    /// Which offer this is; an answer to an older one is closed unused.
    pub attempt: u64,
    /// Link state.
    pub link: Link,
    /// Its place in its address's count of relay connections (given back when dropped).
    pub _slot: AddressSlot,
    /// How many chat messages it may send now.
    pub bucket: TokenBucket,
    /// What of the room's chat it has been sent.
    pub feed: Feed,
    /// Its join token lets it send chat (members without a token may).
    pub publish: bool,
    /// Its join token lets it receive chat and history.
    pub subscribe: bool,
}

/// What of the room's chat a member with an open channel has been sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feed {
    /// Nothing yet: the relay waits for its `resume` (or its first chat, or a short while).
    Waiting,
    /// Catching up on what came after `cursor`; `reading` while the store is being read;
    /// `sent` once some history went out.
    CatchingUp {
        cursor: u64,
        reading: bool,
        sent: bool,
    },
    /// Up to date: it gets every message as it is committed.
    Live,
}

impl RelayMember {
    /// Its connection in the engine, once answered.
    pub fn conn(&self) -> Option<ConnId> {
        match self.link {
            Link::Answering { .. } => None,
            Link::Connecting(conn) | Link::Open(conn) => Some(conn),
        }
    }

    /// Its connection, if the chat channel is open, it is up to date and may receive chat.
    pub fn live(&self) -> Option<ConnId> {
        self.open()
            .filter(|_| self.feed == Feed::Live && self.subscribe)
    }

    /// Its connection, if the chat channel is open.
    pub fn open(&self) -> Option<ConnId> {
        match self.link {
            Link::Open(conn) => Some(conn),
            _ => None,
        }
    }
}
