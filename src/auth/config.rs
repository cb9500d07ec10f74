//! `[auth]`: the key that join tokens are checked with, and the `auth` key of rooms.

use std::time::Duration;

use serde::Deserialize;

use crate::password::Password;

/// `[auth]`: set `secret` (HS256) or `public_key` (Ed25519, PEM), in the file or through
/// `SWITCHBOARD__AUTH__SECRET` / `SWITCHBOARD__AUTH__PUBLIC_KEY`. The secret is never logged or
/// exported (its `Debug` is redacted).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Shared HS256 signing secret.
    pub secret: Option<Password>,
    /// Ed25519 public key (SPKI PEM) of the backend that signs tokens (EdDSA).
    pub public_key: Option<String>,
    /// Clock skew allowed when checking a token's expiry.
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            secret: None,
            public_key: None,
            leeway: Duration::from_secs(30),
        }
    }
}

impl AuthConfig {
    /// Whether a key is configured (token rooms need one).
    pub fn has_key(&self) -> bool {
        self.secret.is_some() || self.public_key.is_some()
    }

    /// Checks that the key parses (the error names the key, not its value).
    pub fn validate(&self) -> Result<(), String> {
        if self.secret.as_ref().is_some_and(|s| s.expose().len() < 16) {
            return Err("auth.secret: must be at least 16 characters".into());
        }
        crate::auth::Verifier::from_config(self).map(drop)
    }
}

/// How a room admits members (besides its `password`, if it has one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomAuth {
    /// Anyone may join (a `join` may still carry a token, which is then checked and used).
    #[default]
    Open,
    /// A `join` must carry a valid join token for the room.
    Token,
}

/// `[admin]`: the admin HTTP API (`/admin/v1`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// The bearer key that may do everything (at least 16 characters); better set through
    /// `SWITCHBOARD__ADMIN__KEY`. Without it (and without an `[auth]` key for admin tokens) the
    /// admin API answers 404.
    pub key: Option<Password>,
}

impl AdminConfig {
    /// Checks the key's length.
    pub fn validate(&self) -> Result<(), String> {
        if self.key.as_ref().is_some_and(|k| k.expose().len() < 16) {
            return Err("admin.key: must be at least 16 characters".into());
        }
        Ok(())
    }
}
