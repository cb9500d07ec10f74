//! What a room tells a member's session when the membership ends from the room's side. The room
//! knows a member only by this handle (a `Recipient`), not by the session actor's type.

use actix::prelude::*;

use crate::protocol::{LeaveReason, PeerId};

/// How a room reaches the session behind one of its members.
pub type MemberHandle = Recipient<MemberNotice>;

/// The membership `member` ended from the room's side; the session stops speaking for it
/// without telling the room, and says why to its client.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct MemberNotice {
    /// The membership.
    pub member: PeerId,
    /// What happened.
    pub notice: Notice,
}

/// Why a membership ended from the room's side.
#[derive(Debug)]
pub enum Notice {
    /// The room dropped the member (it could not keep up): the socket closes.
    Dropped(LeaveReason),
    /// A newer socket resumed the member: the socket closes with `replaced`.
    Replaced,
    /// An operator removed the member, saying `reason`: the socket closes with `kicked`.
    Kicked { room: String, reason: String },
    /// The room closed, saying `reason`: the socket stays, in no room.
    RoomClosed { room: String, reason: String },
}
