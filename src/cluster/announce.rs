//! What rooms publish through the bus: a member listed, unlisted or moved (by the scripts that
//! keep the roster, each telling the room's channel), an announcement, and events for one node.
//! All of it goes through the publisher task, in the order the rooms said it.

use actix::prelude::*;

use super::bus::Bus;
use super::events::{NodeEvent, RoomEvent};
use super::keys;
use super::publisher::Outgoing;

/// A member of room `room` here joined or left: list or unlist it and tell the other nodes.
/// (`name_key`: the member's lower-cased name; `identity`: its token identity; both freed when
/// it leaves.)
#[derive(Message)]
#[rtype(result = "()")]
pub struct Announce {
    pub room: String,
    pub event: RoomEvent,
    pub name_key: String,
    pub identity: Option<String>,
}

impl Handler<Announce> for Bus {
    type Result = ();

    fn handle(&mut self, msg: Announce, _: &mut Context<Self>) {
        let payload = serde_json::to_string(&msg.event).unwrap_or_default();
        let members = keys::room_members(&msg.room);
        let channel = keys::room_channel(&msg.room);
        let cmd = match msg.event {
            RoomEvent::Joined { member } => Outgoing::Script {
                script: keys::JOINED,
                keys: vec![
                    members,
                    keys::node_rooms(&self.node),
                    keys::room_names(&msg.room),
                    keys::room_order(&msg.room),
                    keys::room_joins(&msg.room),
                ],
                args: vec![
                    member.info.id.to_string(),
                    serde_json::to_string(&member).unwrap_or_default(),
                    msg.room,
                    channel,
                    payload,
                    msg.name_key,
                ],
            },
            RoomEvent::Moved { member } => Outgoing::Script {
                script: keys::MOVED,
                keys: vec![members, keys::node_rooms(&self.node)],
                args: vec![
                    member.info.id.to_string(),
                    serde_json::to_string(&member).unwrap_or_default(),
                    msg.room,
                    channel,
                    payload,
                ],
            },
            RoomEvent::Announced { .. }
            | RoomEvent::RelayMoved { .. }
            | RoomEvent::HostChanged { .. } => Outgoing::Publish { channel, payload },
            RoomEvent::Left { peer_id, .. } => Outgoing::Script {
                script: keys::LEFT.as_str(),
                keys: vec![
                    members,
                    keys::room_names(&msg.room),
                    keys::room_identities(&msg.room),
                    keys::room_host(&msg.room),
                    keys::room_order(&msg.room),
                ],
                args: vec![
                    peer_id.to_string(),
                    channel,
                    payload,
                    msg.name_key,
                    msg.identity.unwrap_or_default(),
                ],
            },
        };
        let _ = self.out.send(cmd);
    }
}

/// Send `event` to node `node` (stamped as from this node).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ToNode {
    pub node: String,
    pub event: NodeEvent,
}

impl Handler<ToNode> for Bus {
    type Result = ();

    fn handle(&mut self, mut msg: ToNode, _: &mut Context<Self>) {
        msg.event.from_node = Some(self.node.clone());
        let payload = serde_json::to_string(&msg.event).unwrap_or_default();
        let _ = self.out.send(Outgoing::Publish {
            channel: keys::node_channel(&msg.node),
            payload,
        });
    }
}
