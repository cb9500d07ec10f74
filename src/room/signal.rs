//! Signals between members (and to the relay), along the edges the room's topology has; the
//! sender is stamped by the room, never taken from the client.

use actix::prelude::*;

use super::Room;
use crate::error::ClientError;
use crate::metrics::OutKind;
use crate::protocol::{PeerId, ServerMessage, SignalData};
use crate::relay::SignalToRelay;

impl Room {
    /// Passes a signal from one member to another (or to the relay), stamping `from`, along the
    /// edges the room's topology has.
    pub fn forward(&mut self, msg: Forward, ctx: &mut Context<Self>) {
        let Some(sender) = self.members.get(&msg.from) else {
            return; // the sender left while this was in flight
        };
        // Without presence nobody knows the sender's id: it is named by its name.
        let quiet_name = (!self.settings.presence).then(|| sender.name.clone());
        let to_relay = msg.to.is_relay();
        let remote = self.remote_node(&msg.to);
        let relay_elsewhere = to_relay.then(|| self.relay_elsewhere()).flatten();
        let known = if to_relay {
            self.relay.is_some() || relay_elsewhere.is_some()
        } else {
            msg.to != msg.from && (self.members.get(&msg.to).is_some() || remote.is_some())
        };
        if !known && to_relay && self.leases_relay() {
            // The first claim has not been answered (Redis away): the member offers again.
            let err = ClientError::RelayFailed("no node hosts this room's relay yet".into());
            return self.send_relay_error(&sender.outbox, &msg.from, &err, ctx);
        }
        if !known {
            let err = ClientError::UnknownPeer(msg.to.to_string());
            return self.send_error(&sender.outbox, &msg.from, err, ctx);
        }
        let topology = self.settings.topology;
        if let Err(rule) = self.host.allows_signal(topology, &msg.from, &msg.to) {
            tracing::debug!(room = %self.settings.name, from = %msg.from, to = %msg.to, rule, "signal refused");
            let err = ClientError::SignalNotAllowed {
                topology: topology.as_str(),
                to: msg.to.to_string(),
                rule,
            };
            return self.send_error(&sender.outbox, &msg.from, err, ctx);
        }
        if let Some(node) = remote {
            if quiet_name.is_some() {
                self.contacts.touch(&msg.from, &msg.to);
            }
            return self.signal_remote(node, msg);
        }
        if let Some(node) = relay_elsewhere {
            return self.signal_relay_elsewhere(node, msg);
        }
        if let (true, Some(relay)) = (to_relay, &self.relay) {
            return relay.do_send(SignalToRelay {
                from: msg.from,
                name: sender.name.clone(),
                perms: sender.perms.clone(),
                address: sender.address,
                data: msg.data,
            });
        }
        let Some(target) = self.members.get(&msg.to) else {
            return;
        };
        let from = match quiet_name {
            None => msg.from,
            Some(name) => {
                self.contacts.touch(&msg.from, &msg.to);
                PeerId::from(name.as_str())
            }
        };
        let signal = ServerMessage::Signal {
            from,
            data: msg.data,
        };
        self.send_to(&target.outbox, &msg.to, &signal, OutKind::Signal, ctx);
    }
}

/// Pass signaling `data` from member `from` to member `to`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Forward {
    /// Sender (stamped by its session, never by the client).
    pub from: PeerId,
    /// Recipient named by the client.
    pub to: PeerId,
    /// The SDP or candidate object.
    pub data: SignalData,
}

impl Handler<Forward> for Room {
    type Result = ();

    fn handle(&mut self, msg: Forward, ctx: &mut Context<Self>) {
        self.forward(msg, ctx)
    }
}

/// Pass signaling `data` from member `from` to the member named `to_name` (clients that address
/// peers by name, such as PeerJS peers by their id). An unknown name gets `unknown_peer` about
/// that name.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ForwardByName {
    /// Sender (stamped by its session, never by the client).
    pub from: PeerId,
    /// The recipient's name, as the client gave it.
    pub to_name: String,
    /// The signaling object.
    pub data: SignalData,
}

impl Handler<ForwardByName> for Room {
    type Result = ();

    fn handle(&mut self, msg: ForwardByName, ctx: &mut Context<Self>) {
        let named = self.members.id_named(&msg.to_name);
        match named.or_else(|| self.remote_id_named(&msg.to_name)) {
            Some(to) => self.forward(
                Forward {
                    from: msg.from,
                    to,
                    data: msg.data,
                },
                ctx,
            ),
            // Not here (yet): held for a while, as PeerServer does.
            None if self.members.get(&msg.from).is_some() => {
                self.hold_for(msg.to_name, msg.from, msg.data, ctx)
            }
            None => {}
        }
    }
}

/// Pass `data` from member `from` to every other member, whatever the topology (broadcast
/// signaling, where clients sort out among themselves whom a frame is for).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Broadcast {
    /// Sender (stamped by its session).
    pub from: PeerId,
    /// The frame, as a signaling object.
    pub data: SignalData,
}

impl Handler<Broadcast> for Room {
    type Result = ();

    fn handle(&mut self, msg: Broadcast, ctx: &mut Context<Self>) {
        if self.members.get(&msg.from).is_none() {
            return; // the sender left while this was in flight
        }
        let from = msg.from.clone();
        let signal = ServerMessage::Signal {
            from: msg.from,
            data: msg.data,
        };
        self.broadcast_except(Some(&from), &signal, OutKind::Signal, ctx);
    }
}
