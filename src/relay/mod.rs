//! The `Relay` actor: the server-side WebRTC peer of one room. It has the server's one-port
//! [`engine`] answer members' offers, and forwards chat among their `chat` channels with a
//! room-wide `seq`, acks, dedupe and history. Members signal it as peer `relay`; its answers go
//! back through the room.

pub(crate) mod chat;
pub mod checks;
pub mod demux;
pub mod engine;
mod history;
mod log;
mod member;
pub(crate) mod offer;
mod settings;
mod to_room;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use actix::prelude::*;
use tokio::sync::mpsc;
use webrtc::peer_connection::{RTCIceCandidateInit, RTCSessionDescription};

use self::engine::{CloseReason, ConnId, EngineEvent, Events};
use self::history::RoomHistory;
use self::log::ChatLog;
use self::member::{Feed, Link, RelayMember};
use self::offer::{BadSignal, RelaySignal};
pub use self::settings::RelaySettings;
pub use self::to_room::{DropMember, RelayOutbox, RelayRefused, SignalFromRelay};
use crate::auth::Perm;
use crate::error::ClientError;
use crate::metrics::Refusal;
use crate::protocol::{LeaveReason, PeerId, SignalData};
use crate::rate::TokenBucket;
use crate::storage::Retention;

/// The relay of one room. Its members' connections live in the server's one engine
/// ([`engine`]); the relay keeps who is who, the chat log, and the rules.
pub struct Relay {
    room: String,
    settings: Arc<RelaySettings>,
    outbox: RelayOutbox,
    members: HashMap<PeerId, RelayMember>,
    /// Engine connection → its member.
    conns: HashMap<ConnId, PeerId>,
    log: ChatLog,
    /// The room's stored history and the appends under way.
    history: RoomHistory,
    next_attempt: u64,
    /// Where the engine reports this relay's connections (the receiver is the actor's stream).
    events: Events,
    events_rx: Option<mpsc::UnboundedReceiver<(ConnId, EngineEvent)>>,
}

impl Relay {
    /// A relay for `room` (which keeps history as `retention` says) with no connections yet.
    pub fn new(
        room: String,
        retention: Retention,
        settings: Arc<RelaySettings>,
        outbox: RelayOutbox,
    ) -> Relay {
        let (events, events_rx) = mpsc::unbounded_channel();
        let kept = match retention.max_messages {
            Some(n) => settings.config.history.min(n as usize),
            None => settings.config.history,
        };
        Relay {
            room,
            log: ChatLog::new(kept),
            history: RoomHistory::new(settings.storage.clone(), retention),
            settings,
            outbox,
            members: HashMap::new(),
            conns: HashMap::new(),
            next_attempt: 0,
            events,
            events_rx: Some(events_rx),
        }
    }

