//! What nodes tell each other over Redis pub/sub, as JSON: on a room's channel, who joined and
//! left it on which node (and where its relay went); on a node's own channel, the signals for
//! its members (and for the relays it holds).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use std::net::IpAddr;

use crate::auth::Perm;
use crate::protocol::{LeaveReason, PeerId, PeerInfo};

/// A member of a shared room as the cluster lists it (`switchboard:room:{room}:members`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RemoteMember {
    /// Its id, name and identity, as in `welcome.peers`.
    #[serde(flatten)]
    pub info: PeerInfo,
    /// The node its session is on.
    pub node: String,
    /// Which run of that node admitted it (a node restarted under the same id takes out what
    /// its previous run listed).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub incarnation: String,
}

/// A change of a shared room's roster, published on the room's channel by the member's node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RoomEvent {
    /// A member joined on `node`.
    Joined { member: RemoteMember },
    /// A member of `node` left (`timeout` as well when its node died).
    Left {
        node: String,
        peer_id: PeerId,
        reason: LeaveReason,
    },
    /// An operator announced `text` to the room through `node`'s admin API.
    Announced { node: String, text: String },
    /// `node` took over the room's relay (its owner died or left it): members linked to the old
    /// relay offer to it again.
    RelayMoved { node: String },
    /// The host of a host room changed over the cluster (`host`: a member's id, `relay`, or
    /// empty for none): told by the script that moved the role, so it has no node and every
    /// node takes it, the one whose member left too.
    HostChanged { host: String },
    /// A member's seat moved to `member.node` (its socket came back through that node with its
    /// resume token): the same member, now signaled there.
    Moved { member: RemoteMember },
}

impl RoomEvent {
    /// The node that told it (a node skips its own), `None` for what every node takes.
    pub fn node(&self) -> Option<&str> {
        match self {
            RoomEvent::Joined { member } | RoomEvent::Moved { member } => Some(&member.node),
            RoomEvent::Left { node, .. }
            | RoomEvent::Announced { node, .. }
            | RoomEvent::RelayMoved { node } => Some(node),
            RoomEvent::HostChanged { .. } => None,
        }
    }
}

/// What a node is sent on its own channel. (A struct, not a tagged enum: serde reads a
/// tagged enum through a buffer, which cannot hold the raw `data`.)
#[derive(Debug, Serialize, Deserialize)]
pub struct NodeEvent {
    /// What it is.
    #[serde(rename = "type")]
    pub kind: NodeEventKind,
    /// The room.
    pub room: String,
    /// The member that sent the signal.
    pub from: PeerId,
    /// The member it is for.
    pub to: PeerId,
    /// The sending node, stamped by its bus (where an `undeliverable`, a `handed_over` or a
    /// relay's `tell` goes back to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_node: Option<String>,
    /// A signal's signaling object, as the sender sent it; a `tell`'s message; a `drop`'s
    /// `{"reason"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
    /// A signal for the relay: who sent it, as its node knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<Sender>,
}

impl NodeEvent {
    /// An event of `kind` about room `room`, from `from` to `to`, with no data (the bus stamps
    /// the sending node when it sends it).
    pub fn new(kind: NodeEventKind, room: &str, from: PeerId, to: PeerId) -> NodeEvent {
        NodeEvent {
            kind,
            room: room.to_string(),
            from,
            to,
            from_node: None,
            data: None,
            sender: None,
        }
    }

    /// The same event carrying `data`.
    pub fn with_data(mut self, data: Option<Box<RawValue>>) -> NodeEvent {
        self.data = data;
        self
    }

    /// The same event carrying who sent a signal for the relay.
    pub fn with_sender(mut self, sender: Sender) -> NodeEvent {
        self.sender = Some(sender);
        self
    }
}

/// A member signaling the relay of a room whose relay is on another node, as the relay needs
/// to know it (its node vouches for it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sender {
    /// Its display name.
    pub name: String,
    /// What its join token allows (`None`: it joined without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perms: Option<Vec<Perm>>,
    /// Where it connects from.
    pub address: IpAddr,
}

/// The kinds of [`NodeEvent`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeEventKind {
    /// A signal for member `to` (on this node) from member `from` (on `from_node`).
    Signal,
    /// A signal `from` sent found no `to` on its node (it left meanwhile).
    Undeliverable,
    /// An operator kicked member `to` through another node's admin API (`data`: `{"reason"}`).
    Kick,
    /// A message for member `to` from the room's relay on another node (`data`: the server
    /// message, such as an `error` about the relay).
    Tell,
    /// The relay on another node gave up on member `to` (`data`: `{"reason"}`): it leaves.
    Drop,
    /// Member `to`'s socket came back through node `from_node` with its resume token: hand its
    /// seat over.
    Handover,
    /// The answer to a `handover`: the seat of member `to` (`data`: its name, identity and
    /// token permissions), or no `data` when the seat is not held here.
    HandedOver,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_back_as_written() {
        let joined = RoomEvent::Joined {
            member: RemoteMember {
                info: PeerInfo {
                    id: PeerId::from("p1"),
                    name: "Ann".into(),
                    identity: None,
                },
                node: "a".into(),
                incarnation: String::new(),
            },
        };
        let text = serde_json::to_string(&joined).unwrap();
        assert_eq!(
            text,
            r#"{"type":"joined","member":{"id":"p1","name":"Ann","node":"a"}}"#
        );
        assert_eq!(serde_json::from_str::<RoomEvent>(&text).unwrap(), joined);
        let left = r#"{"type":"left","node":"a","peer_id":"p1","reason":"timeout"}"#;
        assert_eq!(
            serde_json::from_str::<RoomEvent>(left).unwrap().node(),
            Some("a")
        );
        let host = r#"{"type":"host_changed","host":"p2"}"#;
        assert_eq!(
            serde_json::from_str::<RoomEvent>(host).unwrap().node(),
            None
        );
        let signal = r#"{"type":"signal","room":"r","from":"p1","from_node":"a","to":"p2","data":{"type":"offer","sdp":"x"}}"#;
        let event = serde_json::from_str::<NodeEvent>(signal).unwrap();
        assert_eq!(event.kind, NodeEventKind::Signal);
        assert_eq!(event.data.unwrap().get(), r#"{"type":"offer","sdp":"x"}"#);
    }
}
