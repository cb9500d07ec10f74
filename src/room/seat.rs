//! Seats that outlive their socket: a member whose socket is lost keeps its place (peer id, name,
//! host role, join order) for a while, and a `join` with its resume token hands the seat to the
//! new socket. The others see no leave and join, only `peer_reconnected`.

use std::net::IpAddr;
use std::time::Instant;

use actix::prelude::*;

use super::members::Away;
use super::{Leave, Room};
use super::{MemberHandle, MemberNotice, Notice};
use crate::error::ClientError;
use crate::metrics::{OutKind, ResumeResult};
use crate::outbox::Outbox;
use crate::protocol::{PeerId, ServerMessage};

impl Room {
    /// A session is done with a member: it leaves now, or its seat is held until
    /// `hold_until` when the socket was lost.
    pub(super) fn depart(&mut self, msg: Leave, ctx: &mut Context<Self>) {
        let Some(member) = self.members.get_mut(&msg.peer_id) else {
            return;
        };
        if member.session != msg.session {
            return; // a newer socket resumed this seat
        }
        let now = Instant::now();
        match msg.hold_until {
            Some(until) if !msg.quiet && until > now => {
                if member.away.is_none() {
                    self.ctx.metrics.seats_held.increment(1.0);
                }
                member.away = Some(Away {
                    until,
                    reason: msg.reason,
                });
                tracing::debug!(room = %self.settings.name, peer = %msg.peer_id, hold = ?(until - now), "socket lost: holding the seat");
                self.expire_later(msg.peer_id, until - now, ctx);
            }
            _ => self.leave(&msg.peer_id, msg.reason, msg.quiet, ctx),
        }
    }

    fn expire_later(&self, peer_id: PeerId, after: std::time::Duration, ctx: &mut Context<Self>) {
        ctx.run_later(after, move |room, ctx| room.seat_expired(peer_id, ctx));
    }

    /// The hold of a seat may have run out: the member leaves unless it resumed (or was lost
    /// again later, which set a later end).
    fn seat_expired(&mut self, peer_id: PeerId, ctx: &mut Context<Self>) {
        let Some(away) = self.members.get(&peer_id).and_then(|m| m.away) else {
            return;
        };
        let now = Instant::now();
        if away.until > now {
            return self.expire_later(peer_id, away.until - now, ctx);
        }
        tracing::debug!(room = %self.settings.name, peer = %peer_id, "seat not resumed in time");
        self.leave(&peer_id, away.reason, false, ctx);
    }

    /// Hands member `msg.peer_id`'s seat to a new socket: welcome it (resumed), close the old
    /// socket if it is still open, and tell the others it is back.
    pub(super) fn resume(
        &mut self,
        msg: Resume,
        ctx: &mut Context<Self>,
    ) -> Result<(), ClientError> {
        let room = self.settings.name.clone();
        let Some(member) = self.members.get_mut(&msg.peer_id) else {
            self.ctx.metrics.resume(ResumeResult::Expired);
            return Err(ClientError::ResumeExpired(room));
        };
        let old = std::mem::replace(&mut member.session, msg.session);
        member.outbox = msg.outbox.clone();
        member.address = msg.address;
        let was_away = member.away.take().is_some();
        if was_away {
            self.ctx.metrics.seats_held.decrement(1.0);
            self.ctx.metrics.resume(ResumeResult::Resumed);
        } else {
            // The old socket is still open (it has not noticed it is dead, or another tab
            // took the seat): the newer wins.
            old.do_send(MemberNotice {
                member: msg.peer_id.clone(),
                notice: Notice::Replaced,
            });
            self.ctx.metrics.resume(ResumeResult::Replaced);
        }
        tracing::debug!(%room, peer = %msg.peer_id, was_away, "seat resumed");
        let welcome = self.welcome(&msg.peer_id, true);
        self.send_to(&msg.outbox, &msg.peer_id, &welcome, OutKind::Welcome, ctx);
        let back = ServerMessage::PeerReconnected {
            peer_id: msg.peer_id.clone(),
        };
        self.broadcast_except(Some(&msg.peer_id), &back, OutKind::PeerReconnected, ctx);
        Ok(())
    }
}

/// Hand member `peer_id`'s seat to a new session (a `join` with its resume token).
#[derive(Clone, Message)]
#[rtype(result = "Result<(), ClientError>")]
pub struct Resume {
    /// The seat (from the verified token).
    pub peer_id: PeerId,
    /// The new session.
    pub session: MemberHandle,
    /// Where the member's frames go now.
    pub outbox: Outbox,
    /// Where the member connects from now.
    pub address: IpAddr,
}

impl Handler<Resume> for Room {
    type Result = ResponseActFuture<Self, Result<(), ClientError>>;

    fn handle(&mut self, msg: Resume, ctx: &mut Context<Self>) -> Self::Result {
        // A seat held on another node of the cluster is handed over first.
        if self.members.get(&msg.peer_id).is_none() {
            if let Some(node) = self.remote_node(&msg.peer_id) {
                return self.resume_from_node(msg, node);
            }
        }
        let resumed = self.resume(msg, ctx);
        if resumed.is_err() && self.members.is_empty() && self.settings.dynamic {
            ctx.stop(); // a dynamic room a cluster node started for this resume only
        }
        Box::pin(fut::ready(resumed))
    }
}
