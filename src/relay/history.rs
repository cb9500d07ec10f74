//! The relay's durable history: loading the room's stored chat when the relay starts, storing
//! accepted messages in batches before anyone sees them (group commit: one append in flight per
//! room, the next batch gathers meanwhile), trimming by the room's retention, and catching a
//! member up from the `seq` it names in `resume`.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::chat::history_chunks;
use super::engine::ConnId;
use super::log::REMEMBERED_IDS;
use super::member::Feed;
use super::Relay;
use crate::metrics::RelayOutKind;
use crate::protocol::{ChannelMessage, ChatMessage, ErrorCode, PeerId};
use crate::storage::{Retention, Storage, StorageError};

/// How long the relay waits for a member's `resume` after its channel opens before it sends the
/// recent messages anyway (for clients that never send one).
pub const RESUME_WAIT: Duration = Duration::from_secs(1);

/// Most messages read from the store at once while a member catches up.
const CATCH_UP_BATCH: usize = 1000;

/// How often the relay trims its room's stored history.
const TRIM_EVERY: Duration = Duration::from_secs(60);

/// Most stored ids loaded at start for dedupe of resends.
const RESTORED_IDS: usize = 1024;

/// What the relay keeps of its room's chat beyond memory.
pub struct RoomHistory {
    /// The store, when the room keeps history durably.
    pub store: Option<Arc<dyn Storage>>,
    /// The room's retention.
    pub retention: Retention,
    /// Accepted messages waiting for the next append, with their senders.
    pub pending: Vec<(PeerId, ChatMessage)>,
    /// Whether an append is in flight.
    pub writing: bool,
}

impl RoomHistory {
    /// The history of a room with `retention`: stored when there is a store and the room keeps
    /// any history.
    pub fn new(store: Option<Arc<dyn Storage>>, retention: Retention) -> RoomHistory {
        RoomHistory {
            store: store.filter(|_| retention.keeps_any()),
            retention,
            pending: Vec::new(),
            writing: false,
        }
    }
}

impl Relay {
    /// Loads the room's stored history (last `seq`, the newest messages), then starts taking
    /// the engine's events; without a store, starts at once. A store that cannot be read stops
    /// the relay (its room starts it again).
    pub(super) fn load(&mut self, ctx: &mut Context<Self>) {
        let Some(store) = self.history.store.clone() else {
            return self.take_events(ctx);
        };
        let room = self.room.clone();
        let keep = self
            .settings
            .config
            .history
            .clamp(RESTORED_IDS, REMEMBERED_IDS);
        let loading = async move {
            let last = store.last_seq(&room).await?;
            let recent = store.latest(&room, keep).await?;
            Ok::<_, StorageError>((last, recent))
        };
        ctx.spawn(loading.into_actor(self).map(|res, act, ctx| match res {
            Ok((last, recent)) => {
                tracing::debug!(room = %act.room, last_seq = last, "relay history loaded");
                act.log.restore(last, recent);
                act.take_events(ctx);
                act.trim(ctx);
                ctx.run_interval(TRIM_EVERY, |act, ctx| act.trim(ctx));
            }
            Err(e) => {
                tracing::error!(room = %act.room, error = %e, "relay cannot read the room's history");
                ctx.stop();
            }
        }));
    }

    /// Drops what the room's retention no longer keeps.
    fn trim(&mut self, ctx: &mut Context<Self>) {
        let Some(store) = self.history.store.clone() else {
            return;
        };
        let (room, retention) = (self.room.clone(), self.history.retention);
        let trimming = async move { store.trim(&room, retention).await };
        ctx.spawn(trimming.into_actor(self).map(|res, act, _| match res {
            Ok(0) => {}
            Ok(n) => tracing::debug!(room = %act.room, dropped = n, "history trimmed"),
            Err(e) => tracing::warn!(room = %act.room, error = %e, "cannot trim history"),
        }));
    }

    /// An accepted message from `peer`: committed at once without a store, else queued for the
    /// next append.
    pub(super) fn commit_or_queue(
        &mut self,
        peer: &PeerId,
        msg: ChatMessage,
        ctx: &mut Context<Self>,
    ) {
        if self.history.store.is_none() {
            return self.committed(peer, msg);
        }
        self.history.pending.push((peer.clone(), msg));
        self.flush(ctx);
    }

