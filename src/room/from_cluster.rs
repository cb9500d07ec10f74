//! What the other nodes of the cluster tell a shared room: roster changes and announcements on
//! the room's channel; signals, kicks and the relay's messages for members here on the node's.

use actix::prelude::*;

use super::Room;
use crate::cluster::{FromCluster, NodeEventKind, RoomEvent};
use crate::error::ClientError;

impl Handler<FromCluster> for Room {
    type Result = ();

    fn handle(&mut self, msg: FromCluster, ctx: &mut Context<Self>) {
        match msg {
            FromCluster::Room(RoomEvent::Joined { member }) => self.remote_joined(member, ctx),
            FromCluster::Room(RoomEvent::Left {
                peer_id, reason, ..
            }) => self.remote_left(&peer_id, reason, ctx),
            FromCluster::Room(RoomEvent::Announced { text, .. }) => self.announce_here(text, ctx),
            FromCluster::Room(RoomEvent::RelayMoved { node }) => self.relay_moved(node, ctx),
            FromCluster::Room(RoomEvent::Moved { member }) => self.seat_moved(member, ctx),
            FromCluster::Node(event) if event.kind == NodeEventKind::Handover => {
                self.give_seat(event)
            }
            FromCluster::Node(event) if event.kind == NodeEventKind::HandedOver => {
                self.handed_over(event)
            }
            FromCluster::Room(RoomEvent::HostChanged { host }) => {
                self.cluster_host_changed(&host, ctx)
            }
            FromCluster::Node(event) if event.kind == NodeEventKind::Tell => self.told(event, ctx),
            FromCluster::Node(event) if event.kind == NodeEventKind::Drop => {
                self.dropped_by_remote_relay(event, ctx)
            }
            FromCluster::Node(event) if event.kind == NodeEventKind::Signal => {
                self.remote_signal(event, ctx)
            }
            FromCluster::Node(event) if event.kind == NodeEventKind::Kick => {
                let reason = event
                    .data
                    .and_then(|d| serde_json::from_str::<serde_json::Value>(d.get()).ok())
                    .and_then(|v| v["reason"].as_str().map(str::to_string))
                    .unwrap_or_else(|| "removed by an operator".into());
                let kick = super::Kick {
                    peer_id: event.to,
                    reason,
                };
                // Only a member here: a kick is never passed on again (no loop between nodes).
                if self.members.get(&kick.peer_id).is_some() {
                    let _ = self.kick(kick, ctx);
                } else {
                    tracing::debug!(peer = %kick.peer_id, "kick from another node for a member not here");
                }
            }
            FromCluster::Node(event) => {
                if let Some(sender) = self.members.get(&event.from) {
                    let err = ClientError::UnknownPeer(event.to.to_string());
                    self.send_error(&sender.outbox, &event.from, err, ctx);
                }
            }
            FromCluster::Snapshot(roster) => self.take_roster(roster, ctx),
        }
    }
}
