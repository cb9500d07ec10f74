//! Seats over the cluster: a member whose socket comes back through another node (a load
//! balancer without stickiness) with its resume token takes its seat there. The node the token
//! reaches asks the seat's node to hand it over; that node lets the member go without a leave
//! (closing the old socket if it is still open) and answers with the seat; the new node seats
//! it under the same peer id, relists it as its own and tells the room `moved`, so every node
//! signals it there and its members see `peer_reconnected`, as on one node. Nothing else
//! changes: the host role, the join order and a link to a relay elsewhere stay.

use std::time::Duration;

use actix::prelude::*;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::{MemberNotice, Notice, Resume, Room};
use crate::auth::Perm;
use crate::cluster::{Announce, NodeEvent, NodeEventKind, RemoteMember, RoomEvent};
use crate::error::ClientError;
use crate::metrics::{OutKind, ResumeResult};
use crate::protocol::{PeerId, PeerInfo, ServerMessage};

/// How long a node waits for the seat's node to hand a seat over.
const HANDOVER_TIMEOUT: Duration = Duration::from_secs(2);

/// A seat as one node hands it to another.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Seat {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    perms: Option<Vec<Perm>>,
}

/// Handovers this node asked for and waits on, by peer id.
pub(super) type Waiting = std::collections::HashMap<PeerId, oneshot::Sender<Option<Seat>>>;

impl Room {
    /// A resume for a seat held on another node: asks that node for it, then seats the member
    /// here. Refused (`resume_expired`) if the node does not answer in time or holds no seat.
    pub(super) fn resume_from_node(
        &mut self,
        msg: Resume,
        node: String,
    ) -> ResponseActFuture<Self, Result<(), ClientError>> {
        let room = self.settings.name.clone();
        let Some(shared) = &mut self.shared else {
            return Box::pin(fut::ready(Err(ClientError::ResumeExpired(room))));
        };
        let (tx, rx) = oneshot::channel();
        shared.handovers.insert(msg.peer_id.clone(), tx);
        let (kind, id) = (NodeEventKind::Handover, msg.peer_id.clone());
        self.tell_node(node, kind, id.clone(), id, None);
        let asking = tokio::time::timeout(HANDOVER_TIMEOUT, rx);
        Box::pin(asking.into_actor(self).map(move |answer, this, ctx| {
            if let Some(shared) = &mut this.shared {
                shared.handovers.remove(&msg.peer_id);
            }
            match answer {
                Ok(Ok(Some(seat))) => this.take_seat(msg, seat, ctx),
                _ => {
                    tracing::debug!(%room, peer = %msg.peer_id, "no seat handed over");
                    this.ctx.metrics.resume(ResumeResult::Expired);
                    if this.members.is_empty() && this.settings.dynamic {
                        ctx.stop(); // started for this resume only
                    }
                    Err(ClientError::ResumeExpired(room))
                }
            }
        }))
    }

    /// Seats member `msg.peer_id` here with what its old node handed over.
    fn take_seat(
        &mut self,
        msg: Resume,
        seat: Seat,
        ctx: &mut Context<Self>,
    ) -> Result<(), ClientError> {
        let Some(shared) = &mut self.shared else {
            return Err(ClientError::ResumeExpired(self.settings.name.clone()));
        };
        shared.remote.shift_remove(&msg.peer_id);
        let info = PeerInfo {
            id: msg.peer_id.clone(),
            name: seat.name,
            identity: seat.identity,
        };
        let member = shared.link.member(info.clone());
        shared.link.bus.do_send(Announce {
            room: self.settings.name.clone(),
            event: RoomEvent::Moved { member },
            name_key: String::new(),
            identity: None,
        });
        self.members.insert(
            info,
            seat.perms,
            msg.session,
            msg.outbox.clone(),
            msg.address,
        );
        self.ctx.metrics.members.increment(1.0);
        self.ctx.metrics.resume(ResumeResult::Resumed);
        tracing::debug!(room = %self.settings.name, peer = %msg.peer_id, "seat taken over from another node");
        let welcome = self.welcome(&msg.peer_id, true);
        self.send_to(&msg.outbox, &msg.peer_id, &welcome, OutKind::Welcome, ctx);
        self.tell_reconnected(&msg.peer_id, ctx);
        self.report();
        Ok(())
    }

    /// Another node asks for the seat of member `event.to`, here: it goes there without a leave.
    pub(super) fn give_seat(&mut self, event: NodeEvent) {
        let (Some(node), id) = (event.from_node, event.to) else {
            return;
        };
        let seat = self.members.remove(&id).map(|member| {
            if member.away.is_some() {
                self.ctx.metrics.seats_held.decrement(1.0);
            } else {
                // Still open here (it has not noticed it is dead): the newer socket wins.
                member.session.do_send(MemberNotice {
                    member: id.clone(),
                    notice: Notice::Replaced,
                });
            }
            self.ctx.metrics.members.decrement(1.0);
            Seat {
                name: member.name,
                identity: member.identity,
                perms: member.perms,
            }
        });
        let Some(shared) = &mut self.shared else {
            return;
        };
        if let Some(seat) = &seat {
            tracing::debug!(room = %self.settings.name, peer = %id, %node, "seat handed over to another node");
            let info = PeerInfo {
                id: id.clone(),
                name: seat.name.clone(),
                identity: seat.identity.clone(),
            };
            let member = RemoteMember {
                info,
                node: node.clone(),
                incarnation: String::new(),
            };
            shared.remote.insert(id.clone(), member);
        }
        let data = seat.and_then(|s| serde_json::value::to_raw_value(&s).ok());
        self.tell_node(node, NodeEventKind::HandedOver, id.clone(), id, data);
        self.report();
    }

    /// The answer to a handover this node asked for.
    pub(super) fn handed_over(&mut self, event: NodeEvent) {
        let Some(shared) = &mut self.shared else {
            return;
        };
        let seat = event
            .data
            .and_then(|d| serde_json::from_str::<Seat>(d.get()).ok());
        if let Some(waiting) = shared.handovers.remove(&event.to) {
            let _ = waiting.send(seat);
        }
    }

    /// A member's seat moved to another node: signal it there; members here see it back.
    pub(super) fn seat_moved(&mut self, member: RemoteMember, ctx: &mut Context<Self>) {
        let Some(shared) = &mut self.shared else {
            return;
        };
        let id = member.info.id.clone();
        if self.members.get(&id).is_some() {
            return; // seated here (this node's own news)
        }
        shared.remote.insert(id.clone(), member);
        self.tell_reconnected(&id, ctx);
    }

    /// Members here (but `id`) see `id` back, in rooms with presence.
    fn tell_reconnected(&self, id: &PeerId, ctx: &mut Context<Self>) {
        if self.settings.presence {
            let back = ServerMessage::PeerReconnected {
                peer_id: id.clone(),
            };
            self.broadcast_except(Some(id), &back, OutKind::PeerReconnected, ctx);
        }
    }
}
