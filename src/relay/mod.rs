//! The `Relay` actor: the server-side WebRTC peer of one room. It answers members' offers, accepts
//! their `chat` channels, and forwards chat among them with a room-wide `seq`, acks, dedupe and
//! history. Members signal it as peer `relay`; its answers and candidates go back through the room.

mod chat;
pub mod checks;
mod connect;
pub mod demux;
pub mod engine;
mod log;
mod member;
mod offer;
mod slots;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use webrtc::peer_connection::{
    PeerConnection, RTCIceCandidateInit, RTCPeerConnectionState, RTCSessionDescription,
};

pub use self::connect::RelaySettings;
use self::connect::{add_candidate, answer};
use self::log::ChatLog;
use self::member::{Link, RelayMember};
use self::offer::{BadSignal, RelaySignal};
use crate::error::ClientError;
use crate::metrics::Refusal;
use crate::peer::{self, ChannelEvent, ChannelWriter, PeerEvent};
use crate::protocol::{LeaveReason, PeerId, SignalData};
use crate::rate::TokenBucket;

/// How long a member's backlog may stay above `max_buffered_bytes` before it is dropped.
const SLOW_GRACE: Duration = Duration::from_secs(2);

/// Where the relay sends what is meant for members: the room's inbox.
#[derive(Clone)]
pub struct RelayOutbox {
    /// Signals (answers, candidates) to one member.
    pub signal: Recipient<SignalFromRelay>,
    /// Members to remove from the room.
    pub drop: Recipient<DropMember>,
    /// Errors to tell one member (a signal the relay refused).
    pub refused: Recipient<RelayRefused>,
}

/// The relay of one room.
pub struct Relay {
    room: String,
    settings: Arc<RelaySettings>,
    outbox: RelayOutbox,
    members: HashMap<PeerId, RelayMember>,
    log: ChatLog,
    next_conn: u64,
    next_port: u16,
}

impl Relay {
    /// A relay for `room` with no connections yet.
    pub fn new(room: String, settings: Arc<RelaySettings>, outbox: RelayOutbox) -> Relay {
        let (lo, hi) = settings.ports;
        let span = u32::from(hi - lo) + 1;
        Relay {
            room,
            log: ChatLog::new(settings.config.history),
            next_port: lo + (rand::random::<u32>() % span) as u16,
            settings,
            outbox,
            members: HashMap::new(),
            next_conn: 0,
        }
    }

    /// Handles a member's signal: an offer starts a new connection, a candidate joins its
    /// current one. A signal that does not check out is refused before it costs anything.
    pub fn signal(&mut self, msg: SignalToRelay, ctx: &mut Context<Self>) {
        match offer::parse(&msg.data) {
            Ok(RelaySignal::Offer(offer)) => {
                self.offer(msg.from, msg.name, msg.address, *offer, ctx)
            }
            Ok(RelaySignal::Candidate(c)) => self.remote_candidate(&msg.from, c),
            Ok(RelaySignal::EndOfCandidates) => {}
            Err(bad) => self.refuse_signal(msg.from, bad),
        }
    }

    /// Tells member `to` of an error, through the room.
    fn tell(&self, to: PeerId, error: ClientError) {
        self.outbox.refused.do_send(RelayRefused { to, error });
    }

    /// Tells a member why its signal was refused, once, and counts it.
    fn refuse_signal(&self, to: PeerId, bad: BadSignal) {
        tracing::debug!(room = %self.room, peer = %to, error = %bad, "relay refused a signal");
        self.settings.metrics.refused(Refusal::BadSignal);
        let error = ClientError::BadRequest(format!("signal to relay: {bad}"));
        self.tell(to, error);
    }

    fn offer(
        &mut self,
        from: PeerId,
        name: String,
        address: IpAddr,
        offer: RTCSessionDescription,
        ctx: &mut Context<Self>,
    ) {
        if let Some(mut old) = self.members.remove(&from) {
            self.close_member(&mut old);
        }
        let max = self.settings.config.max_members_per_address;
        let Some(slot) = self.settings.addresses.take(address, max) else {
            tracing::debug!(room = %self.room, peer = %from, %address, "relay connections per address at the limit");
            self.settings.metrics.refused(Refusal::TooManyConnections);
            let error = ClientError::TooManyConnections(max);
            self.tell(from, error);
            return;
        };
        self.next_conn += 1;
        let conn = self.next_conn;
        self.members.insert(
            from.clone(),
            RelayMember {
                name,
                conn,
                started: Instant::now(),
                pc: None,
                link: Link::Answering {
                    pending: Vec::new(),
                },
                over_since: None,
                _slot: slot,
                bucket: TokenBucket::new(
                    self.settings.config.messages_per_second,
                    self.settings.config.burst,
                ),
            },
        );
        let addr = ctx.address();
        let peer = from.clone();
        let on_event = Box::new(move |event| {
            addr.do_send(PeerReport {
                peer: peer.clone(),
                conn,
                event,
            })
        });
        let settings = self.settings.clone();
        let first_port = self.take_port();
        let answering = answer(settings, first_port, on_event, offer);
        ctx.spawn(
            answering
                .into_actor(self)
                .map(move |res, act, _| act.answered(from, conn, res)),
        );
    }

