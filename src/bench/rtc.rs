//! A lean WebRTC member for the relay scenarios: joins over a bench socket, offers to the relay,
//! and hands back its open `chat` channel plus the time each step of the join took.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use webrtc::data_channel::{DataChannel, RTCDataChannelInit};
use webrtc::peer_connection::{PeerConnection, RTCIceCandidateInit, RTCSessionDescription};

use super::conn;
use crate::peer::{self, ChannelEvent, PeerEvent, PeerSettings};
use crate::protocol::{ChannelMessage, ChatMessage, HostRef, PeerId, ServerMessage};

/// How long one member may take from connect to an open channel.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// When each step of a join finished, measured from the start of the WebSocket connect.
#[derive(Clone, Copy, Debug)]
pub struct JoinTimes {
    /// The WebSocket is open.
    pub connected: Duration,
    /// `welcome` arrived.
    pub welcomed: Duration,
    /// The data channel to the relay is open.
    pub open: Duration,
}

/// A member of a relay room with an open data channel (used by the relay benchmarks and by the
/// relay integration tests, which send raw text on the channel).
pub struct RelayMember {
    /// Its id in the room.
    pub peer_id: PeerId,
    /// The resume token of its `welcome`.
    pub resume: String,
    /// The signaling socket (kept open: closing it leaves the room).
    pub socket: conn::Member,
    /// The peer connection to the relay.
    pub pc: Arc<dyn PeerConnection>,
    /// The `chat` channel.
    pub channel: Arc<dyn DataChannel>,
    /// Text messages arriving on the channel.
    pub inbox: mpsc::UnboundedReceiver<String>,
    /// How long each step of the join took.
    pub times: JoinTimes,
    /// The recent messages the relay replayed on joining (the first `history` message; a
    /// longer replay's further parts arrive in `inbox`). Empty after [`RelayMember::join_after`].
    pub replayed: Vec<ChatMessage>,
}

impl RelayMember {
    /// Connects to `url`, joins `room` (which the relay must host), opens the channel and asks
    /// for the recent messages; returns once they arrived (in [`RelayMember::replayed`]): the
    /// member is live then.
    pub async fn join(url: &str, room: &str, name: &str) -> Result<RelayMember> {
        let joining = async {
            let mut member = Self::join_inner(url, room, name, Extra::None, None).await?;
            loop {
                let text = member.inbox.recv().await.context("channel closed")?;
                if let Ok(ChannelMessage::History { messages }) = serde_json::from_str(&text) {
                    member.replayed = messages;
                    return Ok(member);
                }
            }
        };
        tokio::time::timeout(JOIN_TIMEOUT, joining)
            .await
            .map_err(|_| anyhow!("{name}: not connected to the relay within {JOIN_TIMEOUT:?}"))?
    }

    /// Like [`RelayMember::join`], but resumes after `seq`: what it missed arrives in `inbox`
    /// (as `history` messages), then live chat. Returns once the channel is open.
    pub async fn join_after(url: &str, room: &str, name: &str, seq: u64) -> Result<RelayMember> {
        let joining = Self::join_inner(url, room, name, Extra::None, Some(seq));
        tokio::time::timeout(JOIN_TIMEOUT, joining)
            .await
            .map_err(|_| anyhow!("{name}: not connected to the relay within {JOIN_TIMEOUT:?}"))?
    }

    /// Like [`RelayMember::join_after`] on a new socket that resumes the seat of `token` (a
    /// member back after a network blip); the join must resume it.
    pub async fn resume(
        url: &str,
        room: &str,
        name: &str,
        token: &str,
        seq: u64,
    ) -> Result<RelayMember> {
        let joining = Self::join_inner(url, room, name, Extra::Resume(token), Some(seq));
        tokio::time::timeout(JOIN_TIMEOUT, joining)
            .await
            .map_err(|_| anyhow!("{name}: not connected to the relay within {JOIN_TIMEOUT:?}"))?
    }

    /// Like [`RelayMember::join`] with a join token (`token`).
    pub async fn join_with_token(
        url: &str,
        room: &str,
        name: &str,
        token: &str,
    ) -> Result<RelayMember> {
        let joining = Self::join_inner(url, room, name, Extra::Token(token), None);
        tokio::time::timeout(JOIN_TIMEOUT, joining)
            .await
            .map_err(|_| anyhow!("{name}: not connected to the relay within {JOIN_TIMEOUT:?}"))?
    }

