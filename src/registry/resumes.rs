//! Resume tokens as the registry checks them before it asks a room for the seat: the MAC and
//! the room, with forged tokens limited per address (IPv6: per /64), logged at debug level and
//! counted in `/metrics`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;

use crate::attempts::{address_key, Attempts, Policy};
use crate::error::ClientError;
use crate::metrics::{Metrics, ResumeResult};
use crate::protocol::PeerId;
use crate::resume::{ResumeKey, TokenError};
use crate::room::Room;

/// The server's resume key and the addresses that sent bad tokens.
pub struct Resumes {
    key: Arc<ResumeKey>,
    per_address: Attempts<IpAddr>,
    metrics: Arc<Metrics>,
}

impl Resumes {
    /// A fresh key; bad tokens are limited by `policy`.
    pub fn new(policy: Policy, metrics: Arc<Metrics>) -> Resumes {
        Resumes {
            key: Arc::new(ResumeKey::random()),
            per_address: Attempts::new(policy),
            metrics,
        }
    }

    /// Signs and checks with `key` from now on (a cluster's, shared by every node).
    pub fn use_key(&mut self, key: Arc<ResumeKey>) {
        self.key = key;
    }

    /// The key rooms sign their `welcome` tokens with.
    pub fn key(&self) -> Arc<ResumeKey> {
        self.key.clone()
    }

    /// The seat `token` resumes in `room`, for a join from `address`. Tokens that are not this
    /// run's for this room count as failures of the address; too many and its tokens are
    /// refused unchecked for a while.
    pub fn check(
        &mut self,
        token: &str,
        room: &str,
        address: IpAddr,
        now: Instant,
    ) -> Result<PeerId, ClientError> {
        let key = address_key(address);
        if let Err(refused) = self.per_address.check(&key, now) {
            tracing::debug!(%address, room, ?refused, "resume token refused unchecked");
            self.metrics.resume(ResumeResult::Limited);
            return Err(ClientError::TooManyResumeAttempts {
                retry_after: refused.retry_after(),
            });
        }
        let err = match self.key.verify(token, room) {
            Ok(peer) => return Ok(peer),
            Err(err) => err,
        };
        // Only forgeries count: every client holds a stale token after a restart (many behind
        // one NAT address), and a stale or foreign token resumes nothing, so guessing gains
        // nothing from it.
        if err == TokenError::Invalid {
            self.per_address.failed(key, now);
        }
        tracing::debug!(%address, room, ?err, "resume token refused");
        Err(match err {
            TokenError::Invalid => {
                self.metrics.resume(ResumeResult::Invalid);
                ClientError::ResumeInvalid
            }
            TokenError::Stale => {
                self.metrics.resume(ResumeResult::Expired);
                ClientError::ResumeExpired(room.to_string())
            }
            TokenError::OtherRoom(token_room) => {
                self.metrics.resume(ResumeResult::WrongRoom);
                ClientError::ResumeWrongRoom {
                    room: room.to_string(),
                    token_room,
                }
            }
        })
    }

    /// Forgets addresses whose failures are old.
    pub fn forget_old(&mut self, now: Instant) {
        self.per_address.forget_old(now);
    }
}

/// The running room and the seat a `join` with a resume token asks for (the room is not
/// created, and no password is asked: the token proves the member was let in).
#[derive(Clone, Message)]
#[rtype(result = "Result<(Addr<Room>, PeerId), ClientError>")]
pub struct FindSeat {
    /// Room name (already validated).
    pub room: String,
    /// The token from the member's last `welcome`.
    pub token: String,
    /// Where the member connects from.
    pub address: IpAddr,
}

impl Handler<FindSeat> for super::Registry {
    type Result = Result<(Addr<Room>, PeerId), ClientError>;

    fn handle(&mut self, msg: FindSeat, ctx: &mut Context<Self>) -> Self::Result {
        let peer = self
            .resumes
            .check(&msg.token, &msg.room, msg.address, Instant::now())?;
        let room = self.rooms.get(&msg.room).map(|e| e.addr.clone());
        match room.filter(Addr::connected) {
            Some(room) => Ok((room, peer)),
            // In a cluster the seat may be on another node, in a dynamic room with no actor
            // here yet: start it (it reads the roster first), and it asks for the seat.
            None if self.cluster.is_some() => match self.open(&msg.room, ctx) {
                Ok(room) => Ok((room, peer)),
                Err(_) => {
                    self.metrics.resume(crate::metrics::ResumeResult::Expired);
                    Err(ClientError::ResumeExpired(msg.room))
                }
            },
            None => {
                self.metrics.resume(crate::metrics::ResumeResult::Expired);
                Err(ClientError::ResumeExpired(msg.room))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::resume::ResumeKey;

    fn resumes() -> Resumes {
        let policy = Policy {
            free: 2,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(8),
            block_after: 10,
            block_for: Duration::from_secs(60),
        };
        Resumes::new(policy, Metrics::new())
    }

    #[test]
    fn stale_tokens_after_a_restart_are_not_held_against_an_address() {
        let mut r = resumes();
        let (now, addr) = (Instant::now(), IpAddr::from([10, 0, 0, 1]));
        let stale = ResumeKey::random().issue("lobby", &PeerId::random());
        for _ in 0..10 {
            let refused = r.check(&stale, "lobby", addr, now);
            assert!(
                matches!(refused, Err(ClientError::ResumeExpired(_))),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn a_flood_of_bad_tokens_is_refused_unchecked() {
        let mut r = resumes();
        let (now, addr) = (Instant::now(), IpAddr::from([10, 0, 0, 1]));
        let real = r.key.issue("lobby", &PeerId::random());
        for _ in 0..2 {
            assert_eq!(
                r.check("junk", "lobby", addr, now),
                Err(ClientError::ResumeInvalid)
            );
        }
        let limited = r.check(&real, "lobby", addr, now);
        assert!(matches!(
            limited,
            Err(ClientError::TooManyResumeAttempts { .. })
        ));
        let other = IpAddr::from([10, 0, 0, 2]);
        assert!(r.check(&real, "lobby", other, now).is_ok());
        let later = now + Duration::from_secs(2);
        assert!(r.check(&real, "lobby", addr, later).is_ok());
    }
}
