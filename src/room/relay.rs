//! A room's relay: started when the room needs a server-side host, supervised (started again if
//! its actor dies), and the go-between for its signals and refusals to members.

use std::time::Duration;

use actix::prelude::*;

use super::{MemberNotice, Notice, Room};
use crate::error::ClientError;
use crate::metrics::OutKind;
use crate::outbox::Outbox;
use crate::protocol::{PeerId, ServerMessage};
use crate::relay::{DropMember, Relay, RelayOutbox, RelayRefused, SignalFromRelay};
use crate::room::HostState;

impl Room {
    /// Starts this room's relay (once).
    pub(super) fn start_relay(&mut self, ctx: &mut Context<Self>) {
        if self.relay.is_some() {
            return;
        }
        let outbox = RelayOutbox {
            signal: ctx.address().recipient(),
            drop: ctx.address().recipient(),
            refused: ctx.address().recipient(),
        };
        let relay = Relay::new(
            self.settings.name.clone(),
            self.settings.retention,
            self.ctx.relay.clone(),
            outbox,
        );
        self.relay = Some(relay.start());
        if !self.watching_relay {
            self.watching_relay = true;
            ctx.run_interval(RELAY_CHECK, |room, ctx| room.check_relay(ctx));
        }
    }

    /// Supervision: a relay that stopped without the room asking (its actor failed) is started
    /// again, and the members it hosted are told their link failed, so they offer again.
    fn check_relay(&mut self, ctx: &mut Context<Self>) {
        match &self.relay {
            Some(relay) if !relay.connected() => {}
            _ => return,
        }
        tracing::warn!(room = %self.settings.name, "the relay stopped unexpectedly: starting it again");
        self.ctx.metrics.relay_restarts.increment(1);
        self.relay = None;
        self.start_relay(ctx);
        if self.host != HostState::Relay {
            return;
        }
        let error = ClientError::RelayFailed("the relay restarted".into());
        self.relay_failed_here(&error, ctx);
        // In a shared relay room, members on other nodes were linked to it too.
        let about = error.to_message_about(PeerId::relay());
        for member in self.remote_members() {
            self.ctx.metrics.error(error.code());
            self.tell_remote(member.node, &member.info.id, &about);
        }
    }

    /// Tells every member here that its link to the relay failed (`error`): it offers again.
    pub(super) fn relay_failed_here(&self, error: &ClientError, ctx: &mut Context<Self>) {
        for (id, member) in self.members.iter() {
            self.send_relay_error(&member.outbox, id, error, ctx);
        }
    }

    /// Delivers the relay's answer or candidate to a member.
    /// (In a shared relay room the member may be on another node: through that node.)
    fn signal_from_relay(&mut self, msg: SignalFromRelay, ctx: &mut Context<Self>) {
        if let Some(member) = self.members.get(&msg.to) {
            let signal = ServerMessage::Signal {
                from: PeerId::relay(),
                data: msg.data,
            };
            self.send_to(&member.outbox, &msg.to, &signal, OutKind::Signal, ctx);
        } else if let Some(node) = self.remote_node(&msg.to) {
            self.signal_from_relay_to_node(node, msg.to, msg.data);
        }
    }

    /// Tells a member the relay refused its signal.
    fn relay_refused(&mut self, msg: RelayRefused, ctx: &mut Context<Self>) {
        if let Some(member) = self.members.get(&msg.to) {
            self.send_relay_error(&member.outbox, &msg.to, &msg.error, ctx);
        } else if let Some(node) = self.remote_node(&msg.to) {
            self.ctx.metrics.error(msg.error.code());
            self.tell_remote(node, &msg.to, &msg.error.to_message_about(PeerId::relay()));
        }
    }

    /// Tells member `id` of an error about its link to the relay (and counts it).
    pub(super) fn send_relay_error(
        &self,
        outbox: &Outbox,
        id: &PeerId,
        err: &ClientError,
        ctx: &mut Context<Self>,
    ) {
        self.ctx.metrics.error(err.code());
        let msg = err.to_message_about(PeerId::relay());
        self.send_to(outbox, id, &msg, OutKind::Error, ctx);
    }

    /// Removes a member the relay gave up on, and closes its session.
    pub(super) fn drop_member(&mut self, msg: DropMember, ctx: &mut Context<Self>) {
        if self.members.get(&msg.peer_id).is_none() {
            if let Some(node) = self.remote_node(&msg.peer_id) {
                self.drop_on_node(node, msg.peer_id, msg.reason);
            }
            return;
        }
        if let Some(member) = self.members.get(&msg.peer_id) {
            member.session.do_send(MemberNotice {
                member: msg.peer_id.clone(),
                notice: Notice::Dropped(msg.reason),
            });
        }
        self.leave(&msg.peer_id, msg.reason, false, ctx);
    }
}

/// How often a room that has a relay checks that it is still running.
const RELAY_CHECK: Duration = Duration::from_secs(1);

impl Handler<SignalFromRelay> for Room {
    type Result = ();

    fn handle(&mut self, msg: SignalFromRelay, ctx: &mut Context<Self>) {
        self.signal_from_relay(msg, ctx)
    }
}

/// The room's relay, if it has one (for operators and tests).
#[derive(Message)]
#[rtype(result = "Option<Addr<Relay>>")]
pub struct CurrentRelay;

impl Handler<CurrentRelay> for Room {
    type Result = Option<Addr<Relay>>;

    fn handle(&mut self, _: CurrentRelay, _: &mut Context<Self>) -> Self::Result {
        self.relay.clone()
    }
}

impl Handler<RelayRefused> for Room {
    type Result = ();

    fn handle(&mut self, msg: RelayRefused, ctx: &mut Context<Self>) {
        self.relay_refused(msg, ctx)
    }
}

impl Handler<DropMember> for Room {
    type Result = ();

    fn handle(&mut self, msg: DropMember, ctx: &mut Context<Self>) {
        self.drop_member(msg, ctx)
    }
}
