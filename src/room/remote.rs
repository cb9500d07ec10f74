//! The members of a shared room on other nodes, as this node learns of them: the roster read
//! from Redis (and mended: members listed as this node's that are gone are taken out), joins
//! and leaves on other nodes, and their signals for members here.

use actix::prelude::*;

use super::Room;
use crate::cluster::{NodeEvent, NodeEventKind, RemoteMember};
use crate::metrics::OutKind;
use crate::protocol::{LeaveReason, PeerId, PeerInfo, ServerMessage, SignalData};

impl Room {
    /// The roster over the cluster, read when the room started (or after the node's
    /// subscriptions were made again): members new to this node join, members gone leave, and
    /// members here it lacks are listed again.
    pub(super) fn take_roster(&mut self, roster: Vec<RemoteMember>, ctx: &mut Context<Self>) {
        let Some(shared) = &self.shared else {
            return;
        };
        let here = shared.link.node.clone();
        // Members here that the roster lacks (admitted while Redis did not answer, or lost with
        // it): list and announce them now.
        let unlisted: Vec<PeerInfo> = self
            .members
            .infos(None)
            .into_iter()
            .filter(|info| !roster.iter().any(|m| m.info.id == info.id))
            .collect();
        for info in &unlisted {
            self.announce_joined(info);
        }
        // Members listed as this node's that are not here (they left while Redis did not
        // answer, so their `left` was lost): take them out now, as their leave would have.
        let ghosts: Vec<RemoteMember> = roster
            .iter()
            .filter(|m| m.node == here && m.incarnation == shared.link.incarnation)
            .filter(|m| self.members.get(&m.info.id).is_none())
            .filter(|m| !shared.reserving.contains(&m.info.id))
            .cloned()
            .collect();
        for ghost in ghosts {
            tracing::debug!(room = %self.settings.name, peer = %ghost.info.id, "listed here but gone: taking it out");
            let info = ghost.info;
            self.announce_left(&info.id, &info.name, info.identity, LeaveReason::Timeout);
        }
        let listed: Vec<RemoteMember> = roster
            .into_iter()
            .filter(|m| m.node != here && self.members.get(&m.info.id).is_none())
            .collect();
        let gone: Vec<PeerId> = shared
            .remote
            .keys()
            .filter(|id| !listed.iter().any(|m| &m.info.id == *id))
            .cloned()
            .collect();
        for id in gone {
            self.remote_left(&id, LeaveReason::Timeout, ctx);
        }
        for member in listed {
            self.remote_joined(member, ctx);
        }
    }

    pub(super) fn remote_joined(&mut self, member: RemoteMember, ctx: &mut Context<Self>) {
        let Some(shared) = &mut self.shared else {
            return;
        };
        if shared.remote.contains_key(&member.info.id) {
            return;
        }
        let (id, name) = (member.info.id.clone(), member.info.name.clone());
        let joined = ServerMessage::PeerJoined {
            peer: member.info.clone(),
        };
        shared.remote.insert(id.clone(), member);
        if self.settings.presence {
            self.broadcast(&joined, OutKind::PeerJoined, ctx);
        }
        // Signals held here for that name (a room without presence) go to its node now.
        self.deliver_held(&name, &id, ctx);
        self.report();
    }

    /// The member on another node named `name` (ignoring case), for rooms whose members address
    /// each other by name.
    pub(super) fn remote_id_named(&self, name: &str) -> Option<PeerId> {
        let name = name.to_lowercase();
        let shared = self.shared.as_ref()?;
        shared
            .remote
            .values()
            .find(|m| m.info.name.to_lowercase() == name)
            .map(|m| m.info.id.clone())
    }

    pub(super) fn remote_left(
        &mut self,
        id: &PeerId,
        reason: LeaveReason,
        ctx: &mut Context<Self>,
    ) {
        let Some(shared) = &mut self.shared else {
            return;
        };
        let Some(gone) = shared.remote.shift_remove(id) else {
            return;
        };
        if let Some(relay) = &self.relay {
            relay.do_send(crate::relay::MemberLeft {
                peer_id: id.clone(),
            });
        }
        if self.settings.presence {
            let left = ServerMessage::PeerLeft {
                peer_id: id.clone(),
                reason,
            };
            self.broadcast(&left, OutKind::PeerLeft, ctx);
        } else {
            self.tell_contacts(id, &gone.info.name, reason, ctx);
        }
        self.report();
    }

    /// A signal from member `from` on another node for member `to` here.
    pub(super) fn remote_signal(&mut self, event: NodeEvent, ctx: &mut Context<Self>) {
        if event.to.is_relay() {
            return self.signal_to_relay_here(event);
        }
        let NodeEvent {
            from,
            to,
            from_node,
            data,
            ..
        } = event;
        let Some(target) = self.members.get(&to) else {
            // Gone meanwhile: the sender's node tells the sender, as for a member here.
            if let Some(node) = from_node {
                self.tell_node(node, NodeEventKind::Undeliverable, from, to, None);
            }
            return;
        };
        let Some(Ok(data)) = data.map(SignalData::from_raw) else {
            return tracing::debug!(room = %self.settings.name, "cluster signal without an object");
        };
        if self.remote_node(&from).is_none() && !from.is_relay() {
            tracing::debug!(room = %self.settings.name, %from, "cluster signal from a member not listed here");
        }
        // Without presence a member knows the others by name only, and is told when one it
        // signaled leaves.
        let from = match self.settings.presence {
            true => from,
            false => {
                self.contacts.touch(&from, &to);
                let name = self.shared.as_ref().and_then(|s| s.remote.get(&from));
                PeerId::from(name.map_or(from.as_str(), |m| m.info.name.as_str()))
            }
        };
        let signal = ServerMessage::Signal { from, data };
        self.send_to(&target.outbox, &to, &signal, OutKind::Signal, ctx);
    }
}
