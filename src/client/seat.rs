//! The client's seat in the room across lost sockets: the resume token of the last `welcome`
//! (kept in memory), the `join` that uses it, and what a resumed `welcome` or another member's
//! `peer_reconnected` means for the links.
//!
//! Links that are open survive a lost socket (WebRTC does not go through the server). After a
//! resume the links that are not open are negotiated again: in a mesh the resumed member offers
//! them; in a star the member offers to the host, also when it was the host that came back.

use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use super::engine::Engine;
use crate::protocol::{ErrorCode, PeerId, Topology};

/// How long after losing the socket a `name_taken` is not final: the server still holds this
/// client's old seat (its resume token failed, or it had none yet) and gives the name back when
/// the hold ends (`[session] resume_window`, 30 s by default, after the last frame).
pub const NAME_TAKEN_GRACE: Duration = Duration::from_secs(40);

impl Engine {
    /// The `join` frame: with the resume token when there is one.
    pub(super) fn join_frame(&self) -> serde_json::Value {
        let c = &self.config;
        let mut join = json!({"type": "join", "room": c.room, "name": c.name});
        if let Some(password) = &c.password {
            join["password"] = json!(password);
        }
        if let Some(token) = &c.token {
            join["token"] = json!(token.expose());
        }
        if let Some(token) = &self.seat {
            join["resume"] = json!(token);
        }
        join
    }

    /// Whether a refused `join` means the token is of no use (join afresh at once).
    pub(super) fn token_refused(&mut self, code: ErrorCode) -> bool {
        // too_many_attempts answers a token from an address that sent forged ones.
        let useless = matches!(
            code,
            ErrorCode::ResumeExpired
                | ErrorCode::ResumeInvalid
                | ErrorCode::ResumeWrongRoom
                | ErrorCode::TooManyAttempts
        );
        if useless && self.seat.take().is_some() {
            tracing::debug!(?code, "resume refused: joining afresh");
            return true;
        }
        false
    }

    /// Whether a refused rejoin is worth trying again: the name is held by our own old seat,
    /// which the server gives up within [`NAME_TAKEN_GRACE`] of losing the socket.
    pub(super) fn retry_refusal(&self, code: ErrorCode) -> bool {
        code == ErrorCode::NameTaken
            && self
                .lost_at
                .is_some_and(|at| at.elapsed() < NAME_TAKEN_GRACE)
    }

    /// The socket is gone: keep the open links (chat goes on over them), drop the rest.
    pub(super) fn keep_open_links(&mut self) {
        let dead: Vec<PeerId> = self
            .links
            .iter()
            .filter(|(_, l)| !l.is_open())
            .map(|(p, _)| p.clone())
            .collect();
        for peer in dead {
            self.drop_link(&peer);
        }
        self.retries.clear();
    }

    /// After a `welcome`: a fresh membership (new id) starts with no links; a resumed one keeps
    /// the open links to members still here.
    pub(super) fn settle_links(&mut self, resumed: bool) {
        let stale: Vec<PeerId> = self
            .links
            .keys()
            .filter(|p| !resumed || !(self.members.contains_key(*p) || self.hosted_by(p)))
            .cloned()
            .collect();
        for peer in stale {
            self.drop_link(&peer);
        }
    }

    /// The links this client offers after a `welcome`, where none is open: every member in a
    /// mesh, else the host (unless it is us).
    pub(super) async fn offer_missing(&mut self) {
        let targets: Vec<PeerId> = match (self.topology, self.host_id()) {
            (Topology::Mesh, _) => self.members.keys().cloned().collect(),
            (_, Some(host)) if host != self.me => vec![host],
            _ => Vec::new(),
        };
        for peer in targets {
            if !self.links.get(&peer).is_some_and(|l| l.is_open()) {
                self.offer_to(peer).await;
            }
        }
    }

    /// Member `peer` resumed on a new socket: a link to it that is not open is dead. We offer
    /// it again if we are a member and it hosts; otherwise it offers to us.
    pub(super) async fn peer_reconnected(&mut self, peer: PeerId) {
        if self.links.get(&peer).is_some_and(|l| l.is_open()) {
            return;
        }
        self.drop_link(&peer);
        let ours = self.topology != Topology::Mesh && self.hosted_by(&peer) && !self.i_host();
        if ours {
            self.retries.forget(&peer);
            self.offer_to(peer).await;
        }
    }

    /// Notes when the socket was lost (for [`Engine::retry_refusal`]).
    pub(super) fn mark_lost(&mut self) {
        self.lost_at.get_or_insert_with(Instant::now);
    }
}