    async fn join_inner(
        url: &str,
        room: &str,
        name: &str,
        extra: Extra<'_>,
        after: Option<u64>,
    ) -> Result<RelayMember> {
        let start = Instant::now();
        let ws = conn::connect(url).await?;
        let connected = start.elapsed();
        let (mut tx, mut rx) = ws.split();
        let mut join = json!({"type": "join", "room": room, "name": name});
        match extra {
            Extra::Resume(token) => join["resume"] = json!(token),
            Extra::Token(token) => join["token"] = json!(token),
            Extra::None => {}
        }
        let resuming = matches!(extra, Extra::Resume(_));
        tx.send(Message::text(join.to_string())).await?;
        let (peer_id, seat) = loop {
            let frame = rx.next().await.context("socket closed before welcome")??;
            let Message::Text(text) = frame else { continue };
            match serde_json::from_str::<ServerMessage>(&text)? {
                ServerMessage::Welcome {
                    host,
                    peer_id,
                    resume,
                    resumed,
                    ..
                } => {
                    if host != Some(HostRef::Relay) {
                        bail!("room {room:?} is not hosted by the relay");
                    }
                    if resuming && !resumed {
                        bail!("the join did not resume the seat");
                    }
                    break (peer_id, resume);
                }
                ServerMessage::Error { message, .. } => bail!("join refused: {message}"),
                _ => {}
            }
        };
        let welcomed = start.elapsed();

        let (ev_tx, mut events) = mpsc::unbounded_channel();
        let pc = peer::build(
            &PeerSettings::loopback(),
            0,
            Box::new(move |e| drop(ev_tx.send(e))),
        )
        .await?;
        let init = RTCDataChannelInit {
            ordered: true,
            ..Default::default()
        };
        let channel = pc.create_data_channel("chat", Some(init)).await?;
        let (in_tx, inbox) = mpsc::unbounded_channel();
        let (open_tx, mut opened) = mpsc::unbounded_channel();
        tokio::spawn(peer::pump_channel(channel.clone(), move |e| match e {
            ChannelEvent::Open => drop(open_tx.send(())),
            ChannelEvent::Text(t) => drop(in_tx.send(t)),
            ChannelEvent::Closed => {}
        }));
        let offer = pc.create_offer(None).await?;
        pc.set_local_description(offer.clone()).await?;
        let signal = |data: serde_json::Value| {
            Message::text(json!({"type": "signal", "to": "relay", "data": data}).to_string())
        };
        tx.send(signal(serde_json::to_value(&offer)?)).await?;
        loop {
            tokio::select! {
                Some(()) = opened.recv() => break,
                Some(event) = events.recv() => {
                    if let PeerEvent::Candidate(c) = event {
                        tx.send(signal(json!({"type": "candidate", "candidate": c}))).await?;
                    }
                }
                frame = rx.next() => {
                    let Message::Text(text) = frame.context("socket closed during the handshake")?? else {
                        continue;
                    };
                    apply_signal(&pc, &text).await?;
                }
            }
        }
        let open = start.elapsed();
        let resume = ChannelMessage::Resume { after }.encode();
        channel.send_text(&resume).await?;
        Ok(RelayMember {
            peer_id,
            resume: seat,
            socket: conn::Member {
                tx,
                rx,
                peers: Vec::new(),
            },
            pc,
            channel,
            inbox,
            times: JoinTimes {
                connected,
                welcomed,
                open,
            },
            replayed: Vec::new(),
        })
    }

    /// Leaves the room and closes the peer connection.
    pub async fn leave(mut self) {
        let _ = self
            .socket
            .tx
            .send(Message::text(r#"{"type":"leave"}"#))
            .await;
        let _ = self.socket.tx.send(Message::Close(None)).await;
        let _ = self.pc.close().await;
    }
}

/// What a `join` carries besides room and name.
#[derive(Clone, Copy)]
enum Extra<'a> {
    None,
    /// A resume token.
    Resume(&'a str),
    /// A join token.
    Token(&'a str),
}

/// Applies the relay's answer or a trickled candidate from one server frame.
async fn apply_signal(pc: &Arc<dyn PeerConnection>, text: &str) -> Result<()> {
    let ServerMessage::Signal { from, data } = serde_json::from_str::<ServerMessage>(text)? else {
        return Ok(());
    };
    if !from.is_relay() {
        return Ok(());
    }
    let data: serde_json::Value = serde_json::from_str(data.get())?;
    match data["type"].as_str() {
        Some("answer") => {
            let answer: RTCSessionDescription = serde_json::from_value(data)?;
            pc.set_remote_description(answer).await?;
        }
        Some("candidate") => {
            let c: RTCIceCandidateInit = serde_json::from_value(data["candidate"].clone())?;
            pc.add_ice_candidate(c).await?;
        }
        _ => {}
    }
    Ok(())
}
