//! The client's chat path: what happens when a link opens (resend to a new host), sending a line
//! in each topology, and what arrives on a channel (dedupe, acks, history, forwarding as host).

use super::engine::Engine;
use super::{Event, LinkState};
use crate::protocol::{ChannelMessage, ChatMessage, PeerId, Topology};

impl Engine {
    pub(super) fn link_open(&mut self, peer: PeerId) {
        let to_host = self.hosted_by(&peer) && !self.i_host();
        let resend: Vec<ChatMessage> = if to_host {
            self.store.unacked().to_vec()
        } else {
            Vec::new()
        };
        // As host of a host room: the room's recent chat to the member whose link opened (after
        // an election too, from what this client has); it drops what it has already seen.
        let history = if self.i_host() && self.topology == Topology::Host {
            self.store.recent_frames()
        } else {
            Vec::new()
        };
        let Some(link) = self.links.get_mut(&peer) else {
            return;
        };
        link.opened();
        self.retries.forget(&peer);
        if peer.is_relay() {
            // First thing on the channel: where to resume (the relay waits for it).
            let after = self.resume.last();
            link.send(ChannelMessage::Resume { after }.encode());
        } else if link.offerer {
            // First thing on a channel we opened: the other side (a page) waits for a frame
            // before it writes (see `ChannelMessage::Hello`).
            link.send(ChannelMessage::Hello.encode());
        }
        for messages in history {
            link.send(ChannelMessage::History { messages }.encode());
        }
        for msg in resend {
            link.send(ChannelMessage::Chat(msg).encode());
        }
        self.emit(Event::Connection {
            peer,
            state: LinkState::Open,
        });
    }

    /// Sends a chat line according to the room's topology.
    pub(super) fn send_chat(&mut self, text: &str) {
        let msg = self
            .store
            .compose(self.me.as_str(), &self.config.name, text);
        let frame = ChannelMessage::Chat(msg.clone()).encode();
        self.store.remember(&msg);
        let confirmed = match (self.topology, self.host_id()) {
            (Topology::Mesh, _) => {
                self.links.values_mut().for_each(|l| l.send(frame.clone()));
                true
            }
            _ if self.i_host() => {
                self.links.values_mut().for_each(|l| l.send(frame.clone()));
                true
            }
            (_, Some(host)) => {
                self.store.track(msg.clone());
                if let Some(link) = self.links.get_mut(&host).filter(|l| l.is_open()) {
                    link.send(frame);
                }
                false
            }
            (_, None) => {
                self.store.track(msg.clone());
                false
            }
        };
        self.emit(Event::Sent {
            message: msg,
            confirmed,
        });
    }

    pub(super) fn on_channel(&mut self, from: &PeerId, text: &str) {
        match serde_json::from_str::<ChannelMessage>(text) {
            Ok(ChannelMessage::Chat(msg)) if self.i_host() => self.forward_as_host(from, msg),
            Ok(ChannelMessage::Chat(mut msg)) => {
                if !self.hosted_by(from) {
                    // A mesh peer speaks for itself only: who sent it is the link it came on.
                    msg.from = from.to_string();
                    msg.name = self.members.get(from).cloned().unwrap_or_default();
                }
                if let (true, Some(seq)) = (from.is_relay(), msg.seq) {
                    self.resume.saw(seq);
                }
                if self.store.first_sight(&msg.from, &msg.id) {
                    self.store.remember(&msg);
                    self.emit(Event::Chat { message: msg });
                }
            }
            Ok(ChannelMessage::Ack { id, .. }) => {
                if self.store.acked(&id) {
                    self.emit(Event::Delivered { id });
                }
            }
            Ok(ChannelMessage::History { .. }) if !self.hosted_by(from) => {
                tracing::debug!(%from, "history from a member that does not host the room: ignored");
            }
            Ok(ChannelMessage::History { messages }) => {
                if from.is_relay() {
                    let newest = messages.iter().filter_map(|m| m.seq).max();
                    if let Some(seq) = newest {
                        self.resume.saw(seq);
                    }
                }
                let fresh: Vec<ChatMessage> = messages
                    .into_iter()
                    .filter(|m| self.store.first_sight(&m.from, &m.id))
                    .collect();
                for msg in &fresh {
                    self.store.remember(msg);
                }
                if !fresh.is_empty() {
                    self.emit(Event::History { messages: fresh });
                }
            }
            // The relay refused what we sent: say so (the message stays unacked, so it is sent
            // again on the next connection).
            Ok(ChannelMessage::Error { code, message, .. }) => self.emit(Event::ServerError {
                code,
                message,
                peer: None,
            }),
            Ok(ChannelMessage::Hello) => tracing::trace!(%from, "hello"),
            Ok(ChannelMessage::Resume { .. }) => {
                tracing::debug!(%from, "resume is for the relay: ignored");
            }
            Err(e) => tracing::debug!(error = %e, "unreadable channel message"),
        }
    }

    /// As host: stamp the sender's identity, show, forward to every other member, ack.
    fn forward_as_host(&mut self, from: &PeerId, mut msg: ChatMessage) {
        let id = msg.id.clone();
        if self.store.first_sight(from.as_str(), &msg.id) {
            msg.from = from.to_string();
            msg.name = self.members.get(from).cloned().unwrap_or_default();
            let frame = ChannelMessage::Chat(msg.clone()).encode();
            for (peer, link) in self.links.iter_mut() {
                if peer != from {
                    link.send(frame.clone());
                }
            }
            self.store.remember(&msg);
            self.emit(Event::Chat { message: msg });
        }
        if let Some(link) = self.links.get_mut(from) {
            link.send(ChannelMessage::Ack { id, seq: None }.encode());
        }
    }
}
