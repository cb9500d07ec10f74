//! The client's peer connections: one [`Link`] per peer (or the relay), built as offerer or
//! answerer, whose webrtc events come back to the engine tagged with the peer and attempt.

use std::sync::Arc;

use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, RTCDataChannelInit};
use webrtc::peer_connection::{PeerConnection, RTCIceCandidateInit, RTCSessionDescription};

use crate::peer::{self, ChannelEvent, ChannelWriter, PeerEvent, PeerSettings};
use crate::protocol::PeerId;

/// An event of one link, for the engine.
pub struct LinkEvent {
    /// Whose link.
    pub peer: PeerId,
    /// Which attempt (events of replaced links are ignored).
    pub conn: u64,
    /// What happened.
    pub kind: LinkEventKind,
}

/// Peer-connection or channel event.
pub enum LinkEventKind {
    /// From the peer connection.
    Peer(PeerEvent),
    /// From the chat channel.
    Channel(ChannelEvent),
}

/// The connection to one peer.
pub struct Link {
    /// Attempt number.
    pub conn: u64,
    /// Whether this side made the offer (and so retries it).
    pub offerer: bool,
    /// When it was started (a link not open in time has failed).
    pub started: tokio::time::Instant,
    pc: Arc<dyn PeerConnection>,
    channel: Option<Arc<dyn DataChannel>>,
    writer: Option<ChannelWriter>,
    /// Frames waiting for the channel to open.
    outbox: Vec<Arc<str>>,
    pending: Vec<RTCIceCandidateInit>,
    remote_set: bool,
}

impl Link {
    /// Builds a connection that will offer (it creates the `chat` channel).
    pub async fn offerer(
        settings: &PeerSettings,
        peer: PeerId,
        conn: u64,
        events: &mpsc::UnboundedSender<LinkEvent>,
    ) -> webrtc::error::Result<(Link, RTCSessionDescription)> {
        let pc = peer::build(settings, 0, sink(peer.clone(), conn, events.clone())).await?;
        let init = RTCDataChannelInit {
            ordered: true,
            ..Default::default()
        };
        let channel = pc.create_data_channel("chat", Some(init)).await?;
        pump(channel.clone(), peer, conn, events.clone());
        let offer = pc.create_offer(None).await?;
        pc.set_local_description(offer.clone()).await?;
        let mut link = Link::new(pc, conn);
        link.offerer = true;
        link.channel = Some(channel);
        Ok((link, offer))
    }

    /// Builds a connection that answers `offer` (the remote side creates the channel).
    pub async fn answerer(
        settings: &PeerSettings,
        peer: PeerId,
        conn: u64,
        offer: RTCSessionDescription,
        events: &mpsc::UnboundedSender<LinkEvent>,
    ) -> webrtc::error::Result<(Link, RTCSessionDescription)> {
        let pc = peer::build(settings, 0, sink(peer, conn, events.clone())).await?;
        pc.set_remote_description(offer).await?;
        let answer = pc.create_answer(None).await?;
        pc.set_local_description(answer.clone()).await?;
        let mut link = Link::new(pc, conn);
        link.remote_set = true;
        Ok((link, answer))
    }

    fn new(pc: Arc<dyn PeerConnection>, conn: u64) -> Link {
        Link {
            conn,
            offerer: false,
            started: tokio::time::Instant::now(),
            pc,
            channel: None,
            writer: None,
            outbox: Vec::new(),
            pending: Vec::new(),
            remote_set: false,
        }
    }

    /// Applies the remote answer, then any candidates that arrived before it.
    pub async fn answered(&mut self, answer: RTCSessionDescription) -> webrtc::error::Result<()> {
        self.pc.set_remote_description(answer).await?;
        self.remote_set = true;
        for candidate in std::mem::take(&mut self.pending) {
            self.pc.add_ice_candidate(candidate).await?;
        }
        Ok(())
    }

    /// Adds a remote candidate (buffered until the remote description is set).
    pub async fn candidate(&mut self, candidate: RTCIceCandidateInit) {
        if candidate.candidate.is_empty() {
            return;
        }
        if !self.remote_set {
            return self.pending.push(candidate);
        }
        if let Err(e) = self.pc.add_ice_candidate(candidate).await {
            tracing::debug!(error = %e, "could not add a remote candidate");
        }
    }

    /// The remote side opened the channel (answerer side): keep polling it.
    pub fn adopt(
        &mut self,
        channel: Arc<dyn DataChannel>,
        peer: PeerId,
        events: &mpsc::UnboundedSender<LinkEvent>,
    ) {
        pump(channel.clone(), peer, self.conn, events.clone());
        self.channel = Some(channel);
    }

    /// The channel opened: start writing, oldest queued frame first.
    pub fn opened(&mut self) {
        if let Some(channel) = &self.channel {
            let writer = ChannelWriter::spawn(channel.clone());
            for frame in self.outbox.drain(..) {
                writer.send(frame);
            }
            self.writer = Some(writer);
        }
    }

    /// Whether the channel is open.
    pub fn is_open(&self) -> bool {
        self.writer.is_some()
    }

    /// Sends a frame now, or when the channel opens.
    pub fn send(&mut self, frame: Arc<str>) {
        match &self.writer {
            Some(writer) => writer.send(frame),
            None => self.outbox.push(frame),
        }
    }

    /// Closes the connection in the background.
    pub fn close(self) {
        tokio::spawn(async move {
            let _ = self.pc.close().await;
        });
    }
}

fn sink(peer: PeerId, conn: u64, events: mpsc::UnboundedSender<LinkEvent>) -> peer::EventSink {
    Box::new(move |event| {
        let _ = events.send(LinkEvent {
            peer: peer.clone(),
            conn,
            kind: LinkEventKind::Peer(event),
        });
    })
}

fn pump(
    channel: Arc<dyn DataChannel>,
    peer: PeerId,
    conn: u64,
    events: mpsc::UnboundedSender<LinkEvent>,
) {
    tokio::spawn(peer::pump_channel(channel, move |event| {
        let _ = events.send(LinkEvent {
            peer: peer.clone(),
            conn,
            kind: LinkEventKind::Channel(event),
        });
    }));
}
