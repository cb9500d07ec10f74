//! What an operator can do to a room through the admin API: see it, kick a member (who is told
//! why), announce something to everyone in it, and close it.

use std::net::IpAddr;

use actix::prelude::*;
use serde::Serialize;

use super::Room;
use super::{MemberNotice, Notice};
use crate::error::ClientError;
use crate::metrics::OutKind;
use crate::protocol::{HostRef, LeaveReason, PeerId, ServerMessage, Topology};

/// A room as the admin API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct RoomView {
    /// Room name.
    pub name: String,
    /// How members connect.
    pub topology: Topology,
    /// Who hosts (`null` in a mesh or an empty host room).
    pub host: Option<HostRef>,
    /// Member limit.
    pub max_peers: usize,
    /// Whether joining needs a password.
    pub locked: bool,
    /// Created on first join, removed when empty.
    pub dynamic: bool,
    /// Members, in join order.
    pub members: Vec<MemberView>,
    /// In a room shared over a cluster: its members on other nodes (`id`, `name`, `identity`,
    /// `node`), in the order this node learned of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub on_other_nodes: Vec<crate::cluster::RemoteMember>,
}

/// One member as the admin API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct MemberView {
    /// Peer id.
    pub peer_id: PeerId,
    /// Display name.
    pub name: String,
    /// The identity its join token proved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Where it connects from.
    pub address: IpAddr,
    /// Its socket is lost and its seat held for a resume.
    pub away: bool,
}

impl Room {
    fn view(&self) -> RoomView {
        let s = &self.settings;
        RoomView {
            name: s.name.clone(),
            topology: s.topology,
            host: self.host.as_ref(),
            max_peers: s.max_peers,
            locked: s.locked,
            dynamic: s.dynamic,
            members: self
                .members
                .iter()
                .map(|(id, m)| MemberView {
                    peer_id: id.clone(),
                    name: m.name.clone(),
                    identity: m.identity.clone(),
                    address: m.address,
                    away: m.away.is_some(),
                })
                .collect(),
            on_other_nodes: self.remote_members(),
        }
    }

    /// Removes member `peer_id`, telling it `reason` (its socket closes with 4002) and the
    /// others `peer_left` with reason `kicked`. Its seat is not held.
    pub(super) fn kick(&mut self, msg: Kick, ctx: &mut Context<Self>) -> Result<(), ClientError> {
        let Some(member) = self.members.get(&msg.peer_id) else {
            // A member on another node of the cluster: its node kicks it.
            return match self.remote_node(&msg.peer_id) {
                Some(node) => {
                    self.kick_remote(node, msg);
                    Ok(())
                }
                None => Err(ClientError::UnknownPeer(msg.peer_id.to_string())),
            };
        };
        member.session.do_send(MemberNotice {
            member: msg.peer_id.clone(),
            notice: Notice::Kicked {
                room: self.settings.name.clone(),
                reason: msg.reason.clone(),
            },
        });
        tracing::info!(room = %self.settings.name, peer = %msg.peer_id, reason = %msg.reason, "member kicked");
        self.leave(&msg.peer_id, LeaveReason::Kicked, false, ctx);
        Ok(())
    }

    /// Sends `text` to every member as an `announcement`.
    fn announce(&mut self, text: String, ctx: &mut Context<Self>) {
        let msg = ServerMessage::Announcement {
            room: self.settings.name.clone(),
            text,
            ts: crate::clock::now_ms(),
        };
        self.broadcast(&msg, OutKind::Announcement, ctx);
        if let ServerMessage::Announcement { text, .. } = msg {
            self.announce_elsewhere(text);
        }
    }

    /// An announcement made through another node's admin API.
    pub(super) fn announce_here(&mut self, text: String, ctx: &mut Context<Self>) {
        let msg = ServerMessage::Announcement {
            room: self.settings.name.clone(),
            text,
            ts: crate::clock::now_ms(),
        };
        self.broadcast(&msg, OutKind::Announcement, ctx);
    }

    /// Tells every member the room closed (they are in no room then) and stops the room.
    fn close(&mut self, reason: String, ctx: &mut Context<Self>) {
        tracing::info!(room = %self.settings.name, %reason, "room closed");
        for (id, member) in self.members.iter() {
            member.session.do_send(MemberNotice {
                member: id.clone(),
                notice: Notice::RoomClosed {
                    room: self.settings.name.clone(),
                    reason: reason.clone(),
                },
            });
        }
        ctx.stop();
    }
}

/// What an operator does through this node to a room shared over a cluster.
impl Room {
    /// Asks `node` to kick its member (an operator's kick through this node).
    pub(super) fn kick_remote(&self, node: String, kick: super::Kick) {
        let data = serde_json::value::to_raw_value(&serde_json::json!({ "reason": kick.reason }));
        let kind = crate::cluster::NodeEventKind::Kick;
        self.tell_node(node, kind, kick.peer_id.clone(), kick.peer_id, data.ok());
    }

    /// Tells the room's members on other nodes an operator's announcement.
    pub(super) fn announce_elsewhere(&self, text: String) {
        if let Some(shared) = &self.shared {
            shared.link.bus.do_send(crate::cluster::Announce {
                room: self.settings.name.clone(),
                event: crate::cluster::RoomEvent::Announced {
                    node: shared.link.node.clone(),
                    text,
                },
                name_key: String::new(),
                identity: None,
            });
        }
    }
}

/// The room as the admin API shows it.
#[derive(Message)]
#[rtype(result = "RoomView")]
pub struct Describe;

impl Handler<Describe> for Room {
    type Result = MessageResult<Describe>;

    fn handle(&mut self, _: Describe, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.view())
    }
}

/// Remove member `peer_id`, telling it `reason`.
#[derive(Message)]
#[rtype(result = "Result<(), ClientError>")]
pub struct Kick {
    /// The member.
    pub peer_id: PeerId,
    /// What it is told.
    pub reason: String,
}

impl Handler<Kick> for Room {
    type Result = Result<(), ClientError>;

    fn handle(&mut self, msg: Kick, ctx: &mut Context<Self>) -> Self::Result {
        self.kick(msg, ctx)
    }
}

/// Send every member an `announcement`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Announce(pub String);

impl Handler<Announce> for Room {
    type Result = ();

    fn handle(&mut self, Announce(text): Announce, ctx: &mut Context<Self>) {
        self.announce(text, ctx)
    }
}

/// Close the room: every member is told `room_closed` with this reason.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Close(pub String);

impl Handler<Close> for Room {
    type Result = ();

    fn handle(&mut self, Close(reason): Close, ctx: &mut Context<Self>) {
        self.close(reason, ctx)
    }
}

/// New settings from a reloaded configuration (same name and topology): they apply to the next
/// joins; members already in stay.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reconfigure(pub super::RoomSettings);

impl Handler<Reconfigure> for Room {
    type Result = ();

    fn handle(&mut self, Reconfigure(settings): Reconfigure, _: &mut Context<Self>) {
        tracing::info!(room = %settings.name, max_peers = settings.max_peers, "room reconfigured");
        let s = &mut self.settings;
        s.max_peers = settings.max_peers;
        s.locked = settings.locked;
        s.on_host_leave = settings.on_host_leave;
        s.retention = settings.retention;
    }
}
