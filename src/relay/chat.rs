//! The relay's chat path: a member's channel opens (it says where to resume), its messages get a
//! room-wide `seq`, are committed (stored, with a store: see [`super::history`]), then fanned out
//! to every other member that is up to date and acked to the sender.

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;

use super::engine::ConnId;
use super::history::RESUME_WAIT;
use super::log::Accepted;
use super::member::{Feed, Link, RelayMember};
use super::Relay;
use crate::config::RelayConfig;
use crate::metrics::{Refusal, RelayOutKind};
use crate::protocol::{ChannelMessage, ChatMessage, ErrorCode, PeerId};

/// Largest `history` message; more history is sent in several.
const HISTORY_CHUNK_BYTES: usize = 12 * 1024;

impl Relay {
    /// `peer`'s chat channel opened: it gets history once it says where to resume (or after
    /// [`RESUME_WAIT`]), then live chat.
    pub(super) fn channel_open(&mut self, peer: &PeerId, conn: ConnId, ctx: &mut Context<Self>) {
        let Some(member) = self.members.get_mut(peer) else {
            return;
        };
        member.link = Link::Open(conn);
        member.feed = Feed::Waiting;
        tracing::debug!(room = %self.room, peer = %peer, "relay channel open");
        let peer = peer.clone();
        ctx.run_later(RESUME_WAIT, move |act, ctx| {
            act.resume_timeout(&peer, conn, ctx)
        });
    }

    /// A binary message: the relay takes only chat (JSON text).
    pub(super) fn binary(&mut self, peer: &PeerId, len: usize) {
        self.settings.metrics.relay_messages_in.increment(1);
        self.settings.metrics.relay_bytes_in.increment(len as u64);
        let why = format!("a binary message of {len} bytes; the relay takes only chat (JSON text)");
        self.refuse_message(peer, ErrorCode::BadRequest, None, why);
    }

    /// Forwards one chat message from `peer` to every other open member and acks it; anything
    /// else, too big, or over the member's rate gets an error back on its channel.
    pub(super) fn chat(&mut self, peer: &PeerId, text: &str, ctx: &mut Context<Self>) {
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
            Ok(ChannelMessage::Resume { after }) => return self.resume(peer, after, ctx),
            // Meant for a host or a mesh peer; harmless here.
            Ok(ChannelMessage::Hello) => return,
            Ok(_) => {
                let why = "the relay takes only chat messages".to_string();
                return self.refuse_message(peer, ErrorCode::BadRequest, None, why);
            }
            Err(e) => {
                let why = format!("not a chat message: {e}");
                return self.refuse_message(peer, ErrorCode::BadRequest, None, why);
            }
        };
        if let Err((code, id, why)) = within_bounds(&msg, config) {
            return self.refuse_message(peer, code, id, why);
        }
        if self
            .members
            .get(peer)
            .is_some_and(|m| m.feed == Feed::Waiting)
        {
            // Chat before `resume`: it resumes from the recent messages.
            self.resume(peer, None, ctx);
        }
        let Some(sender) = self.members.get_mut(peer) else {
            return;
        };
        if !sender.publish {
            let why = "your join token does not allow publishing".to_string();
            return self.refuse_message(peer, ErrorCode::Forbidden, Some(msg.id), why);
        }
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
        match self.log.accept(msg) {
            Accepted::New(msg) => self.commit_or_queue(peer, msg, ctx),
            // Not committed yet: its ack comes when it is.
            Accepted::Duplicate(seq) if !self.log.is_committed(seq) => {}
            Accepted::Duplicate(seq) => {
                let ack = ChannelMessage::Ack { id, seq: Some(seq) };
                self.send_ack(peer, ack.encode());
            }
        }
    }

    /// Tells `peer` on its channel that what it sent was refused (its channel stays open), logs
    /// it at debug and counts it.
    pub(super) fn refuse_message(
        &self,
        peer: &PeerId,
        code: ErrorCode,
        id: Option<String>,
        message: String,
    ) {
        tracing::debug!(room = %self.room, %peer, code = code.as_str(), %message, "relay refused a channel message");
        self.settings.metrics.error(code);
        self.settings.metrics.refused(Refusal::BadChannelMessage);
        let error = ChannelMessage::Error { code, id, message }.encode();
        if let Some(conn) = self.members.get(peer).and_then(RelayMember::open) {
            self.count_out(RelayOutKind::Error, 1, error.len() as u64);
            self.send_to(conn, error);
        }
    }

    /// Sends `msg` to every member that is up to date, but `except`.
    pub(super) fn fan_out(&self, except: &PeerId, msg: ChannelMessage) {
        let frame = msg.encode();
        let conns: Vec<ConnId> = self
            .members
            .iter()
            .filter(|(id, _)| *id != except)
            .filter_map(|(_, member)| member.live())
            .collect();
        let sent = conns.len() as u64;
        if let Some(engine) = &self.settings.engine {
            engine.send_many(conns, frame.clone());
        }
        self.count_out(RelayOutKind::Chat, sent, sent * frame.len() as u64);
    }

    pub(super) fn send_ack(&self, peer: &PeerId, frame: Arc<str>) {
        if let Some(conn) = self.members.get(peer).and_then(RelayMember::open) {
            self.count_out(RelayOutKind::Ack, 1, frame.len() as u64);
            self.send_to(conn, frame);
        }
    }

    pub(super) fn send_to(&self, conn: ConnId, frame: Arc<str>) {
        if let Some(engine) = &self.settings.engine {
            engine.send(conn, frame);
        }
    }

    /// Counts `messages` sent, `bytes` in all.
    pub(super) fn count_out(&self, kind: RelayOutKind, messages: u64, bytes: u64) {
        let metrics = &self.settings.metrics;
        metrics.relay_out(kind, messages);
        metrics.relay_bytes_out.increment(bytes);
    }
}

/// Checks what the relay keeps of a chat message: a non-empty `id` and a `text` within the
/// configured bounds (`from` and `name` are replaced by the sender's roster entry). The refusal
/// names the message's id when that id is itself acceptable.
pub(crate) fn within_bounds(
    msg: &ChatMessage,
    config: &RelayConfig,
) -> Result<(), (ErrorCode, Option<String>, String)> {
    if msg.id.is_empty() {
        return Err((
            ErrorCode::BadRequest,
            None,
            "a chat message needs an id".into(),
        ));
    }
    if msg.id.len() > config.max_id_bytes {
        let why = format!(
            "an id of {} bytes; the relay takes at most {} (max_id_bytes)",
            msg.id.len(),
            config.max_id_bytes
        );
        return Err((ErrorCode::TooLarge, None, why));
    }
    if msg.text.len() > config.max_text_bytes {
        let why = format!(
            "a text of {} bytes; the relay takes at most {} (max_text_bytes)",
            msg.text.len(),
            config.max_text_bytes
        );
        return Err((ErrorCode::TooLarge, Some(msg.id.clone()), why));
    }
    Ok(())
}

/// The history as `history` messages of at most ~12 KiB each (data-channel messages above
/// 16 KiB are not safe everywhere).
pub(super) fn history_chunks(messages: Vec<ChatMessage>) -> Vec<String> {
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
