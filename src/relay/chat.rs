//! The relay's chat path: a member's channel opens (history first), its messages get a room-wide
//! `seq`, are fanned out to every other open member and acked to the sender.

use std::sync::Arc;
use std::time::Instant;

use super::log::Accepted;
use super::member::{Link, RelayMember};
use super::{ChannelReport, Relay};
use crate::metrics::{Refusal, RelayOutKind};
use crate::peer::{ChannelEvent, ChannelWriter};
use crate::protocol::{ChannelMessage, ChatMessage, ErrorCode, PeerId};

/// Largest `history` message; more history is sent in several.
const HISTORY_CHUNK_BYTES: usize = 12 * 1024;

impl Relay {
    /// Handles an event of one member's chat channel.
    pub fn channel_event(&mut self, report: ChannelReport) {
        if !self.is_current(&report.peer, report.conn) {
            return;
        }
        match report.event {
            ChannelEvent::Open => self.channel_open(&report.peer),
            ChannelEvent::Text(text) => self.chat(&report.peer, &text),
            ChannelEvent::Closed => self.remove(&report.peer),
        }
    }

    fn channel_open(&mut self, peer: &PeerId) {
        let Some(member) = self.members.get_mut(peer) else {
            return;
        };
        let Link::Connecting(Some(channel)) = &member.link else {
            return;
        };
        let writer = ChannelWriter::spawn(channel.clone());
        let history = self.log.history();
        let replayed = history.len() as u64;
        let mut bytes = 0;
        for chunk in history_chunks(history) {
            bytes += chunk.len() as u64;
            writer.send(chunk.into());
        }
        member.link = Link::Open(writer);
        tracing::debug!(room = %self.room, peer = %peer, "relay channel open");
        self.count_out(RelayOutKind::History, replayed, bytes);
    }

    /// Forwards one chat message from `peer` to every other open member and acks it; anything
    /// else, too big, or over the member's rate gets an error back on its channel.
    fn chat(&mut self, peer: &PeerId, text: &str) {
        let metrics = &self.settings.metrics;
        metrics.relay_messages_in.increment(1);
        metrics.relay_bytes_in.increment(text.len() as u64);
        let config = &self.settings.config;
        if text.len() > config.max_message_bytes {
            let why = format!(
                "a message of {} bytes; the relay takes at most {} (max_message_bytes)",
                text.len(),
                config.max_message_bytes
            );
            return self.refuse_message(peer, ErrorCode::TooLarge, None, why);
        }
        let mut msg = match serde_json::from_str::<ChannelMessage>(text) {
            Ok(ChannelMessage::Chat(msg)) => msg,
            Ok(_) => {
                let why = "the relay takes only chat messages".to_string();
                return self.refuse_message(peer, ErrorCode::BadRequest, None, why);
            }
            Err(e) => {
                let why = format!("not a chat message: {e}");
                return self.refuse_message(peer, ErrorCode::BadRequest, None, why);
            }
        };
        let Some(sender) = self.members.get_mut(peer) else {
            return;
        };
        if !sender.bucket.take(Instant::now()) {
            let why = format!(
                "too many messages; at most {} per second",
                self.settings.config.messages_per_second
            );
            return self.refuse_message(peer, ErrorCode::RateLimited, Some(msg.id), why);
        }
        msg.from = peer.to_string();
        msg.name = sender.name.clone();
        let id = msg.id.clone();
        let seq = match self.log.accept(msg) {
            Accepted::New(msg) => {
                let seq = msg.seq;
                self.fan_out(peer, ChannelMessage::Chat(msg));
                seq
            }
            Accepted::Duplicate(seq) => Some(seq),
        };
        let ack = ChannelMessage::Ack { id, seq }.encode();
        self.send_ack(peer, ack);
    }

    /// Tells `peer` on its channel that what it sent was refused (its channel stays open), logs
    /// it at debug and counts it.
    fn refuse_message(&self, peer: &PeerId, code: ErrorCode, id: Option<String>, message: String) {
        tracing::debug!(room = %self.room, %peer, code = code.as_str(), %message, "relay refused a channel message");
        self.settings.metrics.error(code);
        self.settings.metrics.refused(Refusal::BadChannelMessage);
        let error = ChannelMessage::Error { code, id, message }.encode();
        if let Some(writer) = self.members.get(peer).and_then(RelayMember::writer) {
            self.count_out(RelayOutKind::Error, 1, error.len() as u64);
            writer.send(error);
        }
    }

    fn fan_out(&self, except: &PeerId, msg: ChannelMessage) {
        let frame = msg.encode();
        let mut sent = 0;
        for (id, member) in &self.members {
            if id != except {
                if let Some(writer) = member.writer() {
                    writer.send(frame.clone());
                    sent += 1;
                }
            }
        }
        self.count_out(RelayOutKind::Chat, sent, sent * frame.len() as u64);
    }

    fn send_ack(&self, peer: &PeerId, frame: Arc<str>) {
        if let Some(writer) = self.members.get(peer).and_then(RelayMember::writer) {
            self.count_out(RelayOutKind::Ack, 1, frame.len() as u64);
            writer.send(frame);
        }
    }

    /// Counts `messages` sent, `bytes` in all.
    fn count_out(&self, kind: RelayOutKind, messages: u64, bytes: u64) {
        let metrics = &self.settings.metrics;
        metrics.relay_out(kind, messages);
        metrics.relay_bytes_out.increment(bytes);
    }
}

/// The history as `history` messages of at most ~12 KiB each (data-channel messages above
/// 16 KiB are not safe everywhere).
fn history_chunks(messages: Vec<ChatMessage>) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut batch = Vec::new();
    let mut size = 0;
    for msg in messages {
        let len = serde_json::to_string(&msg).map(|s| s.len()).unwrap_or(0);
        if size + len > HISTORY_CHUNK_BYTES && !batch.is_empty() {
            chunks.push(std::mem::take(&mut batch));
            size = 0;
        }
        size += len;
        batch.push(msg);
    }
    if !batch.is_empty() || chunks.is_empty() {
        chunks.push(batch);
    }
    chunks
        .into_iter()
        .map(|messages| ChannelMessage::History { messages }.encode().to_string())
        .collect()
}
