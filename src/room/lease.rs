//! A shared relay room's relay runs on one node at a time: the one holding the room's lease in
//! Redis (`cluster::ClaimRelay`). Every node with the room claims it when the room starts and
//! every heartbeat after; the holder runs the relay, the others pass their members' signals for
//! the relay to the holder's node, and the relay's answers, refusals and drops come back the
//! same way. When the holder dies its lease expires and the next claim elsewhere takes it: that
//! node starts the relay (which reads the room's history from the shared store) and tells every
//! member, through every node, `relay_failed`, so each offers to the relay again and resumes.

use actix::prelude::*;

use super::{Forward, Room};
use crate::cluster::{
    Announce, ClaimRelay, NodeEvent, NodeEventKind, ReleaseRelay, RoomEvent, Sender, ToNode,
};
use crate::error::ClientError;
use crate::metrics::OutKind;
use crate::protocol::{LeaveReason, PeerId, ServerMessage, SignalData};
use crate::relay::{DropMember, SignalToRelay, StopRelay};
use crate::room::HostState;

/// How long a starting room waits for its first claim's answer.
const CLAIM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

impl Room {
    /// Whether this room's relay is leased over the cluster (a shared relay room).
    pub(super) fn leases_relay(&self) -> bool {
        self.shared.is_some() && self.host == HostState::Relay
    }

    /// On start: the first claim before anything else (so the first member's offer finds the
    /// relay, here or on its node), then one every heartbeat.
    pub(super) fn start_leasing(&mut self, ctx: &mut Context<Self>) {
        let Some(shared) = &mut self.shared else {
            return;
        };
        if std::mem::replace(&mut shared.leasing, true) {
            return;
        }
        let claim = ClaimRelay {
            room: self.settings.name.clone(),
            ttl: shared.link.lease,
        };
        let renew = shared.link.renew;
        let asking = tokio::time::timeout(CLAIM_TIMEOUT, shared.link.bus.send(claim));
        ctx.wait(asking.into_actor(self).map(|answer, room, ctx| {
            room.claimed(answer.ok().and_then(Result::ok).flatten(), ctx)
        }));
        ctx.run_interval(renew, |room, ctx| room.claim(ctx));
    }

    fn claim(&mut self, ctx: &mut Context<Self>) {
        let Some(shared) = &self.shared else {
            return;
        };
        let claim = ClaimRelay {
            room: self.settings.name.clone(),
            ttl: shared.link.lease,
        };
        let asking = shared.link.bus.send(claim);
        ctx.spawn(
            asking
                .into_actor(self)
                .map(|answer, room, ctx| room.claimed(answer.ok().flatten(), ctx)),
        );
    }

    /// A claim's answer: the node holding the lease (`None`: Redis did not answer; things stay
    /// as they are, and the store refuses appends once the lease is gone).
    fn claimed(&mut self, owner: Option<String>, ctx: &mut Context<Self>) {
        let (Some(owner), Some(shared)) = (owner, &mut self.shared) else {
            return;
        };
        let here = owner == shared.link.node;
        let bus = shared.link.bus.clone();
        let before = shared.relay_owner.replace(owner.clone());
        // Members here were linked to the relay on `before`, which is not the relay now.
        let moved = before.as_ref().is_some_and(|b| *b != owner);
        if here {
            if self.relay.is_none() {
                tracing::info!(room = %self.settings.name, previous = ?before, "this node holds the relay room: starting its relay");
                self.start_relay(ctx);
            }
            if moved {
                // Tell every node at once rather than at its next claim.
                bus.do_send(Announce {
                    room: self.settings.name.clone(),
                    event: RoomEvent::RelayMoved { node: owner },
                    name_key: String::new(),
                    identity: None,
                });
                self.tell_relay_moved(ctx);
            }
        } else {
            if let Some(relay) = self.relay.take() {
                tracing::warn!(room = %self.settings.name, %owner, "another node holds this relay room now: stopping its relay here");
                relay.do_send(StopRelay);
            }
            if moved {
                self.tell_relay_moved(ctx);
            }
        }
    }

    /// Node `node` announced it took over the relay (unless this node's claim saw it already).
    pub(super) fn relay_moved(&mut self, node: String, ctx: &mut Context<Self>) {
        let Some(shared) = &mut self.shared else {
            return;
        };
        if shared.relay_owner.as_ref() == Some(&node) {
            return;
        }
        shared.relay_owner = Some(node);
        if let Some(relay) = self.relay.take() {
            relay.do_send(StopRelay);
        }
        self.tell_relay_moved(ctx);
    }