    /// Starts the next append, unless one is in flight or nothing waits.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.history.writing || self.history.pending.is_empty() {
            return;
        }
        let Some(store) = self.history.store.clone() else {
            return;
        };
        let batch = std::mem::take(&mut self.history.pending);
        let messages: Vec<ChatMessage> = batch.iter().map(|(_, m)| m.clone()).collect();
        let room = self.room.clone();
        self.history.writing = true;
        let appending = async move { store.append(&room, messages).await };
        ctx.spawn(appending.into_actor(self).map(move |res, act, ctx| {
            act.history.writing = false;
            match res {
                Ok(()) => {
                    for (peer, msg) in batch {
                        act.committed(&peer, msg);
                    }
                }
                Err(e) => act.not_stored(batch, e),
            }
            act.flush(ctx);
        }));
    }

    /// `msg` is durable: everyone live gets it, its sender the ack.
    fn committed(&mut self, peer: &PeerId, msg: ChatMessage) {
        self.log.commit(&msg);
        let ack = ChannelMessage::Ack {
            id: msg.id.clone(),
            seq: msg.seq,
        }
        .encode();
        self.fan_out(peer, ChannelMessage::Chat(msg));
        self.send_ack(peer, ack);
    }

    /// A batch could not be stored: nobody got it, each sender is told, and a resend is new.
    fn not_stored(&mut self, batch: Vec<(PeerId, ChatMessage)>, e: StorageError) {
        tracing::warn!(room = %self.room, error = %e, messages = batch.len(), "relay could not store chat");
        self.settings
            .metrics
            .storage_failures
            .increment(batch.len() as u64);
        for (peer, msg) in batch {
            self.log.forget(&msg);
            let why = format!("your message was not delivered: {e}; send it again later");
            self.refuse_message(&peer, ErrorCode::StorageFailed, Some(msg.id), why);
        }
    }

    /// `peer` asks for what came after `after` (`None`: the recent messages). Asked again, the
    /// relay starts over from the new point.
    pub(super) fn resume(&mut self, peer: &PeerId, after: Option<u64>, ctx: &mut Context<Self>) {
        let Some(member) = self.members.get_mut(peer) else {
            return;
        };
        if member.open().is_none() {
            return;
        }
        if !member.subscribe {
            // Its token does not let it read the room: it is told there is nothing for it.
            member.feed = Feed::Live;
            return self.send_history(peer, Vec::new(), true);
        }
        match after {
            // A point past everything committed: this server's history is not the one the
            // member saw (a new database): it gets the recent messages.
            Some(seq) if seq <= self.log.committed() => {
                member.feed = Feed::CatchingUp {
                    cursor: seq,
                    reading: false,
                    sent: false,
                };
                self.catch_up(peer, ctx);
            }
            _ => {
                member.feed = Feed::Live;
                let replay = self.log.replay();
                self.send_history(peer, replay, true);
            }
        }
    }

    /// A member's channel has been open for [`RESUME_WAIT`] without `resume`: it gets the recent
    /// messages.
    pub(super) fn resume_timeout(&mut self, peer: &PeerId, conn: ConnId, ctx: &mut Context<Self>) {
        let waiting = self
            .members
            .get(peer)
            .is_some_and(|m| m.open() == Some(conn) && m.feed == Feed::Waiting);
        if waiting {
            self.resume(peer, None, ctx);
        }
    }

    /// Sends `peer` what it misses, from memory when the kept messages reach back far enough,
    /// else from the store (a batch at a time, coming back here after each); live once caught up.
    fn catch_up(&mut self, peer: &PeerId, ctx: &mut Context<Self>) {
        let Some(member) = self.members.get_mut(peer) else {
            return;
        };
        let Feed::CatchingUp {
            cursor,
            reading: false,
            sent,
        } = member.feed
        else {
            return;
        };
        if let Some(missed) = self.log.after(cursor) {
            member.feed = Feed::Live;
            return self.send_history(peer, missed, !sent);
        }
        let Some(store) = self.history.store.clone() else {
            // Memory only and it does not reach back: what it has.
            member.feed = Feed::Live;
            let replay = self.log.replay();
            return self.send_history(peer, replay, true);
        };
        member.feed = Feed::CatchingUp {
            cursor,
            reading: true,
            sent,
        };
        let conn = member.open();
        let room = self.room.clone();
        let reading = async move { store.after(&room, cursor, CATCH_UP_BATCH).await };
        let peer = peer.clone();
        ctx.spawn(reading.into_actor(self).map(move |res, act, ctx| {
            let Some(member) = act.members.get_mut(&peer).filter(|m| m.open() == conn) else {
                return; // gone, or a new connection meanwhile
            };
            if !matches!(member.feed, Feed::CatchingUp { cursor: c, reading: true, .. } if c == cursor)
            {
                return; // it asked again meanwhile: that catch-up goes on
            }
            match res {
                Ok(missed) if !missed.is_empty() => {
                    let last = missed.last().and_then(|m| m.seq).unwrap_or(cursor);
                    member.feed = Feed::CatchingUp {
                        cursor: last.max(cursor),
                        reading: false,
                        sent: true,
                    };
                    act.send_history(&peer, missed, false);
                    act.catch_up(&peer, ctx);
                }
                Ok(_) => {
                    // Nothing stored after it (trimmed, or lost): live from here.
                    member.feed = Feed::Live;
                    act.send_history(&peer, Vec::new(), !sent);
                }
                Err(e) => {
                    member.feed = Feed::Live;
                    tracing::warn!(room = %act.room, %peer, error = %e, "cannot read history for a resume");
                    let why = format!("missed messages could not be read: {e}");
                    act.refuse_message(&peer, ErrorCode::StorageFailed, None, why);
                }
            }
        }));
    }

    /// Sends `messages` as `history` messages; an empty list is sent only if `even_empty` (the
    /// answer to `resume` is at least one `history` message, so a member learns it is live).
    fn send_history(&self, peer: &PeerId, messages: Vec<ChatMessage>, even_empty: bool) {
        if messages.is_empty() && !even_empty {
            return;
        }
        let Some(conn) = self.members.get(peer).and_then(|m| m.open()) else {
            return;
        };
        let count = messages.len() as u64;
        let mut bytes = 0;
        for chunk in history_chunks(messages) {
            bytes += chunk.len() as u64;
            self.send_to(conn, chunk.into());
        }
        self.count_out(RelayOutKind::History, count, bytes);
    }
}
