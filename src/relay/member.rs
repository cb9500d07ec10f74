//! One member as the relay sees it: its peer connection, where the link stands, and the paced
//! writer of its chat channel.

use std::sync::Arc;
use std::time::Instant;

use webrtc::data_channel::DataChannel;
use webrtc::peer_connection::{PeerConnection, RTCIceCandidateInit};

use super::slots::AddressSlot;
use crate::peer::ChannelWriter;
use crate::rate::TokenBucket;

/// Where a member's connection to the relay stands.
pub enum Link {
    /// Building the connection and answering; remote candidates wait here.
    Answering { pending: Vec<RTCIceCandidateInit> },
    /// Answer sent; ICE, DTLS and SCTP under way (the channel, once announced, waits to open).
    Connecting(Option<Arc<dyn DataChannel>>),
    /// The chat channel is open.
    Open(ChannelWriter),
}

/// A member of the room with a connection to the relay.
pub struct RelayMember {
    /// Display name (stamped on its messages).
    pub name: String,
    /// Which connection attempt this is; events of older attempts are ignored.
    pub conn: u64,
    /// When the attempt started (for `connect_timeout`).
    pub started: Instant,
    /// The peer connection, once built.
    pub pc: Option<Arc<dyn PeerConnection>>,
    /// Link state.
    pub link: Link,
    /// Since when its unsent backlog has been above `max_buffered_bytes`.
    pub over_since: Option<Instant>,
    /// Its place in its address's count of relay connections (given back when dropped).
    pub _slot: AddressSlot,
    /// How many chat messages it may send now.
    pub bucket: TokenBucket,
}

impl RelayMember {
    /// Closes its peer connection in the background.
    pub fn close(&mut self) {
        let Some(pc) = self.pc.take() else { return };
        // At process shutdown there may be no runtime left; dropping the handle then suffices.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = pc.close().await {
                    tracing::debug!(error = %e, "closing a relay peer connection");
                }
            });
        }
    }

    /// The channel writer, if the channel is open.
    pub fn writer(&self) -> Option<&ChannelWriter> {
        match &self.link {
            Link::Open(writer) => Some(writer),
            _ => None,
        }
    }
}
