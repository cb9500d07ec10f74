//! How a membership ends from the room's side: the room dropped a slow member, a newer socket
//! resumed it, an operator kicked it, or the room closed. The session stops speaking for the
//! membership without telling the room (which already knows) and says why to the client.

use actix::prelude::*;
use actix_http::ws::CloseCode;
use bytestring::ByteString;

use super::{Outbound, Session, State};
use crate::metrics::OutKind;
use crate::protocol::{LeaveReason, PeerId, ServerMessage};
use crate::room::Replaced;

/// The room removed member `member` of this session (it could not keep up): close the socket.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Evict {
    /// The membership that ended.
    pub member: PeerId,
    /// Why.
    pub reason: LeaveReason,
}

impl Handler<Evict> for Session {
    type Result = ();

    fn handle(&mut self, msg: Evict, ctx: &mut Context<Self>) {
        self.evict(msg, ctx)
    }
}

impl Handler<Replaced> for Session {
    type Result = ();

    fn handle(&mut self, msg: Replaced, ctx: &mut Context<Self>) {
        if matches!(&self.state, State::Joined { peer_id, .. } if *peer_id == msg.member) {
            tracing::debug!(peer = %msg.member, "a newer socket resumed this member");
            self.state = State::lobby();
            self.close(CloseCode::Other(REPLACED), "replaced", ctx);
        }
    }
}

/// The close code of a socket whose member a newer socket resumed (reason `replaced`): the
/// client must not reconnect by itself, or two sockets would take the seat from each other.
pub const REPLACED: u16 = 4001;

impl Session {
    /// Ends the membership the room dropped, and the socket with it.
    fn evict(&mut self, msg: Evict, ctx: &mut Context<Self>) {
        if matches!(&self.state, State::Joined { peer_id, .. } if *peer_id == msg.member) {
            self.state = State::lobby();
            self.close_reason = msg.reason;
            self.close(
                CloseCode::Policy,
                "dropped: could not keep up with the room",
                ctx,
            );
        }
    }
}

/// The close code of a socket whose member an operator kicked (the `kicked` message before it
/// says why): the client must not reconnect by itself.
pub const KICKED: u16 = 4002;

/// An operator removed member `member` of this session from `room`, saying `reason`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Kicked {
    /// The membership that ended.
    pub member: PeerId,
    /// Its room.
    pub room: String,
    /// What the member is told.
    pub reason: String,
}

impl Handler<Kicked> for Session {
    type Result = ();

    fn handle(&mut self, msg: Kicked, ctx: &mut Context<Self>) {
        if matches!(&self.state, State::Joined { peer_id, .. } if *peer_id == msg.member) {
            self.state = State::lobby();
            self.close_reason = LeaveReason::Kicked;
            let notice = ServerMessage::Kicked {
                room: msg.room,
                reason: msg.reason,
            };
            self.reply(&notice, OutKind::Kicked, ctx);
            self.close(CloseCode::Other(KICKED), "kicked", ctx);
        }
    }
}

/// Room `room` of member `member` of this session closed, saying `reason`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RoomEnded {
    /// The membership that ended.
    pub member: PeerId,
    /// Its room.
    pub room: String,
    /// Why.
    pub reason: String,
}

impl Handler<RoomEnded> for Session {
    type Result = ();

    fn handle(&mut self, msg: RoomEnded, ctx: &mut Context<Self>) {
        if matches!(&self.state, State::Joined { peer_id, .. } if *peer_id == msg.member) {
            // In no room now; what the room queued for this membership is dropped.
            self.state = State::lobby();
            self.limit.set_joined(false);
            self.queue(Outbound::Left(self.membership), ctx);
            let notice = ServerMessage::RoomClosed {
                room: msg.room,
                reason: msg.reason,
            };
            self.metrics.message_out(OutKind::RoomClosed, 1);
            self.queue(Outbound::Text(ByteString::from(notice.to_json())), ctx);
        }
    }
}
