//! A raw WebRTC peer for relay tests: joins over a test socket, offers to the relay, and exposes
//! its `chat` channel as plain text in and out, so tests can send what the client library never
//! would (forged `from`, duplicate ids).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use switchboard::relay::peer::{self, ChannelEvent, PeerEvent, PeerSettings};
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, RTCDataChannelInit};
use webrtc::peer_connection::{PeerConnection, RTCIceCandidateInit, RTCSessionDescription};

use super::{TestServer, WsClient, WAIT};

/// A member connected to the relay with a raw data channel.
pub struct RawPeer {
    pub ws: WsClient,
    pub id: String,
    pub pc: Arc<dyn PeerConnection>,
    pub channel: Arc<dyn DataChannel>,
    pub inbox: mpsc::UnboundedReceiver<String>,
}

/// Loopback, no ICE servers.
pub fn loopback() -> PeerSettings {
    PeerSettings {
        ice_servers: vec![],
        bind: "127.0.0.1".parse().unwrap(),
    }
}

impl RawPeer {
    /// Joins `room` as `name` and connects to the relay; returns once the channel is open.
    pub async fn join(server: &TestServer, room: &str, name: &str) -> RawPeer {
        let mut ws = server.client().await;
        let welcome = ws.join(room, name).await;
        assert_eq!(welcome["host"], "relay", "{welcome}");
        let id = welcome["peer_id"].as_str().unwrap().to_string();
        let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
        let pc = peer::build(&loopback(), 0, Box::new(move |e| drop(ev_tx.send(e))))
            .await
            .expect("build peer");
        let init = RTCDataChannelInit {
            ordered: true,
            ..Default::default()
        };
        let channel = pc.create_data_channel("chat", Some(init)).await.unwrap();
        let (in_tx, inbox) = mpsc::unbounded_channel();
        let (open_tx, mut open_rx) = mpsc::unbounded_channel();
        tokio::spawn(peer::pump_channel(channel.clone(), move |e| match e {
            ChannelEvent::Open => drop(open_tx.send(())),
            ChannelEvent::Text(t) => drop(in_tx.send(t)),
            ChannelEvent::Closed => {}
        }));
        let offer = pc.create_offer(None).await.unwrap();
        pc.set_local_description(offer.clone()).await.unwrap();
        ws.signal("relay", serde_json::to_value(&offer).unwrap())
            .await;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => panic!("{name}: relay channel not open within 5 s"),
                Some(()) = open_rx.recv() => break,
                Some(PeerEvent::Candidate(c)) = ev_rx.recv() => {
                    ws.signal("relay", json!({"type": "candidate", "candidate": c})).await;
                }
                msg = ws.recv_within(Duration::from_millis(50)) => {
                    if let Some(msg) = msg {
                        apply_signal(&pc, &msg).await;
                    }
                }
            }
        }
        RawPeer {
            ws,
            id,
            pc,
            channel,
            inbox,
        }
    }

    /// Sends raw text on the channel.
    pub async fn send(&self, text: &str) {
        self.channel.send_text(text).await.expect("send on channel");
    }

    /// The next channel message as JSON, within 5 s.
    pub async fn recv(&mut self) -> Value {
        let text = tokio::time::timeout(WAIT, self.inbox.recv())
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

async fn apply_signal(pc: &Arc<dyn PeerConnection>, msg: &Value) {
    if msg["type"] != "signal" || msg["from"] != "relay" {
        return;
    }
    let data = &msg["data"];
    match data["type"].as_str() {
        Some("answer") => {
            let answer: RTCSessionDescription = serde_json::from_value(data.clone()).unwrap();
            pc.set_remote_description(answer).await.unwrap();
        }
        Some("candidate") => {
            let c: RTCIceCandidateInit = serde_json::from_value(data["candidate"].clone()).unwrap();
            pc.add_ice_candidate(c).await.unwrap();
        }
        _ => {}
    }
}
