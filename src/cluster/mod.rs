//! Several Switchboard nodes sharing rooms through Redis (`[cluster]`; off without
//! `redis_url`, and then nothing here runs).
//!
//! Every key lives under [`keys::PREFIX`]. What there is so far:
//! - [`Node`]: this node's registration (id, signaling URL, relay address, sessions), renewed
//!   every `heartbeat` and lasting `node_ttl`; the list of live nodes, which the admin API shows
//!   (`GET /admin/v1/cluster`) and `switchboard_cluster_nodes` counts.
//!
//! Rooms shared across nodes, cluster-wide limits and relay leases build on it (see
//! `docs/CLUSTER.md` for what is done and what is not).

mod keys;
mod node;

pub use self::node::{Leave, ListNodes, Node, NodeInfo, NodeList};
