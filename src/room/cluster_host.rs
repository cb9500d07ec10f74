//! A shared host room's host is the cluster's: one member over every node hosts, and when it
//! leaves (or its node dies) the role moves in Redis, by the script that takes the member out
//! (the earliest member left over the cluster, or the relay with `on_host_leave = "relay"`),
//! which tells every node `host_changed` on the room's channel, the leaver's node too. Each node
//! passes it on to its members; a room the relay now hosts claims the relay's lease
//! (`lease.rs`), so the relay runs on one node.

use actix::prelude::*;

use super::Room;
use crate::metrics::OutKind;
use crate::protocol::{HostRef, ServerMessage, Topology};
use crate::room::HostState;

impl Room {
    /// Whether this room's host is moved by the cluster rather than here (a shared host room).
    pub(super) fn cluster_elects(&self) -> bool {
        self.shared.is_some() && self.settings.topology == Topology::Host
    }

    /// The host the cluster named when it admitted a member here (before its `welcome`). A room
    /// that learns only now that the relay hosts it (it started here after the relay took over)
    /// claims the relay's lease, so it knows which node runs the relay.
    pub(super) fn take_cluster_host(&mut self, host: Option<HostRef>, ctx: &mut Context<Self>) {
        if self.cluster_elects() && host.is_some() {
            self.host = HostState::from_ref(host);
            if self.host == HostState::Relay {
                self.start_leasing(ctx);
            }
        }
    }

    /// The cluster moved the host role (`host`: a member's id, `relay`, or empty).
    pub(super) fn cluster_host_changed(&mut self, host: &str, ctx: &mut Context<Self>) {
        if !self.cluster_elects() {
            return;
        }
        let host = crate::cluster::host_ref(host);
        let state = HostState::from_ref(host.clone());
        if state == self.host {
            return;
        }
        tracing::debug!(room = %self.settings.name, ?host, "host changed over the cluster");
        self.host = state;
        if let Some(host) = host {
            let relay = host == HostRef::Relay;
            let changed = ServerMessage::HostChanged { host };
            self.broadcast(&changed, OutKind::HostChanged, ctx);
            if relay {
                self.start_leasing(ctx);
            }
        }
    }
}
