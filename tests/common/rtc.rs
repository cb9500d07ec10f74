//! A raw WebRTC peer for relay tests: the benchmark's relay member (joins, offers to the relay,
//! opens `chat`), with its channel as plain text in and out, so tests can send what the client
//! library never would (forged `from`, duplicate ids).

use serde_json::Value;
use switchboard::bench::rtc::RelayMember;
use switchboard::protocol::ChatMessage;

use super::{TestServer, WAIT};

/// An offer as Chromium makes it for one data channel (trimmed to what matters); nobody answers
/// the relay's ICE checks for it.
pub const OFFER: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
    a=group:BUNDLE 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 127.0.0.1\r\n\
    a=ice-ufrag:abcd\r\na=ice-pwd:aaaaaaaaaaaaaaaaaaaaaaaa\r\na=ice-options:trickle\r\n\
    a=fingerprint:sha-256 0F:74:31:25:CB:A2:13:EC:28:6F:6D:2C:61:FF:5D:C2:BC:B9:DB:3D:98:14:8D:1A:BB:EA:33:0C:A4:60:A8:8E\r\n\
    a=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n";

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

    /// Sends `n` chat messages `{prefix}{i}` and waits for every ack; returns their seqs.
    pub async fn send_acked(&mut self, prefix: &str, n: usize) -> Vec<u64> {
        for i in 0..n {
            self.send(&chat(&format!("{prefix}{i}"), &format!("text {i}")))
                .await;
        }
        let mut seqs = Vec::new();
        while seqs.len() < n {
            let ack = self.expect("ack").await;
            seqs.push(ack["seq"].as_u64().expect("ack carries seq"));
        }
        seqs
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

/// A chat frame as a member sends it (`from` and `name` are the relay's to stamp).
pub fn chat(id: &str, text: &str) -> String {
    serde_json::json!({"type": "chat", "id": id, "from": "x", "name": "x", "text": text, "ts": 1})
        .to_string()
}

/// Reads `history` messages from a member until it holds `n` messages, skipping anything else.
pub async fn history_of(member: &mut RelayMember, n: usize) -> Vec<ChatMessage> {
    let mut got = Vec::new();
    while got.len() < n {
        let text = tokio::time::timeout(WAIT, member.inbox.recv())
            .await
            .unwrap_or_else(|_| panic!("history: {} of {n} messages within 5 s", got.len()))
            .expect("channel open");
        let msg: Value = serde_json::from_str(&text).expect("JSON channel message");
        if msg["type"] == "history" {
            let part: Vec<ChatMessage> =
                serde_json::from_value(msg["messages"].clone()).expect("history messages");
            got.extend(part);
        }
    }
    got
}
