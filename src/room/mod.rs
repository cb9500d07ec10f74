//! The `Room` actor: one per room. It owns the members (in join order), the host role and the
//! routing of signals between members; sessions talk to it, it talks back to sessions.

mod admin;
mod cluster_host;
mod contacts;
mod from_cluster;
mod handover;
mod host;
mod lease;
mod members;
mod membership;
mod notice;
mod pending;
mod relay;
mod remote;
mod report;
mod seat;
mod shared;
mod signal;

use std::sync::Arc;

use actix::prelude::*;
use bytestring::ByteString;

pub use self::admin::{Announce, Close, Describe, Kick, MemberView, Reconfigure, RoomView};
pub use self::host::HostState;
use self::members::Members;
pub use self::membership::{Join, Leave};
pub use self::notice::{MemberHandle, MemberNotice, Notice};
pub use self::relay::CurrentRelay;
pub use self::report::{RoomClosed, RoomUpdated};
pub use self::seat::Resume;
pub use self::signal::{Broadcast, Forward, ForwardByName};
use crate::config::OnHostLeave;
use crate::error::ClientError;
use crate::metrics::{Metrics, OutKind};
use crate::outbox::{Outbox, PushError};
use crate::protocol::{HostRef, IceServer, LeaveReason, PeerId, PeerInfo, ServerMessage, Topology};
use crate::relay::{DropMember, MemberLeft, Relay, RelaySettings, StopRelay};
use crate::resume::ResumeKey;
use crate::storage::Retention;

/// What a room is, fixed when it is created.
#[derive(Clone, Debug)]
pub struct RoomSettings {
    /// Room name.
    pub name: String,
    /// How members connect.
    pub topology: Topology,
    /// Member limit.
    pub max_peers: usize,
    /// Whether joining needs a password (the registry checks it).
    pub locked: bool,
    /// Failover policy of `host` rooms.
    pub on_host_leave: OnHostLeave,
    /// Created on first join and stopped when empty.
    pub dynamic: bool,
    /// How much chat history the room keeps (while the relay hosts it).
    pub retention: Retention,
    /// Members are told who is here and who joins and leaves (not in the PeerJS room, where
    /// signals name their sender by name instead).
    pub presence: bool,
}

/// Where a room reports to: the registry's inbox for room facts.
#[derive(Clone)]
pub struct RoomContext {
    /// Told the member count after every change.
    pub updated: Recipient<RoomUpdated>,
    /// Told when a dynamic room stops.
    pub closed: Recipient<RoomClosed>,
    /// ICE servers for `welcome`.
    pub ice_servers: Arc<Vec<IceServer>>,
    /// Server figures.
    pub metrics: Arc<Metrics>,
    /// How a relay for this room is set up.
    pub relay: Arc<RelaySettings>,
    /// Signs the resume tokens `welcome` hands out.
    pub resume_key: Arc<ResumeKey>,
    /// The TURN server members get credentials for in `welcome`.
    pub turn: Arc<crate::config::TurnConfig>,
    /// The node's cluster, if `[cluster]` is on (mesh and relay rooms with presence are shared).
    pub cluster: Option<crate::cluster::ClusterLink>,
}

/// One room: members, host state, routing.
pub struct Room {
    settings: RoomSettings,
    generation: u64,
    members: Members,
    host: HostState,
    relay: Option<Addr<Relay>>,
    /// Whether the relay check runs (it starts with the first relay).
    watching_relay: bool,
    /// Signals for members not here yet (PeerJS).
    pending: pending::Pending,
    /// Who signaled whom (rooms without presence).
    contacts: contacts::Contacts,
    /// The members on other nodes, when the room is shared over the cluster.
    shared: Option<shared::Shared>,
    ctx: RoomContext,
}

impl Room {
    /// A room with no members; `generation` tells this incarnation apart from later ones.
    pub fn new(settings: RoomSettings, generation: u64, ctx: RoomContext) -> Room {
        let shared = shared::Shared::for_room(&settings, &ctx);
        Room {
            host: HostState::initial(settings.topology),
            settings,
            generation,
            members: Members::default(),
            relay: None,
            watching_relay: false,
            pending: pending::Pending::default(),
            contacts: contacts::Contacts::default(),
            shared,
            ctx,
        }
    }

