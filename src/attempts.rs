//! Failed password attempts, counted per key (an address, a room): after a few free failures
//! each further attempt must wait a doubling backoff, and past a threshold the key is blocked for
//! a while. Attempts that come too early are refused without being evaluated, so waiting is the
//! only way to guess again. Plain data with the time passed in: the registry owns it.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// How failures of one key are limited.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Failures that may come back to back; after that many, each attempt waits.
    pub free: u32,
    /// The wait after the `free`-th failure; it doubles with each further failure.
    #[serde(with = "humantime_serde")]
    pub backoff: Duration,
    /// The longest wait between two attempts.
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Failures that block the key.
    pub block_after: u32,
    /// How long a block lasts; a key with no failure for this long is forgotten.
    #[serde(with = "humantime_serde")]
    pub block_for: Duration,
}

impl Policy {
    /// Checks the numbers; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.free == 0 {
            return Err("free: must be at least 1".into());
        }
        if self.block_after == 0 {
            return Err("block_after: must be at least 1".into());
        }
        if self.free > self.block_after {
            return Err("free: must not be above block_after".into());
        }
        if self.max_backoff < self.backoff {
            return Err("max_backoff: must not be below backoff".into());
        }
        if self.block_for.is_zero() {
            return Err("block_for: must be above 0".into());
        }
        Ok(())
    }

    /// The wait after `failures` failures (zero before the `free`-th).
    fn wait_after(&self, failures: u32) -> Duration {
        let Some(doublings) = failures.checked_sub(self.free) else {
            return Duration::ZERO;
        };
        let doublings = doublings.min(31);
        self.backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }
}

/// Why an attempt may not be made now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Too soon after the last failure: try again after this.
    Backoff(Duration),
    /// The key is blocked for this much longer.
    Blocked(Duration),
}

impl Refused {
    /// How long until an attempt will be evaluated again.
    pub fn retry_after(self) -> Duration {
        match self {
            Refused::Backoff(d) | Refused::Blocked(d) => d,
        }
    }
}

/// What one failure did to its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Counted; the key has failed this many times.
    Counted(u32),
    /// This failure blocked the key.
    Blocked,
}

#[derive(Debug)]
struct Record {
    failures: u32,
    last: Instant,
    blocked_until: Option<Instant>,
}

/// Failures per key, under one policy.
#[derive(Debug)]
pub struct Attempts<K> {
    policy: Policy,
    records: HashMap<K, Record>,
}

impl<K: Hash + Eq> Attempts<K> {
    /// No failures yet.
    pub fn new(policy: Policy) -> Attempts<K> {
        Attempts {
            policy,
            records: HashMap::new(),
        }
    }

    /// Whether `key` may make an attempt at `now`.
    pub fn check<Q>(&self, key: &Q, now: Instant) -> Result<(), Refused>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let Some(record) = self.records.get(key) else {
            return Ok(());
        };
        if let Some(until) = record.blocked_until.filter(|until| *until > now) {
            return Err(Refused::Blocked(until - now));
        }
        if record.blocked_until.is_some() {
            // The block is over: the key starts again (see `failed`).
            return Ok(());
        }
        let next = record.last + self.policy.wait_after(record.failures);
        if next > now {
            return Err(Refused::Backoff(next - now));
        }
        Ok(())
    }

    /// Counts a failed attempt of `key` at `now`.
    pub fn failed(&mut self, key: K, now: Instant) -> Failure {
        let record = self.records.entry(key).or_insert(Record {
            failures: 0,
            last: now,
            blocked_until: None,
        });
        if record.blocked_until.is_some_and(|until| until <= now) {
            record.failures = 0;
            record.blocked_until = None;
        }
        record.failures += 1;
        record.last = now;
        if record.failures >= self.policy.block_after {
            record.blocked_until = Some(now + self.policy.block_for);
            return Failure::Blocked;
        }
        Failure::Counted(record.failures)
    }

    /// Forgets `key`'s failures (it proved it knows the password).
    pub fn succeeded(&mut self, key: &K) {
        self.records.remove(key);
    }

    /// Forgets keys that are not blocked and have not failed for `block_for`.
    pub fn forget_old(&mut self, now: Instant) {
        let quiet = self.policy.block_for;
        self.records.retain(|_, r| match r.blocked_until {
            Some(until) => until > now,
            None => now.saturating_duration_since(r.last) < quiet,
        });
    }

    /// Keys remembered now.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// The key an address is limited under: an IPv4 address, or the /64 an IPv6 address is in (one
