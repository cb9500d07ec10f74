//! One member as the relay sees it: where its connection in the engine stands, its name and its
//! send rate.

use webrtc::peer_connection::RTCIceCandidateInit;

use super::engine::ConnId;
use super::slots::AddressSlot;
use crate::rate::TokenBucket;

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
}

impl RelayMember {
    /// Its connection in the engine, once answered.
    pub fn conn(&self) -> Option<ConnId> {
        match self.link {
            Link::Answering { .. } => None,
            Link::Connecting(conn) | Link::Open(conn) => Some(conn),
        }
    }

    /// Its connection, if the chat channel is open.
    pub fn open(&self) -> Option<ConnId> {
        match self.link {
            Link::Open(conn) => Some(conn),
            _ => None,
        }
    }
}
