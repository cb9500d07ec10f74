//! Several Switchboard nodes sharing rooms through Redis (`[cluster]`; off without
//! `redis_url`, and then nothing here runs).
//!
//! Every key lives under [`keys::PREFIX`]. What there is so far:
//! - [`Node`]: this node's registration (id, signaling URL, relay address, sessions), renewed
//!   every `heartbeat` and lasting `node_ttl`; the list of live nodes, which the admin API shows
//!   (`GET /admin/v1/cluster`) and `switchboard_cluster_nodes` counts.
//!
//! - [`Bus`]: the rooms' link to the other nodes: mesh rooms are shared (one roster over the
//!   cluster, signals between members on different nodes), over pub/sub channels per room and
//!   per node; the roster itself is a hash per room, listed before it is announced.
//!
//! - Relay leases ([`ClaimRelay`]): a shared relay room's relay runs on the one node that holds
//!   the room's lease, and moves when that node dies.
//!
//! See `docs/CLUSTER.md` for what is done and what is not.

mod announce;
mod bus;
mod events;
mod keys;
mod lease;
mod node;
mod publisher;
mod reserve;
mod resume_key;

use actix::Addr;

pub use self::announce::{Announce, ToNode};
pub use self::bus::{Bus, FromCluster, Share, Unshare};
pub use self::events::{NodeEvent, NodeEventKind, RemoteMember, RoomEvent, Sender};
pub use self::lease::{ClaimRelay, ReleaseRelay};
pub use self::node::{Leave, ListNodes, Node, NodeInfo, NodeList};
pub use self::reserve::{host_ref, Reservation, Reserve};
pub use self::resume_key::shared_resume_key;

/// What a room needs to be shared: the node's bus and the node's id.
#[derive(Clone)]
pub struct ClusterLink {
    /// The node's pub/sub link.
    pub bus: Addr<Bus>,
    /// The node's id (stamped on the members it announces).
    pub node: String,
    /// This run of the node (see [`RemoteMember::incarnation`]).
    pub incarnation: String,
    /// How often a relay room claims (or renews) its lease: `[cluster] heartbeat`.
    pub renew: std::time::Duration,
    /// How long a lease lasts unless renewed: `[cluster] node_ttl`.
    pub lease: std::time::Duration,
}

impl ClusterLink {
    /// Member `info` as this node lists it in the cluster's roster.
    pub fn member(&self, info: crate::protocol::PeerInfo) -> RemoteMember {
        RemoteMember {
            info,
            node: self.node.clone(),
            incarnation: self.incarnation.clone(),
        }
    }
}

/// This node's id: `[cluster] node_id`, or a new random one.
pub fn node_id(config: &crate::config::ClusterConfig) -> String {
    if config.node_id.is_empty() {
        format!("node-{:08x}", rand::random::<u32>())
    } else {
        config.node_id.clone()
    }
}
