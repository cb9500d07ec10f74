//! The messages that make and end a membership: `Join` and `Leave`.

use std::net::IpAddr;

use actix::prelude::*;

use super::{MemberHandle, Room};
use crate::auth::Identity;
use crate::error::ClientError;
use crate::outbox::Outbox;
use crate::protocol::{LeaveReason, PeerId};

/// Admit a session as a member named `name`; replies with its new peer id.
#[derive(Clone, Message)]
#[rtype(result = "Result<PeerId, ClientError>")]
pub struct Join {
    /// Display name (already validated by the session); a token's name replaces it.
    pub name: String,
    /// Who a join token proved the member is.
    pub identity: Option<Identity>,
    /// The member's session.
    pub session: MemberHandle,
    /// Where the member's frames go.
    pub outbox: Outbox,
    /// Where the member connects from.
    pub address: IpAddr,
}

impl Join {
    /// The join with the name its token gives, if it has one.
    pub fn named_by_token(mut self) -> Join {
        if let Some(identity) = &self.identity {
            self.name = identity.name.clone();
        }
        self
    }
}

impl Handler<Join> for Room {
    type Result = ResponseActFuture<Self, Result<PeerId, ClientError>>;

    fn handle(&mut self, msg: Join, ctx: &mut Context<Self>) -> Self::Result {
        self.join_shared(msg, PeerId::random(), ctx)
    }
}

/// Session `session` is done with member `peer_id`: remove it, telling the others why, or
/// (socket lost) hold its seat for a resume until `hold_until`. Ignored when the member has
/// moved to another session meanwhile.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    /// The member leaving.
    pub peer_id: PeerId,
    /// The session that held it.
    pub session: MemberHandle,
    /// Why it left.
    pub reason: LeaveReason,
    /// The server is shutting down: tell the others nothing.
    pub quiet: bool,
    /// The socket was lost, not left: keep the seat until then.
    pub hold_until: Option<std::time::Instant>,
}

impl Handler<Leave> for Room {
    type Result = ();

    fn handle(&mut self, msg: Leave, ctx: &mut Context<Self>) {
        self.depart(msg, ctx)
    }
}
