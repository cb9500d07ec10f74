//! A light relay member for the scale scenario: the sans-IO `rtc` stack driven by one small task
//! on its own UDP socket (127.0.0.1), instead of a `webrtc` peer connection with its own driver
//! tasks, so one bench process can hold thousands of members.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use rtc::data_channel::{RTCDataChannelId, RTCDataChannelInit};
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::event::{RTCDataChannelEvent, RTCPeerConnectionEvent};
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::transport::{CandidateConfig, CandidateHostConfig, RTCIceCandidate};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use serde_json::json;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

use super::conn;
use crate::protocol::{HostRef, ServerMessage};

/// How long one member may take from connect to an open channel.
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A relay member whose `chat` channel is open.
pub struct LiteMember {
    /// From the start of the WebSocket connect to the open channel.
    pub open: Duration,
    /// Text to send on the channel.
    pub outbox: mpsc::UnboundedSender<String>,
    /// Text arriving on the channel.
    pub inbox: mpsc::UnboundedReceiver<String>,
    /// Keeps the signaling socket open (dropping it leaves the room).
    _signaling: mpsc::UnboundedSender<()>,
}

impl LiteMember {
    /// Connects to `url`, joins `room` (which the relay must host) and opens the channel.
    pub async fn join(url: &str, room: &str, name: &str) -> Result<LiteMember> {
        tokio::time::timeout(JOIN_TIMEOUT, join(url, room, name))
            .await
            .map_err(|_| anyhow!("{name}: not connected to the relay within {JOIN_TIMEOUT:?}"))?
    }
}

async fn join(url: &str, room: &str, name: &str) -> Result<LiteMember> {
    let start = Instant::now();
    let ws = conn::connect(url).await?;
    let (mut tx, mut rx) = ws.split();
    let join = json!({"type": "join", "room": room, "name": name});
    tx.send(Message::text(join.to_string())).await?;
    loop {
        let frame = rx.next().await.context("socket closed before welcome")??;
        let Message::Text(text) = frame else { continue };
        match serde_json::from_str::<ServerMessage>(&text)? {
            ServerMessage::Welcome { host, .. } => {
                if host != Some(HostRef::Relay) {
                    bail!("room {room:?} is not hosted by the relay");
                }
                break;
            }
            ServerMessage::Error { message, .. } => bail!("join refused: {message}"),
            _ => {}
        }
    }
    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    let (mut pc, channel) = offerer(socket.local_addr()?)?;
    let offer = pc.local_description().context("no offer")?;
    let signal = json!({"type": "signal", "to": "relay", "data": offer});
    tx.send(Message::text(signal.to_string())).await?;
    let answer = loop {
        let frame = rx
            .next()
            .await
            .context("socket closed before the answer")??;
        let Message::Text(text) = frame else { continue };
        match serde_json::from_str::<ServerMessage>(&text)? {
            ServerMessage::Signal { from, data } if from.is_relay() => {
                let value: serde_json::Value = serde_json::from_str(data.get())?;
                if value["type"] == "answer" {
                    break serde_json::from_value::<RTCSessionDescription>(value)?;
                }
            }
            ServerMessage::Error { message, .. } => bail!("the relay refused: {message}"),
            _ => {}
        }
    };
    pc.set_remote_description(Instant::now(), answer)?;
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (in_tx, inbox) = mpsc::unbounded_channel();
    let (open_tx, opened) = oneshot::channel();
    let link = Link {
        pc,
        channel,
        socket,
        inbox: in_tx,
        opened: Some(open_tx),
    };
    tokio::spawn(link.run(out_rx));
    opened
        .await
        .context("the connection ended before its channel opened")?;
    let open = start.elapsed();
    // Keep reading the signaling socket (room notices, pings) until the member is dropped.
    let (keep, mut dropped) = mpsc::unbounded_channel::<()>();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                frame = rx.next() => if frame.is_none() { break },
                _ = dropped.recv() => break,
            }
        }
        let _ = tx.send(Message::Close(None)).await;
    });
    Ok(LiteMember {
        open,
        outbox: out_tx,
        inbox,
        _signaling: keep,
    })
}

