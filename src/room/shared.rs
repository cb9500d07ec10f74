//! A room shared with the other nodes of the cluster (`[cluster]` on; rooms with presence; a
//! relay's room is on one node, `lease.rs`; a host room's host is the cluster's,
//! `cluster_host.rs`): the members on other nodes, kept from the cluster's roster and events, and what
//! this node tells the others about its own members. One roster over the cluster: `welcome`
//! lists everyone, `peer_joined` and `peer_left` come from every node, and a signal to a member
//! on another node goes to that node's channel.

use actix::prelude::*;
use indexmap::IndexMap;

use super::Join;
use super::{Room, RoomContext, RoomSettings};
use crate::cluster::{
    Announce, ClusterLink, NodeEvent, NodeEventKind, RemoteMember, Reservation, Reserve, RoomEvent,
    Share, ToNode, Unshare,
};
use crate::error::ClientError;
use crate::metrics::OutKind;
use crate::protocol::{LeaveReason, PeerId, PeerInfo, ServerMessage, SignalData, Topology};

/// How long a starting room waits for the cluster's roster.
const SHARE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The room's side of the cluster.
pub(super) struct Shared {
    pub(super) link: ClusterLink,
    /// Members on other nodes, in the order this node learned of them.
    pub(super) remote: IndexMap<PeerId, RemoteMember>,
    /// A relay room: the node whose relay hosts it, as its last claim answered (`None`: not
    /// known yet, or not a relay room).
    pub(super) relay_owner: Option<String>,
    /// Whether the room claims its relay's lease (a relay room, or a host room the relay hosts).
    pub(super) leasing: bool,
    /// Seats this node asked another to hand over (`handover.rs`).
    pub(super) handovers: super::handover::Waiting,
}

impl Shared {
    /// The shared state of a room with `settings`, if the room is shared.
    pub(super) fn for_room(settings: &RoomSettings, ctx: &RoomContext) -> Option<Shared> {
        let shareable = matches!(
            settings.topology,
            Topology::Mesh | Topology::Relay | Topology::Host
        );
        ctx.cluster
            .clone()
            .filter(|_| shareable)
            .map(|link| Shared {
                link,
                remote: IndexMap::new(),
                relay_owner: None,
                leasing: false,
                handovers: Default::default(),
            })
    }
}

impl Room {
    /// On start: subscribe, and take in the roster over the cluster before anything else (the
    /// room handles no message until then, so the first `welcome` lists everyone).
    pub(super) fn share(&mut self, ctx: &mut Context<Self>) {
        let Some(shared) = &self.shared else {
            return;
        };
        let share = Share {
            room: self.settings.name.clone(),
            to: ctx.address().recipient(),
        };
        // Bounded: without an answer the room goes on with what it knows, and the roster comes
        // with the bus's next subscription.
        let asking = tokio::time::timeout(SHARE_TIMEOUT, shared.link.bus.send(share));
        ctx.wait(asking.into_actor(self).map(|roster, room, ctx| match roster {
            Ok(Ok(roster)) => room.take_roster(roster, ctx),
            _ => tracing::warn!(room = %room.settings.name, "no roster from the cluster; starting with this node's members"),
        }));
    }

    /// On stop: no more events for this room here.
    pub(super) fn unshare(&mut self) {
        if let Some(shared) = &self.shared {
            shared.link.bus.do_send(Unshare {
                room: self.settings.name.clone(),
            });
        }
    }

    /// Members on other nodes.
    pub(super) fn remote_count(&self) -> usize {
        self.shared.as_ref().map_or(0, |s| s.remote.len())
    }

    /// Whether a member on another node is named `name` (ignoring case).
    pub(super) fn remote_named(&self, name: &str) -> bool {
        let name = name.to_lowercase();
        self.shared.as_ref().is_some_and(|s| {
            s.remote
                .values()
                .any(|m| m.info.name.to_lowercase() == name)
        })
    }

    /// Members on other nodes, as `welcome.peers` lists them.
    pub(super) fn remote_infos(&self) -> Vec<PeerInfo> {
        self.shared.as_ref().map_or_else(Vec::new, |s| {
            s.remote.values().map(|m| m.info.clone()).collect()
        })
    }

    /// Members on other nodes.
    pub(super) fn remote_members(&self) -> Vec<RemoteMember> {
        self.shared
            .as_ref()
            .map_or_else(Vec::new, |s| s.remote.values().cloned().collect())
    }

    /// The node of member `id`, if it is on another node.
    pub(super) fn remote_node(&self, id: &PeerId) -> Option<String> {
        let shared = self.shared.as_ref()?;
        shared.remote.get(id).map(|m| m.node.clone())
    }

