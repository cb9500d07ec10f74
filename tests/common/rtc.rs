//! A raw WebRTC peer for relay tests: the benchmark's relay member (joins, offers to the relay,
//! opens `chat`), with its channel as plain text in and out, so tests can send what the client
//! library never would (forged `from`, duplicate ids).

use serde_json::Value;
use switchboard::bench::rtc::RelayMember;

use super::{TestServer, WAIT};

/// A member connected to the relay with a raw data channel.
pub struct RawPeer {
    /// Its peer id in the room.
    pub id: String,
    pub member: RelayMember,
}

impl RawPeer {
    /// Joins `room` as `name` and connects to the relay; returns once the channel is open.
    pub async fn join(server: &TestServer, room: &str, name: &str) -> RawPeer {
        let member = RelayMember::join(&server.ws_url(), room, name)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        RawPeer {
            id: member.peer_id.to_string(),
            member,
        }
    }

    /// Sends raw text on the channel.
    pub async fn send(&self, text: &str) {
        let sent = self.member.channel.send_text(text).await;
        sent.expect("send on channel");
    }

    /// The next channel message as JSON, within 5 s.
    pub async fn recv(&mut self) -> Value {
        let text = tokio::time::timeout(WAIT, self.member.inbox.recv())
            .await
            .expect("a channel message within 5 s")
            .expect("channel open");
        serde_json::from_str(&text).expect("JSON channel message")
    }

    /// The next channel message of type `kind`, skipping others (e.g. history).
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            let msg = self.recv().await;
            if msg["type"] == kind {
                return msg;
            }
        }
    }
}