    /// Admits member `id`, sends it `welcome` and tells the others `peer_joined` (and, in a
    /// shared room, the other nodes, unless the cluster admitted it already: `announced`).
    pub fn join(
        &mut self,
        join: Join,
        id: PeerId,
        announced: bool,
        ctx: &mut Context<Self>,
    ) -> Result<PeerId, ClientError> {
        let join = join.named_by_token();
        self.admit(&join)?;
        let info = PeerInfo {
            id: id.clone(),
            name: join.name,
            identity: join.identity.as_ref().map(|i| i.id.clone()),
        };
        self.host.on_join(self.settings.topology, &id);
        let welcome = self.welcome(&id, false);
        self.send_to(&join.outbox, &id, &welcome, OutKind::Welcome, ctx);
        if self.settings.presence {
            let joined = ServerMessage::PeerJoined { peer: info.clone() };
            self.broadcast(&joined, OutKind::PeerJoined, ctx);
        }
        let name = info.name.clone();
        if !announced {
            self.announce_joined(&info);
        }
        self.members.insert(
            info,
            join.identity.map(|i| i.perms),
            join.session,
            join.outbox,
            join.address,
        );
        self.deliver_held(&name, &id, ctx);
        self.ctx.metrics.members.increment(1.0);
        self.report();
        Ok(id)
    }

    /// The `welcome` of member `id` (`resumed`: it took over its seat on a new socket).
    fn welcome(&self, id: &PeerId, resumed: bool) -> ServerMessage {
        ServerMessage::Welcome {
            room: self.settings.name.clone(),
            peer_id: id.clone(),
            topology: self.settings.topology,
            host: self.host.as_ref(),
            peers: if self.settings.presence {
                let mut peers = self.members.infos(Some(id));
                peers.extend(self.remote_infos());
                peers
            } else {
                Vec::new()
            },
            ice_servers: self.ice_servers_for(id),
            resume: self.ctx.resume_key.issue(&self.settings.name, id),
            resumed,
        }
    }

    /// The configured ICE servers, and TURN credentials of member `id` if there is TURN.
    fn ice_servers_for(&self, id: &PeerId) -> Vec<IceServer> {
        let mut servers = self.ctx.ice_servers.to_vec();
        let now = crate::clock::now_secs();
        servers.extend(self.ctx.turn.credentials(id.as_str(), now));
        servers
    }

    pub(super) fn admit(&self, join: &Join) -> Result<(), ClientError> {
        let s = &self.settings;
        if self.members.len() + self.remote_count() >= s.max_peers {
            return Err(ClientError::RoomFull {
                room: s.name.clone(),
                max_peers: s.max_peers,
            });
        }
        if let Some(identity) = &join.identity {
            if self.members.with_identity(&identity.id) || self.remote_identity(&identity.id) {
                return Err(ClientError::IdentityTaken(identity.id.clone()));
            }
        }
        match self.members.named(&join.name).map(|m| m.away) {
            Some(Some(away)) => {
                let free_in = away
                    .until
                    .saturating_duration_since(std::time::Instant::now());
                let name = join.name.clone();
                return Err(ClientError::NameHeld { name, free_in });
            }
            Some(None) => return Err(ClientError::NameTaken(join.name.clone())),
            None if self.remote_named(&join.name) => {
                return Err(ClientError::NameTaken(join.name.clone()))
            }
            None => {}
        }
        Ok(())
    }

    /// Removes a member, tells the others `peer_left`, and moves the host role if it hosted.
    /// A `quiet` leave (the server is shutting down, and every member's socket with it) tells
    /// nobody: the members' pages keep their links to each other until they are back.
    pub fn leave(
        &mut self,
        peer_id: &PeerId,
        reason: LeaveReason,
        quiet: bool,
        ctx: &mut Context<Self>,
    ) {
        let Some(member) = self.members.remove(peer_id) else {
            return;
        };
        if member.away.is_some() {
            self.ctx.metrics.seats_held.decrement(1.0);
        }
        self.announce_left(peer_id, &member.name, member.identity.clone(), reason);
        if let Some(relay) = &self.relay {
            relay.do_send(MemberLeft {
                peer_id: peer_id.clone(),
            });
        }
        self.ctx.metrics.members.decrement(1.0);
        if !quiet {
            let left = ServerMessage::PeerLeft {
                peer_id: peer_id.clone(),
                reason,
            };
            if self.settings.presence {
                self.broadcast(&left, OutKind::PeerLeft, ctx);
            } else {
                self.tell_contacts(peer_id, &member.name, reason, ctx);
            }
            let successor = self.members.first_id();
            let moved = if self.cluster_elects() {
                None // the cluster moves it, and tells every node
            } else {
                self.host
                    .on_leave(peer_id, successor, self.settings.on_host_leave)
            };
            if let Some(host) = moved {
                if host == HostRef::Relay {
                    self.start_relay(ctx);
                }
                let changed = ServerMessage::HostChanged { host };
                self.broadcast(&changed, OutKind::HostChanged, ctx);
            }
        }
        self.report();
        if self.members.is_empty() && self.settings.dynamic {
            ctx.stop();
        }
    }

