//! Who may use the admin API, as the registry decides it: the bearer admin key (every room), or
//! a join token with the `admin` permission (the rooms its `room` pattern names). Wrong bearers
//! are limited per address like wrong room passwords, logged at info and counted.

use std::net::IpAddr;
use std::time::Instant;

use actix::prelude::*;

use super::Registry;
use crate::attempts::{address_key, Attempts};
use crate::auth::room_matches;
use crate::error::ClientError;
use crate::password::Password;
use crate::room::Room;

/// Which rooms a caller may manage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminScope {
    /// Every room (the admin key).
    All,
    /// The rooms this pattern names (an admin token).
    Rooms(String),
}

impl AdminScope {
    /// Whether the caller may manage `room`.
    pub fn covers(&self, room: &str) -> bool {
        match self {
            AdminScope::All => true,
            AdminScope::Rooms(pattern) => room_matches(pattern, room),
        }
    }
}

/// Why the admin API refused a caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminRefusal {
    /// No admin key and no token key are configured: the API is off.
    Disabled,
    /// A missing or wrong bearer (or a bad token).
    Unauthorized(ClientError),
    /// Too many wrong bearers from this address lately.
    Limited(ClientError),
}

/// The admin API's failed-bearer records.
pub struct AdminGate {
    failures: Attempts<IpAddr>,
}

impl AdminGate {
    /// No failures yet.
    pub fn new(policy: crate::attempts::Policy) -> AdminGate {
        AdminGate {
            failures: Attempts::new(policy),
        }
    }

    /// Forgets old failures.
    pub fn forget_old(&mut self, now: Instant) {
        self.failures.forget_old(now);
    }
}

impl Registry {
    /// The scope of the caller at `address` presenting `bearer`.
    fn admin_scope(
        &mut self,
        bearer: Option<&str>,
        address: IpAddr,
    ) -> Result<AdminScope, AdminRefusal> {
        let key = self.config.admin.key.clone();
        if key.is_none() && self.verifier.is_none() {
            return Err(AdminRefusal::Disabled);
        }
        let now = Instant::now();
        let who = address_key(address);
        if let Err(refused) = self.admin_gate.failures.check(&who, now) {
            self.metrics
                .refused(crate::metrics::Refusal::AdminUnauthorized);
            return Err(AdminRefusal::Limited(ClientError::TooManyAdminAttempts {
                retry_after: refused.retry_after(),
            }));
        }
        let Some(bearer) = bearer else {
            let err = ClientError::Unauthorized("the admin API".into());
            return Err(AdminRefusal::Unauthorized(err));
        };
        if key.is_some_and(|k| k.matches(&Password::from(bearer))) {
            self.admin_gate.failures.succeeded(&who);
            return Ok(AdminScope::All);
        }
        let by_token = match &self.verifier {
            Some(verifier) if bearer.contains('.') => verifier.admin_scope(bearer),
            _ => Err(ClientError::Unauthorized("the admin API".into())),
        };
        match by_token {
            Ok(pattern) => Ok(AdminScope::Rooms(pattern)),
            Err(err) => {
                tracing::info!(%address, error = %err, "admin API: wrong bearer");
                self.metrics
                    .refused(crate::metrics::Refusal::AdminUnauthorized);
                self.admin_gate.failures.failed(who, now);
                Err(AdminRefusal::Unauthorized(err))
            }
        }
    }
}

/// Check an admin API caller; replies with its scope and the rooms it may see.
#[derive(Message)]
#[rtype(result = "Result<(AdminScope, Vec<(String, Addr<Room>)>), AdminRefusal>")]
pub struct AdminAuth {
    /// The `Authorization: Bearer` value.
    pub bearer: Option<String>,
    /// Where the request comes from.
    pub address: IpAddr,
}

impl Handler<AdminAuth> for Registry {
    type Result = Result<(AdminScope, Vec<(String, Addr<Room>)>), AdminRefusal>;

    fn handle(&mut self, msg: AdminAuth, _: &mut Context<Self>) -> Self::Result {
        let scope = self.admin_scope(msg.bearer.as_deref(), msg.address)?;
        let rooms: Vec<(String, Addr<Room>)> = self
            .list()
            .into_iter()
            .filter(|r| scope.covers(&r.name))
            .filter_map(|r| {
                let addr = self.rooms.get(&r.name)?.addr.clone();
                addr.connected().then_some((r.name, addr))
            })
            .collect();
        Ok((scope, rooms))
    }
}
