//! The commands relays send the engine, and answering an offer.

use std::cmp::Reverse;
use std::time::{Duration, Instant};

use super::super::conn::{certificate, random_token, AnswerPlan, Conn};
use super::super::{Command, ConnId, EngineStats};
use super::Engine;

impl Engine {
    /// Carries out one command from a relay.
    pub(super) fn command(&mut self, command: Command) {
        match command {
            Command::Answer {
                offer,
                events,
                reply,
            } => {
                let answered = self.answer(*offer, events);
                let id = answered.as_ref().ok().map(|(id, _)| *id);
                let _ = reply.send(answered);
                if let Some(id) = id {
                    self.touch(id);
                }
            }
            Command::Candidate { conn, candidate } => {
                let Some(c) = self.conns.get_mut(&conn) else {
                    return;
                };
                if let Err(e) = c.pc.add_remote_candidate(candidate) {
                    tracing::debug!(conn, error = %e, "relay engine: a remote candidate");
                }
                self.touch(conn);
            }
            Command::Send { conns, text } => {
                for id in conns {
                    if let Some(conn) = self.conns.get_mut(&id) {
                        conn.queue(text.clone());
                        self.touch(id);
                    }
                }
            }
            Command::Close { conn } => self.remove(conn, None),
            Command::Stats { reply } => {
                let _ = reply.send(EngineStats {
                    connections: self.conns.len(),
                    unknown_datagrams: self.unknown,
                    timed_out: self.timed_out,
                    slow: self.slow,
                    queued_bytes: self.conns.values().map(|c| c.queued).sum(),
                });
            }
        }
    }

    /// A new connection answering `offer`, with fresh ICE credentials and the shared socket as
    /// its host candidates.
    fn answer(
        &mut self,
        offer: rtc::peer_connection::sdp::RTCSessionDescription,
        events: super::super::Events,
    ) -> Result<(ConnId, rtc::peer_connection::sdp::RTCSessionDescription), String> {
        let now = Instant::now();
        let renew_by = std::time::SystemTime::now() + Duration::from_secs(24 * 3600);
        if self.certificate.expires < renew_by {
            self.certificate = certificate()?;
        }
        let ufrag = random_token(16);
        let plan = AnswerPlan {
            offer,
            ufrag: &ufrag,
            candidates: &self.candidates,
            max_message_bytes: self.options.max_message_bytes,
            certificate: &self.certificate,
        };
        let (mut conn, answer) = Conn::answer(plan, events, now)?;
        self.next += 1;
        let id = self.next;
        self.demux.expect(&ufrag, id);
        let connect_by = now + self.options.connect_timeout;
        conn.connect_by = Some(connect_by);
        self.timers.push(Reverse((connect_by, id)));
        self.conns.insert(id, Box::new(conn));
        self.metrics.relay_peer_connections.increment(1.0);
        Ok((id, answer))
    }
}