/// An offering peer connection with an ordered `chat` channel and `local` as its host candidate.
fn offerer(local: SocketAddr) -> Result<(RTCPeerConnection, RTCDataChannelId)> {
    let now = Instant::now();
    let mut pc = RTCPeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .build(now)?;
    let init = RTCDataChannelInit {
        ordered: true,
        ..Default::default()
    };
    let channel = pc.create_data_channel("chat", Some(init))?.id();
    let candidate = CandidateHostConfig {
        base_config: CandidateConfig {
            network: "udp".to_owned(),
            address: local.ip().to_string(),
            port: local.port(),
            component: 1,
            ..Default::default()
        },
        ..Default::default()
    }
    .new_candidate_host()?;
    pc.add_local_candidate(RTCIceCandidate::from(&candidate).to_json()?)?;
    let offer = pc.create_offer(None)?;
    pc.set_local_description(now, offer)?;
    Ok((pc, channel))
}

/// One member's connection, driven by its own task.
struct Link {
    pc: RTCPeerConnection,
    channel: RTCDataChannelId,
    socket: UdpSocket,
    inbox: mpsc::UnboundedSender<String>,
    opened: Option<oneshot::Sender<()>>,
}

impl Link {
    async fn run(mut self, mut outbox: mpsc::UnboundedReceiver<String>) {
        let mut buf = vec![0u8; 2048];
        let local = match self.socket.local_addr() {
            Ok(addr) => addr,
            Err(_) => return,
        };
        // Start the connectivity checks now rather than at the first tick.
        let _ = self.pc.handle_timeout(Instant::now());
        loop {
            if !self.flush().await {
                return;
            }
            let deadline = self
                .pc
                .poll_timeout()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                received = self.socket.recv_from(&mut buf) => {
                    let Ok((n, from)) = received else { return };
                    let _ = self.pc.handle_read(TaggedBytesMut {
                        now: Instant::now(),
                        transport: TransportContext {
                            local_addr: local,
                            peer_addr: from,
                            ecn: None,
                            transport_protocol: TransportProtocol::UDP,
                        },
                        message: BytesMut::from(&buf[..n]),
                    });
                }
                text = outbox.recv() => {
                    let Some(text) = text else { return };
                    if let Some(mut dc) = self.pc.data_channel(self.channel) {
                        let _ = dc.send_text(Instant::now(), text);
                    }
                }
                () = tokio::time::sleep_until(deadline.into()) => {
                    let _ = self.pc.handle_timeout(Instant::now());
                }
            }
        }
    }

    /// Sends what the connection has to send and delivers its events and messages; false once
    /// it has failed or closed.
    async fn flush(&mut self) -> bool {
        loop {
            while let Some(out) = self.pc.poll_write() {
                let _ = self
                    .socket
                    .send_to(&out.message, out.transport.peer_addr)
                    .await;
            }
            let mut again = false;
            while let Some(event) = self.pc.poll_event() {
                match event {
                    RTCPeerConnectionEvent::OnIceConnectionStateChangeEvent(_) => {
                        // DTLS starts at the next timeout after ICE connects: run it now.
                        let _ = self.pc.handle_timeout(Instant::now());
                        again = true;
                    }
                    RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => {
                        use rtc::peer_connection::state::RTCPeerConnectionState as S;
                        if matches!(state, S::Failed | S::Closed) {
                            return false;
                        }
                        // DTLS starts at the next timeout after ICE connects: run it now.
                        let _ = self.pc.handle_timeout(Instant::now());
                        again = true;
                    }
                    RTCPeerConnectionEvent::OnDataChannel(RTCDataChannelEvent::OnOpen(_)) => {
                        if let Some(opened) = self.opened.take() {
                            let _ = opened.send(());
                        }
                    }
                    _ => {}
                }
            }
            while let Some(TaggedRTCMessage { message, .. }) = self.pc.poll_read() {
                if let RTCMessage::DataChannelMessage(_, msg) = message {
                    if let Ok(text) = String::from_utf8(msg.data.to_vec()) {
                        let _ = self.inbox.send(text);
                    }
                }
            }
            if !again {
                return true;
            }
        }
    }
}
