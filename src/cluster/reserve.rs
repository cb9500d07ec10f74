//! Admitting a join to a shared room over the whole cluster: the room's size and the name are
//! checked and taken in one Lua script, so joins on different nodes at once cannot overfill a
//! room or share a name.

use actix::prelude::*;

use super::bus::Bus;
use super::events::{RemoteMember, RoomEvent};
use super::keys;
use crate::config::OnHostLeave;
use crate::protocol::{HostRef, PeerId};

/// A member wants to join shared room `room` here: admit it over the whole cluster (room size
/// and name, checked and taken in one script), listing and announcing it if admitted.
#[derive(Message)]
#[rtype(result = "Reservation")]
pub struct Reserve {
    pub room: String,
    pub member: RemoteMember,
    /// Its lower-cased name.
    pub name_key: String,
    pub max_peers: usize,
    /// A host room's `on_host_leave` (`None`: not a host room).
    pub on_host_leave: Option<OnHostLeave>,
}

/// What [`Reserve`] answers.
#[derive(Debug, PartialEq, Eq)]
pub enum Reservation {
    /// Admitted, listed and announced; the room's host over the cluster afterwards (the
    /// member itself if nobody hosted), `None` in rooms without one.
    Admitted { host: Option<HostRef> },
    /// The room has `max_peers` members over the cluster.
    Full,
    /// A member on some node uses the name.
    NameTaken,
    /// A member on some node has the same token identity.
    IdentityTaken,
    /// Redis did not answer: admit on this node's own view (and announce it later).
    Unavailable,
}

impl Handler<Reserve> for Bus {
    type Result = ResponseActFuture<Self, Reservation>;

    fn handle(&mut self, msg: Reserve, _: &mut Context<Self>) -> Self::Result {
        let (reader, node) = (self.reader(), self.node.clone());
        let asking = async move {
            let mut conn = reader?;
            let event = RoomEvent::Joined {
                member: msg.member.clone(),
            };
            redis::Script::new(keys::RESERVE)
                .key(keys::room_members(&msg.room))
                .key(keys::room_names(&msg.room))
                .key(keys::node_rooms(&node))
                .key(keys::room_identities(&msg.room))
                .key(keys::room_order(&msg.room))
                .key(keys::room_joins(&msg.room))
                .key(keys::room_host(&msg.room))
                .arg(msg.member.info.id.to_string())
                .arg(serde_json::to_string(&msg.member).unwrap_or_default())
                .arg(&msg.name_key)
                .arg(msg.max_peers)
                .arg(&msg.room)
                .arg(keys::room_channel(&msg.room))
                .arg(serde_json::to_string(&event).unwrap_or_default())
                .arg(msg.member.info.identity.clone().unwrap_or_default())
                .arg(msg.on_host_leave.map_or("", OnHostLeave::as_str))
                .invoke_async::<(u8, String)>(&mut conn)
                .await
        };
        Box::pin(asking.into_actor(self).map(|answer, bus, ctx| match answer {
            Ok((0, host)) => Reservation::Admitted {
                host: host_ref(&host),
            },
            Ok((1, _)) => Reservation::Full,
            Ok((2, _)) => Reservation::NameTaken,
            Ok(_) => Reservation::IdentityTaken,
            Err(e) => {
                bus.metrics.cluster_errors.increment(1);
                bus.reader_failed(&e, ctx);
                tracing::warn!(error = %e, "cannot check a join with the cluster; admitting on this node's view");
                Reservation::Unavailable
            }
        }))
    }
}

/// A host as the cluster keeps it (`relay`, a peer id, or empty for none).
pub fn host_ref(host: &str) -> Option<HostRef> {
    match host {
        "" => None,
        "relay" => Some(HostRef::Relay),
        id => Some(HostRef::Peer(PeerId::from(id))),
    }
}