    /// Handles a member's signal: an offer starts a new connection, a candidate joins its
    /// current one. A signal that does not check out is refused before it costs anything.
    pub fn signal(&mut self, msg: SignalToRelay, ctx: &mut Context<Self>) {
        match offer::parse(&msg.data) {
            Ok(RelaySignal::Offer(offer)) => {
                let may = |perm| msg.perms.as_ref().is_none_or(|p| p.contains(&perm));
                let access = (may(Perm::Publish), may(Perm::Subscribe));
                self.offer(msg.from, msg.name, access, msg.address, *offer, ctx)
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
        (publish, subscribe): (bool, bool),
        address: IpAddr,
        offer: RTCSessionDescription,
        ctx: &mut Context<Self>,
    ) {
        self.remove(&from);
        let Some(engine) = self.settings.engine.clone() else {
            let error = ClientError::RelayFailed("the relay is not running".into());
            return self.tell(from, error);
        };
        let max = self.settings.config.max_members_per_address;
        let Some(slot) = self.settings.addresses.take(address, max) else {
            tracing::debug!(room = %self.room, peer = %from, %address, "relay connections per address at the limit");
            self.settings.metrics.refused(Refusal::TooManyConnections);
            let error = ClientError::TooManyConnections(max);
            return self.tell(from, error);
        };
        self.next_attempt += 1;
        let attempt = self.next_attempt;
        let config = &self.settings.config;
        self.members.insert(
            from.clone(),
            RelayMember {
                name,
                attempt,
                link: Link::Answering {
                    pending: Vec::new(),
                },
                _slot: slot,
                bucket: TokenBucket::new(config.messages_per_second, config.burst),
                feed: Feed::Waiting,
                publish,
                subscribe,
            },
        );
        let events = self.events.clone();
        let answering = async move { engine.answer(offer, events).await };
        ctx.spawn(
            answering
                .into_actor(self)
                .map(move |res, act, _| act.answered(from, attempt, res)),
        );
    }

    fn answered(
        &mut self,
        from: PeerId,
        attempt: u64,
        res: Result<(ConnId, RTCSessionDescription), String>,
    ) {
        let current = self.members.get_mut(&from).filter(|m| m.attempt == attempt);
        let (conn, answer) = match res {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(room = %self.room, peer = %from, error = %e, "relay could not answer");
                if current.is_some() {
                    self.members.remove(&from);
                    let error =
                        ClientError::RelayFailed(format!("the relay could not answer: {e}"));
                    self.tell(from, error);
                }
                return;
            }
        };
        let engine = self.settings.engine.as_ref();
        let Some(member) = current else {
            // The member left or offered again meanwhile.
            if let Some(engine) = engine {
                engine.close(conn);
            }
            return;
        };
        let pending = match std::mem::replace(&mut member.link, Link::Connecting(conn)) {
            Link::Answering { pending } => pending,
            _ => Vec::new(),
        };
        self.conns.insert(conn, from.clone());
        if let Some(engine) = engine {
            for candidate in pending {
                engine.candidate(conn, candidate);
            }
        }
        if let Ok(data) = SignalData::from_serialize(&answer) {
            self.send_signal(from, data);
        }
    }

    fn remote_candidate(&mut self, from: &PeerId, candidate: RTCIceCandidateInit) {
        let Some(member) = self.members.get_mut(from) else {
            return self.refuse_signal(from.clone(), BadSignal::NoConnection);
        };
        match &mut member.link {
            Link::Answering { pending } => pending.push(candidate),
            Link::Connecting(conn) | Link::Open(conn) => {
                if let Some(engine) = &self.settings.engine {
                    engine.candidate(*conn, candidate);
                }
            }
        }
    }

    fn send_signal(&self, to: PeerId, data: SignalData) {
        self.outbox.signal.do_send(SignalFromRelay { to, data });
    }

    /// Handles what the engine reports about one of this relay's connections.
    fn engine_event(&mut self, conn: ConnId, event: EngineEvent, ctx: &mut Context<Self>) {
        let Some(peer) = self.conns.get(&conn).cloned() else {
            return; // a connection this relay already let go of
        };
        match event {
            EngineEvent::Open => self.channel_open(&peer, conn, ctx),
            EngineEvent::Text(text) => self.chat(&peer, &text, ctx),
            EngineEvent::Binary(len) => self.binary(&peer, len),
            EngineEvent::Closed(reason) => self.closed(peer, conn, reason),
        }
    }

    /// The engine let go of `peer`'s connection.
    fn closed(&mut self, peer: PeerId, conn: ConnId, reason: CloseReason) {
        self.conns.remove(&conn);
        self.members.remove(&peer);
        match reason {
            CloseReason::Ended => {
                tracing::debug!(room = %self.room, %peer, "relay connection ended");
                self.tell(
                    peer,
                    ClientError::RelayFailed("the connection closed".into()),
                );
            }
            CloseReason::TimedOut => {
                tracing::info!(room = %self.room, %peer, "relay connection timed out");
                let why = format!(
                    "not connected within {:?} (connect_timeout)",
                    self.settings.config.connect_timeout
                );
                self.tell(peer, ClientError::RelayFailed(why));
            }
            CloseReason::Slow => {
                tracing::warn!(room = %self.room, %peer, "dropping a slow member");
                self.settings.metrics.relay_slow_members.increment(1);
                self.outbox.drop.do_send(DropMember {
                    peer_id: peer,
                    reason: LeaveReason::SlowConsumer,
                });
            }
        }
    }

    /// Drops the connection of a member that left the room (or offers again).
    pub fn remove(&mut self, peer: &PeerId) {
        let Some(member) = self.members.remove(peer) else {
            return;
        };
        if let Some(conn) = member.conn() {
            self.conns.remove(&conn);
            if let Some(engine) = &self.settings.engine {
                engine.close(conn);
            }
        }
    }

    /// How many members have a connection in the engine.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }
}

impl Actor for Relay {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        tracing::info!(room = %self.room, "relay started");
        self.load(ctx);
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

impl Relay {
    /// Starts taking the engine's events (they wait in the channel until then).
    fn take_events(&mut self, ctx: &mut Context<Self>) {
        if let Some(rx) = self.events_rx.take() {
            let events = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|event| (event, rx))
            });
            ctx.add_stream(events);
        }
    }
}

impl StreamHandler<(ConnId, EngineEvent)> for Relay {
    fn handle(&mut self, (conn, event): (ConnId, EngineEvent), ctx: &mut Context<Self>) {
        self.engine_event(conn, event, ctx)
    }

    fn finished(&mut self, _: &mut Context<Self>) {
        // The relay holds a sender itself: the stream ends only with the relay.
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
    /// What its join token allows (`None`: it joined without one).
    pub perms: Option<Vec<Perm>>,
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