/// host usually has a whole /64, so limiting single IPv6 addresses would limit nothing).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            free: 2,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(4),
            block_after: 6,
            block_for: Duration::from_secs(60),
        }
    }

    #[test]
    fn free_failures_then_a_doubling_wait_then_a_block() {
        let mut a = Attempts::new(policy());
        let t = Instant::now();
        let s = Duration::from_secs;
        assert_eq!(a.failed("x", t), Failure::Counted(1));
        assert_eq!(a.check(&"x", t), Ok(()));
        assert_eq!(a.failed("x", t), Failure::Counted(2));
        // After the free ones: 1 s, 2 s, 4 s, then capped at 4 s.
        assert_eq!(a.check(&"x", t), Err(Refused::Backoff(s(1))));
        assert_eq!(a.check(&"x", t + s(1)), Ok(()));
        assert_eq!(a.failed("x", t + s(1)), Failure::Counted(3));
        assert_eq!(a.check(&"x", t + s(2)), Err(Refused::Backoff(s(1))));
        assert_eq!(a.failed("x", t + s(3)), Failure::Counted(4));
        assert_eq!(a.check(&"x", t + s(3)), Err(Refused::Backoff(s(4))));
        assert_eq!(a.failed("x", t + s(7)), Failure::Counted(5));
        assert_eq!(a.check(&"x", t + s(7)), Err(Refused::Backoff(s(4))));
        assert_eq!(a.failed("x", t + s(11)), Failure::Blocked);
        assert_eq!(a.check(&"x", t + s(12)), Err(Refused::Blocked(s(59))));
        // Other keys are not affected.
        assert_eq!(a.check(&"y", t + s(12)), Ok(()));
        // After the block the key starts again.
        assert_eq!(a.check(&"x", t + s(71)), Ok(()));
        assert_eq!(a.failed("x", t + s(71)), Failure::Counted(1));
    }

    #[test]
    fn success_forgets_and_quiet_keys_are_forgotten() {
        let mut a = Attempts::new(policy());
        let t = Instant::now();
        for _ in 0..4 {
            a.failed("x", t);
        }
        a.failed("y", t);
        a.succeeded(&"x");
        assert_eq!(a.check(&"x", t), Ok(()));
        assert_eq!(a.len(), 1);
        a.forget_old(t + Duration::from_secs(59));
        assert_eq!(a.len(), 1);
        a.forget_old(t + Duration::from_secs(60));
        assert!(a.is_empty());
    }

    #[test]
    fn a_block_is_remembered_until_it_ends() {
        let mut a = Attempts::new(Policy {
            block_after: 1,
            free: 1,
            ..policy()
        });
        let t = Instant::now();
        assert_eq!(a.failed("x", t), Failure::Blocked);
        a.forget_old(t + Duration::from_secs(59));
        assert!(a.check(&"x", t + Duration::from_secs(59)).is_err());
        a.forget_old(t + Duration::from_secs(61));
        assert!(a.is_empty());
    }

    #[test]
    fn ipv6_addresses_are_limited_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(address_key(v4), v4);
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(address_key(mapped), v4);
    }

    #[test]
    fn policies_are_validated() {
        assert!(policy().validate().is_ok());
        let bad = Policy {
            free: 7,
            ..policy()
        };
        assert!(bad.validate().unwrap_err().starts_with("free"));
    }
}
