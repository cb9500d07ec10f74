//! Links the client offered that failed (ICE or DTLS failed, the channel closed, the relay said
//! `relay_failed`, or the link was not open within [`LINK_TIMEOUT`]) are offered again with
//! exponential backoff: 1 s, doubling up to 30 s, with jitter, reset once the channel opens.
//! Only the side that offered retries (members to the host or relay, the later joiner in a
//! mesh), so two peers never offer to each other at once.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::engine::Engine;
use super::{Event, LinkState};
use crate::protocol::{PeerId, Topology};

/// A link not open this long after it was started has failed.
pub const LINK_TIMEOUT: Duration = Duration::from_secs(20);
/// First retry delay.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// Longest retry delay.
const MAX_RETRY: Duration = Duration::from_secs(30);

/// Retry state per peer.
#[derive(Default)]
pub struct Retries {
    /// Failures in a row, per peer.
    failures: HashMap<PeerId, u32>,
    /// When each waiting peer is offered again.
    due: HashMap<PeerId, Instant>,
}

impl Retries {
    /// `peer`'s link failed: it is tried again after the next delay, which is returned.
    pub fn failed(&mut self, peer: &PeerId, now: Instant) -> (u32, Duration) {
        let failures = self.failures.entry(peer.clone()).or_insert(0);
        *failures += 1;
        let delay = FIRST_RETRY
            .saturating_mul(1 << (*failures - 1).min(16))
            .min(MAX_RETRY);
        let delay = delay + delay.mul_f64(rand::random::<f64>() * 0.2);
        self.due.insert(peer.clone(), now + delay);
        (*failures, delay)
    }

    /// `peer`'s channel opened, or it is gone (or no longer ours to offer to): no retry is
    /// due, and a next failure starts from the first delay again.
    pub fn forget(&mut self, peer: &PeerId) {
        self.failures.remove(peer);
        self.due.remove(peer);
    }

    /// Everything is forgotten (the socket was lost; the rejoin offers afresh).
    pub fn clear(&mut self) {
        self.failures.clear();
        self.due.clear();
    }

    /// The peers whose retry is due at `now`, no longer waiting.
    pub fn take_due(&mut self, now: Instant) -> Vec<PeerId> {
        let due: Vec<PeerId> = self
            .due
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(p, _)| p.clone())
            .collect();
        for p in &due {
            self.due.remove(p);
        }
        due
    }
}

impl Engine {
    /// Whether this client is the side that offers to `peer`.
    pub(super) fn offers_to(&self, peer: &PeerId) -> bool {
        match self.topology {
            Topology::Mesh => self.links.get(peer).is_some_and(|l| l.offerer),
            Topology::Host | Topology::Relay => self.hosted_by(peer) && !self.i_host(),
        }
    }

    /// The link to `peer` failed: drop it, say so and, if we offered it, offer again later.
    pub(super) fn link_failed(&mut self, peer: &PeerId, why: &str) {
        self.link_ended(peer, why, LinkState::Failed)
    }

    /// The link to `peer` ended (`state`: failed, or closed): as [`Engine::link_failed`].
    pub(super) fn link_ended(&mut self, peer: &PeerId, why: &str, state: LinkState) {
        let retry = self.offers_to(peer);
        let Some(link) = self.links.remove(peer) else {
            return;
        };
        link.close();
        tracing::debug!(%peer, why, "link failed");
        self.emit(Event::Connection {
            peer: peer.clone(),
            state,
        });
        if retry {
            let (attempt, delay) = self.retries.failed(peer, Instant::now());
            self.emit(Event::Retrying {
                peer: peer.clone(),
                attempt,
                delay_ms: delay.as_millis() as u64,
            });
        }
    }

    /// Once a second: links that are not open in time fail; due retries offer again (to a
    /// peer that is still ours to offer to).
    pub(super) async fn tick(&mut self) {
        let now = Instant::now();
        let late: Vec<PeerId> = self
            .links
            .iter()
            .filter(|(_, l)| !l.is_open() && now.duration_since(l.started) > LINK_TIMEOUT)
            .map(|(p, _)| p.clone())
            .collect();
        for peer in late {
            self.link_failed(&peer, "not open in time");
        }
        for peer in self.retries.take_due(now) {
            // In a mesh the failed link (and so `offers_to`) is gone: the peer must still be in.
            let wanted = match self.topology {
                Topology::Mesh => self.members.contains_key(&peer),
                _ => self.offers_to(&peer),
            };
            if wanted && !self.links.contains_key(&peer) {
                self.offer_to(peer).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_reset_on_success() {
        let mut r = Retries::default();
        let p = PeerId::from("relay");
        let now = Instant::now();
        for base in [1, 2, 4, 8, 16, 30, 30, 30] {
            let delay = r.failed(&p, now).1.as_secs_f64();
            let base = base as f64;
            assert!(base <= delay && delay <= base * 1.2, "{delay} for {base}");
        }
        assert!(r.take_due(now).is_empty());
        assert_eq!(r.take_due(now + Duration::from_secs(40)), vec![p.clone()]);
        r.forget(&p);
        assert!(r.failed(&p, now).1 < Duration::from_millis(1200));
    }
}