    /// Tells the other nodes that `info` joined here.
    pub(super) fn announce_joined(&self, info: &PeerInfo) {
        if let Some(shared) = &self.shared {
            let member = RemoteMember {
                info: info.clone(),
                node: shared.link.node.clone(),
                incarnation: shared.link.incarnation.clone(),
            };
            shared.link.bus.do_send(Announce {
                room: self.settings.name.clone(),
                event: RoomEvent::Joined { member },
                name_key: info.name.to_lowercase(),
                identity: None,
            });
        }
    }

    /// Tells the other nodes that `peer_id` (a member here, named `name`, with token identity
    /// `identity`) left.
    pub(super) fn announce_left(
        &self,
        peer_id: &PeerId,
        name: &str,
        identity: Option<String>,
        reason: LeaveReason,
    ) {
        if let Some(shared) = &self.shared {
            shared.link.bus.do_send(Announce {
                room: self.settings.name.clone(),
                event: RoomEvent::Left {
                    node: shared.link.node.clone(),
                    peer_id: peer_id.clone(),
                    reason,
                },
                name_key: name.to_lowercase(),
                identity,
            });
        }
    }

    /// Whether a member on another node has token identity `identity`.
    pub(super) fn remote_identity(&self, identity: &str) -> bool {
        self.shared.as_ref().is_some_and(|s| {
            s.remote
                .values()
                .any(|m| m.info.identity.as_deref() == Some(identity))
        })
    }

    /// Admits `join` as member `id` over the whole cluster first (room size and name, in
    /// Redis), then here; a room that is not shared admits it here at once.
    pub(super) fn join_shared(
        &mut self,
        join: Join,
        id: PeerId,
        ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, Result<PeerId, ClientError>> {
        let join = join.named_by_token();
        let shared = match (&self.shared, self.admit(&join)) {
            (_, Err(refused)) => return Box::pin(fut::ready(Err(refused))),
            (None, Ok(())) => return Box::pin(fut::ready(self.join(join, id, false, ctx))),
            (Some(shared), Ok(())) => shared,
        };
        let reserve = Reserve {
            room: self.settings.name.clone(),
            member: RemoteMember {
                info: PeerInfo {
                    id: id.clone(),
                    name: join.name.clone(),
                    identity: join.identity.as_ref().map(|i| i.id.clone()),
                },
                node: shared.link.node.clone(),
                incarnation: shared.link.incarnation.clone(),
            },
            name_key: join.name.to_lowercase(),
            max_peers: self.settings.max_peers,
            on_host_leave: (self.settings.topology == Topology::Host)
                .then_some(self.settings.on_host_leave),
        };
        let asking = shared.link.bus.send(reserve);
        Box::pin(asking.into_actor(self).map(move |answer, room, ctx| {
            let s = &room.settings;
            match answer.unwrap_or(Reservation::Unavailable) {
                Reservation::Admitted { host } => {
                    room.take_cluster_host(host);
                    room.join(join, id, true, ctx)
                }
                Reservation::Unavailable => room.join(join, id, false, ctx),
                Reservation::Full => Err(ClientError::RoomFull {
                    room: s.name.clone(),
                    max_peers: s.max_peers,
                }),
                Reservation::NameTaken => Err(ClientError::NameTaken(join.name)),
                Reservation::IdentityTaken => Err(ClientError::IdentityTaken(
                    join.identity.map(|i| i.id).unwrap_or_default(),
                )),
            }
        }))
    }

    /// Sends a signal to a member on `node`.
    pub(super) fn signal_remote(&mut self, node: String, msg: super::Forward) {
        let Some(shared) = &self.shared else {
            return;
        };
        shared.link.bus.do_send(ToNode {
            node,
            event: NodeEvent {
                kind: NodeEventKind::Signal,
                room: self.settings.name.clone(),
                from: msg.from,
                to: msg.to,
                from_node: Some(shared.link.node.clone()),
                data: Some(msg.data.into_raw()),
                sender: None,
            },
        });
    }

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
        let listed: Vec<RemoteMember> = roster.into_iter().filter(|m| m.node != here).collect();
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
            if let (Some(shared), Some(node)) = (&self.shared, from_node) {
                shared.link.bus.do_send(ToNode {
                    node,
                    event: NodeEvent {
                        kind: NodeEventKind::Undeliverable,
                        room: self.settings.name.clone(),
                        from,
                        to,
                        from_node: None,
                        data: None,
                        sender: None,
                    },
                });
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