    fn take_port(&mut self) -> u16 {
        let (lo, hi) = self.settings.ports;
        let port = self.next_port;
        self.next_port = if port >= hi { lo } else { port + 1 };
        port
    }

    fn answered(
        &mut self,
        from: PeerId,
        conn: u64,
        res: Result<(Arc<dyn PeerConnection>, RTCSessionDescription), String>,
    ) {
        let (pc, answer) = match res {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(room = %self.room, peer = %from, error = %e, "relay could not answer");
                if self.members.get(&from).is_some_and(|m| m.conn == conn) {
                    self.members.remove(&from);
                    let error = ClientError::Internal(format!("the relay could not answer: {e}"));
                    self.tell(from, error);
                }
                return;
            }
        };
        self.settings.metrics.relay_peer_connections.increment(1.0);
        let Some(member) = self.members.get_mut(&from).filter(|m| m.conn == conn) else {
            // The member left or offered again meanwhile.
            tokio::spawn(async move { pc.close().await });
            self.settings.metrics.relay_peer_connections.decrement(1.0);
            return;
        };
        member.pc = Some(pc.clone());
        let pending = match std::mem::replace(&mut member.link, Link::Connecting(None)) {
            Link::Answering { pending } => pending,
            other => {
                member.link = other;
                Vec::new()
            }
        };
        if let Ok(data) = SignalData::from_serialize(&answer) {
            self.send_signal(from, data);
        }
        for candidate in pending {
            add_candidate(pc.clone(), candidate);
        }
    }

    fn remote_candidate(&mut self, from: &PeerId, candidate: RTCIceCandidateInit) {
        let Some(member) = self.members.get_mut(from) else {
            return;
        };
        match (&mut member.link, &member.pc) {
            (Link::Answering { pending }, _) => pending.push(candidate),
            (_, Some(pc)) => add_candidate(pc.clone(), candidate),
            _ => {}
        }
    }

    /// Whether `conn` is `peer`'s current connection (events of older attempts are ignored).
    fn is_current(&self, peer: &PeerId, conn: u64) -> bool {
        self.members.get(peer).is_some_and(|m| m.conn == conn)
    }

    fn send_signal(&self, to: PeerId, data: SignalData) {
        self.outbox.signal.do_send(SignalFromRelay { to, data });
    }

    /// Handles an event of one member's peer connection.
    pub fn peer_event(&mut self, report: PeerReport, ctx: &mut Context<Self>) {
        if !self.is_current(&report.peer, report.conn) {
            return;
        }
        match report.event {
            PeerEvent::Candidate(init) => self.local_candidate(report.peer, init),
            PeerEvent::State(RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed) => {
                tracing::debug!(room = %self.room, peer = %report.peer, "relay connection ended");
                self.remove(&report.peer);
            }
            PeerEvent::State(_) => {}
            PeerEvent::Channel(channel) => {
                self.accept_channel(report.peer, report.conn, channel, ctx)
            }
        }
    }

    fn local_candidate(&self, to: PeerId, init: RTCIceCandidateInit) {
        let mut candidates = vec![init.clone()];
        if !self.settings.public_ips.is_empty() {
            candidates = self
                .settings
                .public_ips
                .iter()
                .map(|ip| RTCIceCandidateInit {
                    candidate: peer::advertise_as(&init.candidate, *ip),
                    ..init.clone()
                })
                .collect();
        }
        for c in candidates {
            let msg = serde_json::json!({"type": "candidate", "candidate": c});
            if let Ok(data) = SignalData::from_serialize(&msg) {
                self.send_signal(to.clone(), data);
            }
        }
    }

    fn accept_channel(
        &mut self,
        peer: PeerId,
        conn: u64,
        channel: Arc<dyn webrtc::data_channel::DataChannel>,
        ctx: &mut Context<Self>,
    ) {
        let Some(member) = self.members.get_mut(&peer) else {
            return;
        };
        let Link::Connecting(slot) = &mut member.link else {
            return;
        };
        *slot = Some(channel.clone());
        let addr = ctx.address();
        tokio::spawn(async move {
            peer::pump_channel(channel, move |event| {
                addr.do_send(ChannelReport {
                    peer: peer.clone(),
                    conn,
                    event,
                })
            })
            .await
        });
    }

    /// Drops the peer connection of a member that left the room.
    pub fn remove(&mut self, peer: &PeerId) {
        if let Some(mut member) = self.members.remove(peer) {
            self.close_member(&mut member);
        }
    }

    fn close_member(&mut self, member: &mut RelayMember) {
        if member.pc.is_some() {
            self.settings.metrics.relay_peer_connections.decrement(1.0);
        }
        member.close();
    }

    /// Frees connections that never came up, and drops members that cannot keep up.
    fn sweep(&mut self) {
        let now = Instant::now();
        let timeout = self.settings.config.connect_timeout;
        let max = self.settings.config.max_buffered_bytes;
        let mut stale = Vec::new();
        let mut slow = Vec::new();
        for (id, m) in &mut self.members {
            match m.writer().map(ChannelWriter::queued) {
                None if now - m.started > timeout => stale.push(id.clone()),
                Some(queued) if queued > max => {
                    let since = *m.over_since.get_or_insert(now);
                    if now - since > SLOW_GRACE {
                        slow.push(id.clone());
                    }
                }
                Some(_) => m.over_since = None,
                None => {}
            }
        }
        for id in stale {
            tracing::info!(room = %self.room, peer = %id, "relay connection timed out");
            self.remove(&id);
        }
        for id in slow {
            tracing::warn!(room = %self.room, peer = %id, "dropping a slow member");
            self.settings.metrics.relay_slow_members.increment(1);
            self.remove(&id);
            self.outbox.drop.do_send(DropMember {
                peer_id: id,
                reason: LeaveReason::SlowConsumer,
            });
        }
    }

    /// How many peer connections the relay holds.
    pub fn connections(&self) -> usize {
        self.members.values().filter(|m| m.pc.is_some()).count()
    }
}