    /// Members here offer to the relay again: their links went to a relay that is gone.
    fn tell_relay_moved(&mut self, ctx: &mut Context<Self>) {
        let error = ClientError::RelayFailed("the relay moved to another node".into());
        self.relay_failed_here(&error, ctx);
    }

    /// On stop: a lease held here is given up at once (another node may take the room now).
    pub(super) fn release_relay(&mut self) {
        if let (true, Some(shared)) = (self.relay.is_some(), &self.shared) {
            shared.link.bus.do_send(ReleaseRelay {
                room: self.settings.name.clone(),
            });
        }
    }

    /// The node holding this room's relay when it is another one.
    pub(super) fn relay_elsewhere(&self) -> Option<String> {
        let shared = self.shared.as_ref()?;
        shared
            .relay_owner
            .clone()
            .filter(|owner| *owner != shared.link.node && self.relay.is_none())
    }

    /// A member here signals the relay on `node`.
    pub(super) fn signal_relay_elsewhere(&mut self, node: String, msg: Forward) {
        let (Some(shared), Some(member)) = (&self.shared, self.members.get(&msg.from)) else {
            return;
        };
        let sender = Sender {
            name: member.name.clone(),
            perms: member.perms.clone(),
            address: member.address,
        };
        let event = NodeEvent::new(NodeEventKind::Signal, &self.settings.name, msg.from, msg.to)
            .with_data(Some(msg.data.into_raw()))
            .with_sender(sender);
        shared.link.bus.do_send(ToNode { node, event });
    }

    /// A member on another node signals the relay here; if the relay is not here (any more),
    /// it is told `relay_failed` and offers again.
    pub(super) fn signal_to_relay_here(&mut self, event: NodeEvent) {
        let NodeEvent {
            from,
            from_node,
            data,
            sender,
            ..
        } = event;
        let data = data.map(SignalData::from_raw);
        match (&self.relay, sender, data) {
            (Some(relay), Some(sender), Some(Ok(data))) => relay.do_send(SignalToRelay {
                from,
                name: sender.name,
                perms: sender.perms,
                address: sender.address,
                data,
            }),
            (None, _, _) => {
                let error = ClientError::RelayFailed("the relay is not on this node".into());
                if let Some(node) = from_node {
                    self.tell_remote(node, &from, &error.to_message_about(PeerId::relay()));
                }
            }
            _ => {
                tracing::debug!(room = %self.settings.name, %from, "malformed relay signal from another node")
            }
        }
    }

    /// Sends `msg` to member `to` on `node`, through that node.
    pub(super) fn tell_remote(&self, node: String, to: &PeerId, msg: &ServerMessage) {
        let data = serde_json::value::to_raw_value(msg).ok();
        self.tell_node(node, NodeEventKind::Tell, PeerId::relay(), to.clone(), data);
    }

    /// The relay here answers member `to` on another node (an answer or a candidate).
    pub(super) fn signal_from_relay_to_node(&self, node: String, to: PeerId, data: SignalData) {
        let data = Some(data.into_raw());
        self.tell_node(node, NodeEventKind::Signal, PeerId::relay(), to, data);
    }

    /// The relay here gave up on member `to` on `node`: that node drops it.
    pub(super) fn drop_on_node(&self, node: String, to: PeerId, reason: LeaveReason) {
        let data = serde_json::value::to_raw_value(&serde_json::json!({ "reason": reason })).ok();
        self.tell_node(node, NodeEventKind::Drop, PeerId::relay(), to, data);
    }

    /// A message for member `to` here from the relay on another node.
    pub(super) fn told(&mut self, event: NodeEvent, ctx: &mut Context<Self>) {
        let Some(member) = self.members.get(&event.to) else {
            return;
        };
        let msg = event
            .data
            .and_then(|d| serde_json::from_str::<ServerMessage>(d.get()).ok());
        match msg {
            Some(msg @ ServerMessage::Error { .. }) => {
                self.send_to(&member.outbox, &event.to, &msg, OutKind::Error, ctx)
            }
            _ => {
                tracing::debug!(room = %self.settings.name, "unexpected message from another node's relay")
            }
        }
    }

    /// The relay on another node gave up on member `to` here.
    pub(super) fn dropped_by_remote_relay(&mut self, event: NodeEvent, ctx: &mut Context<Self>) {
        let reason = event
            .data
            .and_then(|d| serde_json::from_str::<serde_json::Value>(d.get()).ok())
            .and_then(|v| serde_json::from_value::<LeaveReason>(v["reason"].clone()).ok())
            .unwrap_or(LeaveReason::SlowConsumer);
        if self.members.get(&event.to).is_some() {
            let peer_id = event.to;
            self.drop_member(DropMember { peer_id, reason }, ctx);
        }
    }
}
