//! Room passwords, checked by the registry before it hands out a room: compared in constant
//! time, with failures limited per address (IPv6: per /64) and per room, logged at info level
//! with the address, and counted in `/metrics`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::attempts::{address_key, Attempts, Failure};
use crate::config::PasswordAttemptsConfig;
use crate::error::ClientError;
use crate::metrics::{Metrics, PasswordScope};
use crate::password::Password;

/// Failed passwords of every locked room.
pub struct Passwords {
    per_address: Attempts<IpAddr>,
    per_room: Attempts<String>,
    metrics: Arc<Metrics>,
}

impl Passwords {
    /// No failures yet.
    pub fn new(config: &PasswordAttemptsConfig, metrics: Arc<Metrics>) -> Passwords {
        Passwords {
            per_address: Attempts::new(config.per_address.clone()),
            per_room: Attempts::new(config.per_room.clone()),
            metrics,
        }
    }

    /// Lets `address` into `room` (whose password is `expected`) if it gave that password and
    /// may make an attempt now. A join without a password is refused without counting: it
    /// guessed nothing.
    pub fn admit(
        &mut self,
        room: &str,
        expected: &Password,
        given: Option<&Password>,
        address: IpAddr,
        now: Instant,
    ) -> Result<(), ClientError> {
        let unauthorized = || ClientError::Unauthorized(room.to_string());
        let Some(given) = given else {
            return Err(unauthorized());
        };
        let key = address_key(address);
        let allowed = self
            .per_address
            .check(&key, now)
            .and_then(|()| self.per_room.check(room, now));
        if let Err(refused) = allowed {
            tracing::debug!(%address, room, ?refused, "password attempt refused unchecked");
            return Err(ClientError::TooManyAttempts {
                room: room.to_string(),
                retry_after: refused.retry_after(),
            });
        }
        if expected.matches(given) {
            self.per_address.succeeded(&key);
            return Ok(());
        }
        self.metrics.password_failures.increment(1);
        let by_address = self.per_address.failed(key, now);
        let by_room = self.per_room.failed(room.to_string(), now);
        if let Failure::Counted(failures) = by_address {
            tracing::info!(%address, room, failures, "wrong room password");
        } else {
            self.metrics.password_blocked(PasswordScope::Address);
            tracing::info!(%address, room, "wrong room password: blocking the address");
        }
        if by_room == Failure::Blocked {
            self.metrics.password_blocked(PasswordScope::Room);
            tracing::warn!(
                room,
                "too many wrong passwords from all addresses: blocking password attempts at the room"
            );
        }
        Err(unauthorized())
    }

    /// Forgets addresses and rooms whose failures are old.
    pub fn forget_old(&mut self, now: Instant) {
        self.per_address.forget_old(now);
        self.per_room.forget_old(now);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::attempts::Policy;

    fn pw(s: &str) -> Password {
        Password::from(s)
    }

    fn passwords() -> Passwords {
        let policy = Policy {
            free: 1,
            backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(10),
            block_after: 3,
            block_for: Duration::from_secs(60),
        };
        let config = PasswordAttemptsConfig {
            per_address: policy.clone(),
            per_room: Policy {
                free: 2,
                block_after: 100,
                ..policy
            },
        };
        Passwords::new(&config, Metrics::new())
    }

    #[test]
    fn wrong_passwords_are_slowed_per_address_and_per_room() {
        let mut p = passwords();
        let t = Instant::now();
        let (a, b, c) = (
            IpAddr::from([10, 0, 0, 1]),
            IpAddr::from([10, 0, 0, 2]),
            IpAddr::from([10, 0, 0, 3]),
        );
        let code = |r: Result<(), ClientError>| r.unwrap_err().code().as_str();
        assert_eq!(
            code(p.admit("vault", &pw("pw"), Some(&pw("x")), a, t)),
            "unauthorized"
        );
        // a waits 10 s now, even with the right password, which is not even checked.
        assert_eq!(
            code(p.admit("vault", &pw("pw"), Some(&pw("pw")), a, t)),
            "too_many_attempts"
        );
        // Missing passwords are not guesses.
        assert_eq!(
            code(p.admit("vault", &pw("pw"), None, b, t)),
            "unauthorized"
        );
        assert!(p.admit("vault", &pw("pw"), Some(&pw("pw")), b, t).is_ok());
        // The room's second failure (from c) puts the room into backoff for everyone.
        assert_eq!(
            code(p.admit("vault", &pw("pw"), Some(&pw("z")), c, t)),
            "unauthorized"
        );
        assert_eq!(
            code(p.admit("vault", &pw("pw"), Some(&pw("pw")), b, t)),
            "too_many_attempts"
        );
        assert!(p.admit("other", &pw("pw"), Some(&pw("pw")), b, t).is_ok());
        let later = t + Duration::from_secs(10);
        assert!(p
            .admit("vault", &pw("pw"), Some(&pw("pw")), a, later)
            .is_ok());
    }
}
