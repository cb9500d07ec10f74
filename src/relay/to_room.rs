//! What a relay tells the room that started it: answers and candidates for members, refusals,
//! and members it gave up on. The room hands the relay these recipients, so the relay never
//! needs the room's type.

use actix::prelude::*;

use crate::error::ClientError;
use crate::protocol::{LeaveReason, PeerId, SignalData};

/// Where the relay sends what is meant for members: the room's inbox.
#[derive(Clone)]
pub struct RelayOutbox {
    /// Signals (answers) to one member.
    pub signal: Recipient<SignalFromRelay>,
    /// Members to remove from the room.
    pub drop: Recipient<DropMember>,
    /// Errors to tell one member (a signal the relay refused).
    pub refused: Recipient<RelayRefused>,
}

/// Signaling data from the relay to one member (handled by the room).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SignalFromRelay {
    /// The member.
    pub to: PeerId,
    /// The answer or candidate object.
    pub data: SignalData,
}

/// The relay refused a member's signal: tell it why.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RelayRefused {
    /// The member that sent it.
    pub to: PeerId,
    /// What to tell it.
    pub error: ClientError,
}

/// Remove a member from the room (handled by the room).
#[derive(Message)]
#[rtype(result = "()")]
pub struct DropMember {
    /// The member.
    pub peer_id: PeerId,
    /// Why.
    pub reason: LeaveReason,
}
