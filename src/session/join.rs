//! Joining and leaving: a `join` finds (or creates) its room through the registry and is
//! admitted by the room, or resumes a held seat with its token; `leave` ends the membership.

use actix::prelude::*;

use super::{Outbox, Session, State};
use crate::config::is_valid_room_name;
use crate::error::ClientError;
use crate::metrics::InKind;
use crate::password::Password;
use crate::protocol::{validate_name, LeaveReason, PeerId};
use crate::registry::{FindSeat, OpenRoom, Registry};
use crate::room::{Join, Leave, Resume, Room};
use crate::session::Outbound;

impl Session {
    pub(super) fn join(
        &mut self,
        room: String,
        name: String,
        password: Option<Password>,
        resume: Option<String>,
        token: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        self.metrics.message_in(InKind::Join);
        if let State::Joined { .. } = self.state {
            let err = ClientError::AlreadyJoined(room);
            return self.reply_error(err, ctx);
        }
        let name = match validate_join(&room, &name) {
            Ok(name) => name,
            Err(err) => return self.reply_error(err, ctx),
        };
        self.membership += 1;
        if let Some(token) = resume {
            return self.resume(room, token, ctx);
        }
        let join = Join {
            name,
            identity: None,
            session: ctx.address().recipient(),
            outbox: Outbox::new(self.out.clone(), self.membership),
            address: self.address,
        };
        let open = OpenRoom {
            name: room,
            password,
            token,
            address: self.address,
        };
        let registry = self.registry.clone();
        let fut =
            enter_room(registry, open, join)
                .into_actor(self)
                .map(|res, act, ctx| match res {
                    Ok((room, peer_id)) => act.joined(room, peer_id),
                    Err(err) => {
                        act.reply_error(err, ctx);
                        if !matches!(act.dialect, super::Dialect::Native) {
                            // A PeerJS or broadcast socket is its membership: refused, it closes.
                            act.close(actix_http::ws::CloseCode::Policy, "join refused", ctx);
                        }
                    }
                });
        ctx.wait(fut);
    }

    /// Takes over the seat `token` names in `room` (a `join` with `resume`).
    fn resume(&mut self, room: String, token: String, ctx: &mut Context<Self>) {
        let find = FindSeat {
            room,
            token,
            address: self.address,
        };
        let outbox = Outbox::new(self.out.clone(), self.membership);
        let (session, address) = (ctx.address().recipient(), self.address);
        let registry = self.registry.clone();
        let resuming = async move {
            let internal = |e: MailboxError| ClientError::Internal(e.to_string());
            let (room, peer_id) = registry.send(find).await.map_err(internal)??;
            let resume = Resume {
                peer_id: peer_id.clone(),
                session,
                outbox,
                address,
            };
            match room.send(resume).await {
                Ok(resumed) => resumed.map(|()| (room, peer_id)),
                Err(MailboxError::Closed) => Err(ClientError::ResumeExpired(String::new())),
                Err(e) => Err(internal(e)),
            }
        };
        let fut = resuming.into_actor(self).map(|res, act, ctx| match res {
            Ok((room, peer_id)) => act.joined(room, peer_id),
            Err(err) => act.reply_error(err, ctx),
        });
        ctx.wait(fut);
    }

    pub(super) fn leave(&mut self, ctx: &mut Context<Self>) {
        self.metrics.message_in(InKind::Leave);
        match std::mem::replace(&mut self.state, State::lobby()) {
            State::Joined { room, peer_id } => {
                room.do_send(Leave {
                    peer_id,
                    session: ctx.address().recipient(),
                    reason: LeaveReason::Left,
                    quiet: false,
                    hold_until: None,
                });
                self.queue(Outbound::Left(self.membership), ctx);
                self.limit.set_joined(false);
            }
            State::Lobby { .. } => self.reply_error(ClientError::NotJoined, ctx),
        }
    }

    /// The session is member `peer_id` of `room` now.
    fn joined(&mut self, room: Addr<Room>, peer_id: PeerId) {
        self.state = State::Joined { room, peer_id };
        self.limit.set_joined(true);
    }
}

/// Finds the room and joins it; retries when a dynamic room stopped under our feet.
async fn enter_room(
    registry: Addr<Registry>,
    open: OpenRoom,
    join: Join,
) -> Result<(Addr<Room>, PeerId), ClientError> {
    let internal = |e: MailboxError| ClientError::Internal(e.to_string());
    for _ in 0..8 {
        let admitted = registry.send(open.clone()).await.map_err(internal)??;
        let (room, mut join) = (admitted.room, join.clone());
        join.identity = admitted.identity;
        match room.send(join).await {
            Ok(joined) => return joined.map(|peer_id| (room, peer_id)),
            Err(MailboxError::Closed) => continue,
            Err(e) => return Err(internal(e)),
        }
    }
    Err(ClientError::Internal(format!(
        "room {:?} kept closing; try again",
        open.name
    )))
}

/// Checks a `join`'s room and name; returns the trimmed name.
pub fn validate_join(room: &str, name: &str) -> Result<String, ClientError> {
    if !is_valid_room_name(room) {
        return Err(ClientError::BadRequest(
            "room: must be 1-64 characters of A-Z a-z 0-9 _ -".into(),
        ));
    }
    validate_name(name).map_err(|e| ClientError::BadRequest(format!("name: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(validate_join("lobby", "  alice ").unwrap(), "alice");
        assert!(validate_join("lobby", "   ").is_err());
        assert!(validate_join("lobby", &"x".repeat(33)).is_err());
        assert!(validate_join("lobby", "a\u{7}b").is_err());
        assert!(validate_join("lob by", "alice").is_err());
        assert_eq!(
            validate_join("l", &"é".repeat(32)).unwrap().chars().count(),
            32
        );
    }
}