impl Actor for Relay {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(Duration::from_millis(250), |act, _| act.sweep());
        tracing::info!(room = %self.room, "relay started");
    }

    fn stopping(&mut self, _: &mut Self::Context) -> Running {
        let ids: Vec<PeerId> = self.members.keys().cloned().collect();
        for id in ids {
            self.remove(&id);
        }
        tracing::info!(room = %self.room, "relay stopped");
        Running::Stop
    }
}

/// A member's signal for the relay (an offer or a trickled candidate).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SignalToRelay {
    /// The member (stamped by the room).
    pub from: PeerId,
    /// Its display name.
    pub name: String,
    /// Where it connects from.
    pub address: IpAddr,
    /// The offer or candidate object.
    pub data: SignalData,
}

impl Handler<SignalToRelay> for Relay {
    type Result = ();

    fn handle(&mut self, msg: SignalToRelay, ctx: &mut Context<Self>) {
        self.signal(msg, ctx)
    }
}

/// A member left the room: free its connection.
#[derive(Message)]
#[rtype(result = "()")]
pub struct MemberLeft {
    /// The member.
    pub peer_id: PeerId,
}

impl Handler<MemberLeft> for Relay {
    type Result = ();

    fn handle(&mut self, msg: MemberLeft, _: &mut Context<Self>) {
        self.remove(&msg.peer_id)
    }
}

/// An event of a member's peer connection (from its webrtc callbacks).
#[derive(Message)]
#[rtype(result = "()")]
pub struct PeerReport {
    /// Whose connection.
    pub peer: PeerId,
    /// Which attempt.
    pub conn: u64,
    /// What happened.
    pub event: PeerEvent,
}

impl Handler<PeerReport> for Relay {
    type Result = ();

    fn handle(&mut self, msg: PeerReport, ctx: &mut Context<Self>) {
        self.peer_event(msg, ctx)
    }
}

/// An event of a member's chat channel.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ChannelReport {
    /// Whose channel.
    pub peer: PeerId,
    /// Which attempt.
    pub conn: u64,
    /// What happened.
    pub event: ChannelEvent,
}

impl Handler<ChannelReport> for Relay {
    type Result = ();

    fn handle(&mut self, msg: ChannelReport, _: &mut Context<Self>) {
        self.channel_event(msg)
    }
}

/// Signaling data from the relay to one member (handled by the room).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SignalFromRelay {
    /// The member.
    pub to: PeerId,
    /// The answer or candidate object.
    pub data: SignalData,
}

/// Remove a member from the room (handled by the room).
/// The relay refused a member's signal: tell it why.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RelayRefused {
    /// The member that sent it.
    pub to: PeerId,
    /// What to tell it.
    pub error: ClientError,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct DropMember {
    /// The member.
    pub peer_id: PeerId,
    /// Why.
    pub reason: LeaveReason,
}

/// Stop the relay and close every connection (the room no longer needs it).
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopRelay;

impl Handler<StopRelay> for Relay {
    type Result = ();

    fn handle(&mut self, _: StopRelay, ctx: &mut Context<Self>) {
        ctx.stop()
    }
}
