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
use crate::protocol::{LeaveReason, PeerId, PeerInfo, Topology};

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
    /// Joins admitted over the cluster whose answer has not come back yet (listed in Redis,
    /// not here yet).
    pub(super) reserving: std::collections::HashSet<PeerId>,
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
                reserving: Default::default(),
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
            let member = shared.link.member(info.clone());
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
            member: shared.link.member(PeerInfo {
                id: id.clone(),
                name: join.name.clone(),
                identity: join.identity.as_ref().map(|i| i.id.clone()),
            }),
            name_key: join.name.to_lowercase(),
            max_peers: self.settings.max_peers,
            on_host_leave: (self.settings.topology == Topology::Host)
                .then_some(self.settings.on_host_leave),
        };
        let asking = shared.link.bus.send(reserve);
        if let Some(shared) = &mut self.shared {
            shared.reserving.insert(id.clone());
        }
        Box::pin(asking.into_actor(self).map(move |answer, room, ctx| {
            if let Some(shared) = &mut room.shared {
                shared.reserving.remove(&id);
            }
            let s = &room.settings;
            match answer.unwrap_or(Reservation::Unavailable) {
                Reservation::Admitted { host } => {
                    room.take_cluster_host(host, ctx);
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
        let data = Some(msg.data.into_raw());
        self.tell_node(node, NodeEventKind::Signal, msg.from, msg.to, data);
    }

    /// Sends node `node` an event of `kind` about this room, from `from` to `to`, with `data`.
    pub(super) fn tell_node(
        &self,
        node: String,
        kind: NodeEventKind,
        from: PeerId,
        to: PeerId,
        data: Option<Box<serde_json::value::RawValue>>,
    ) {
        if let Some(shared) = &self.shared {
            let event = NodeEvent::new(kind, &self.settings.name, from, to).with_data(data);
            shared.link.bus.do_send(ToNode { node, event });
        }
    }
}
