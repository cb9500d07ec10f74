//! The WebRTC handshake of the client's links: offering, answering, trickling candidates, and
//! what a link's events mean for the engine.

use serde_json::json;
use webrtc::peer_connection::{RTCIceCandidateInit, RTCPeerConnectionState, RTCSessionDescription};

use super::engine::Engine;
use super::links::{Link, LinkEvent, LinkEventKind};
use super::{Event, LinkState};
use crate::peer::{ChannelEvent, PeerEvent};
use crate::protocol::{PeerId, SignalData};

impl Engine {
    pub(super) async fn offer_to(&mut self, peer: PeerId) {
        self.drop_link(&peer);
        self.next_conn += 1;
        let built = Link::offerer(
            &self.peer_settings,
            peer.clone(),
            self.next_conn,
            &self.link_tx,
        )
        .await;
        match built {
            Ok((link, offer)) => {
                self.links.insert(peer.clone(), link);
                self.emit(Event::Connection {
                    peer: peer.clone(),
                    state: LinkState::Connecting,
                });
                self.signal(&peer, sdp_json(&offer)).await;
            }
            Err(e) => tracing::warn!(peer = %peer, error = %e, "could not start a connection"),
        }
    }

    pub(super) async fn on_signal(&mut self, from: PeerId, data: SignalData) {
        #[derive(serde::Deserialize)]
        struct Kind {
            #[serde(rename = "type")]
            kind: String,
            candidate: Option<RTCIceCandidateInit>,
        }
        let Ok(kind) = data.parse::<Kind>() else {
            return;
        };
        match (kind.kind.as_str(), kind.candidate) {
            ("offer", _) => {
                if let Ok(offer) = data.parse::<RTCSessionDescription>() {
                    self.answer(from, offer).await;
                }
            }
            ("answer", _) => {
                let Ok(answer) = data.parse::<RTCSessionDescription>() else {
                    return;
                };
                if let Some(link) = self.links.get_mut(&from) {
                    if let Err(e) = link.answered(answer).await {
                        tracing::warn!(peer = %from, error = %e, "bad answer");
                    }
                }
            }
            ("candidate", Some(c)) => {
                if let Some(link) = self.links.get_mut(&from) {
                    link.candidate(c).await;
                }
            }
            _ => {}
        }
    }

    async fn answer(&mut self, from: PeerId, offer: RTCSessionDescription) {
        self.drop_link(&from);
        self.next_conn += 1;
        let built = Link::answerer(
            &self.peer_settings,
            from.clone(),
            self.next_conn,
            offer,
            &self.link_tx,
        )
        .await;
        match built {
            Ok((link, answer)) => {
                self.links.insert(from.clone(), link);
                self.signal(&from, sdp_json(&answer)).await;
            }
            Err(e) => tracing::warn!(peer = %from, error = %e, "could not answer"),
        }
    }

    pub(super) fn drop_link(&mut self, peer: &PeerId) {
        if let Some(link) = self.links.remove(peer) {
            link.close();
            self.emit(Event::Connection {
                peer: peer.clone(),
                state: LinkState::Closed,
            });
        }
    }

    pub(super) async fn on_link(&mut self, ev: LinkEvent) {
        if self.links.get(&ev.peer).map(|l| l.conn) != Some(ev.conn) {
            return;
        }
        match ev.kind {
            LinkEventKind::Peer(PeerEvent::Candidate(c)) => {
                self.signal(&ev.peer, json!({"type": "candidate", "candidate": c}))
                    .await
            }
            LinkEventKind::Peer(PeerEvent::State(RTCPeerConnectionState::Failed)) => {
                self.link_failed(&ev.peer, "ICE or DTLS failed")
            }
            LinkEventKind::Peer(PeerEvent::State(_)) => {}
            LinkEventKind::Peer(PeerEvent::Channel(channel)) => {
                if let Some(link) = self.links.get_mut(&ev.peer) {
                    link.adopt(channel, ev.peer, &self.link_tx);
                }
            }
            LinkEventKind::Channel(ChannelEvent::Open) => {
                tracing::debug!(peer = %ev.peer, "channel open");
                self.link_open(ev.peer)
            }
            LinkEventKind::Channel(ChannelEvent::Text(text)) => {
                tracing::trace!(peer = %ev.peer, bytes = text.len(), "channel message");
                self.on_channel(&ev.peer, &text)
            }
            LinkEventKind::Channel(ChannelEvent::Closed) => {
                self.link_ended(&ev.peer, "the channel closed", LinkState::Closed)
            }
        }
    }
}

fn sdp_json(desc: &RTCSessionDescription) -> serde_json::Value {
    serde_json::to_value(desc).unwrap_or_default()
}
