//! How a membership ends from the room's side: the room dropped a slow member, a newer socket
//! resumed it, an operator kicked it, or the room closed. The session stops speaking for the
//! membership without telling the room (which already knows) and says why to the client.

use actix::prelude::*;
use actix_http::ws::CloseCode;
use bytestring::ByteString;

use super::{Outbound, Session, State};
use crate::metrics::OutKind;
use crate::protocol::{LeaveReason, ServerMessage};
use crate::room::{MemberNotice, Notice};

/// The close code of a socket whose member a newer socket resumed (reason `replaced`).
pub const REPLACED: u16 = crate::protocol::CLOSE_REPLACED;

/// The close code of a socket whose member an operator kicked.
pub const KICKED: u16 = crate::protocol::CLOSE_KICKED;

impl Handler<MemberNotice> for Session {
    type Result = ();

    fn handle(&mut self, msg: MemberNotice, ctx: &mut Context<Self>) {
        if !matches!(&self.state, State::Joined { peer_id, .. } if *peer_id == msg.member) {
            return; // a membership this session has already left
        }
        self.state = State::lobby();
        match msg.notice {
            Notice::Dropped(reason) => {
                self.close_reason = reason;
                let why = "dropped: could not keep up with the room";
                self.close(CloseCode::Policy, why, ctx);
            }
            Notice::Replaced => {
                tracing::debug!(peer = %msg.member, "a newer socket resumed this member");
                self.close(CloseCode::Other(REPLACED), "replaced", ctx);
            }
            Notice::Kicked { room, reason } => {
                self.close_reason = LeaveReason::Kicked;
                let notice = ServerMessage::Kicked { room, reason };
                self.reply(&notice, OutKind::Kicked, ctx);
                self.close(CloseCode::Other(KICKED), "kicked", ctx);
            }
            Notice::RoomClosed { room, reason } => {
                // In no room now; what the room queued for this membership is dropped.
                self.limit.set_joined(false);
                self.queue(Outbound::Left(self.membership), ctx);
                let notice = ServerMessage::RoomClosed { room, reason };
                self.metrics.message_out(OutKind::RoomClosed, 1);
                self.queue(Outbound::Text(ByteString::from(notice.to_json())), ctx);
            }
        }
    }
}