    /// Tells member `id` of an error (and counts it).
    fn send_error(&self, outbox: &Outbox, id: &PeerId, err: ClientError, ctx: &mut Context<Self>) {
        self.ctx.metrics.error(err.code());
        self.send_to(outbox, id, &err.to_message(), OutKind::Error, ctx);
    }

    /// Queues `msg` for member `id`.
    fn send_to(
        &self,
        outbox: &Outbox,
        id: &PeerId,
        msg: &ServerMessage,
        kind: OutKind,
        ctx: &mut Context<Self>,
    ) {
        self.ctx.metrics.message_out(kind, 1);
        push(outbox, id, ByteString::from(msg.to_json()), ctx);
    }

    /// Queues `msg` for every member.
    fn broadcast(&self, msg: &ServerMessage, kind: OutKind, ctx: &mut Context<Self>) {
        self.broadcast_except(None, msg, kind, ctx)
    }

    /// Queues `msg` for every member but `except`. Members whose socket is lost are skipped:
    /// their `welcome` tells them the room as it is when they resume.
    fn broadcast_except(
        &self,
        except: Option<&PeerId>,
        msg: &ServerMessage,
        kind: OutKind,
        ctx: &mut Context<Self>,
    ) {
        let mut to = self
            .members
            .iter()
            .filter(|(id, m)| Some(*id) != except && m.away.is_none())
            .peekable();
        if to.peek().is_none() {
            return;
        }
        let frame = ByteString::from(msg.to_json());
        let mut sent = 0;
        for (id, member) in to {
            push(&member.outbox, id, frame.clone(), ctx);
            sent += 1;
        }
        self.ctx.metrics.message_out(kind, sent);
    }
}

/// Queues a frame for member `id`; a member whose queue is full cannot keep up and is dropped
/// (after the current message, so the member list is not changed under a broadcast).
fn push(outbox: &Outbox, id: &PeerId, frame: ByteString, ctx: &mut Context<Room>) {
    if outbox.push(frame) == Err(PushError::Full) {
        ctx.notify(SlowMember(id.clone()));
    }
}

/// A member's outbound queue overflowed: drop it (sent by the room to itself).
#[derive(Message)]
#[rtype(result = "()")]
struct SlowMember(PeerId);

impl Handler<SlowMember> for Room {
    type Result = ();

    fn handle(&mut self, SlowMember(peer_id): SlowMember, ctx: &mut Context<Self>) {
        if self.members.get(&peer_id).is_some() {
            tracing::warn!(room = %self.settings.name, peer = %peer_id, "dropping a member whose socket cannot keep up");
            self.ctx.metrics.slow_sockets.increment(1);
            let reason = LeaveReason::SlowConsumer;
            self.drop_member(DropMember { peer_id, reason }, ctx);
        }
    }
}

impl Actor for Room {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.ctx.metrics.rooms.increment(1.0);
        self.share(ctx);
        if self.leases_relay() {
            self.start_leasing(ctx);
        } else if self.host == HostState::Relay {
            self.start_relay(ctx);
        }
        tracing::debug!(room = %self.settings.name, "room started");
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        self.ctx.metrics.rooms.decrement(1.0);
        self.ctx
            .metrics
            .members
            .decrement(self.members.len() as f64);
        let held = self
            .members
            .iter()
            .filter(|(_, m)| m.away.is_some())
            .count();
        self.ctx.metrics.seats_held.decrement(held as f64);
        self.ctx.closed.do_send(RoomClosed {
            name: self.settings.name.clone(),
            generation: self.generation,
        });
        self.release_relay();
        if let Some(relay) = self.relay.take() {
            relay.do_send(StopRelay);
        }
        self.unshare();
        tracing::debug!(room = %self.settings.name, "room stopped");
        Running::Stop
    }
}
