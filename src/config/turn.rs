//! `[turn]`: a TURN server (coturn) whose short-lived credentials each member gets in `welcome`,
//! by coturn's TURN REST scheme (`use-auth-secret`): the username is `EXPIRY:ID`, the
//! credential `base64(HMAC-SHA1(secret, username))`, so the TURN server checks them with the
//! shared secret alone.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::hmac;
use serde::Deserialize;

use crate::password::Password;
use crate::protocol::IceServer;

/// `[turn]`
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TurnConfig {
    /// `turn:` / `turns:` URLs of the TURN server as members reach it. Empty: no TURN.
    pub urls: Vec<String>,
    /// coturn's `static-auth-secret` (set it through `SWITCHBOARD__TURN__SECRET`).
    pub secret: Option<Password>,
    /// Or a file holding it (read at start and on reload; a Docker secret, say).
    pub secret_file: Option<std::path::PathBuf>,
    /// How long a member's credentials are valid.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
}

impl Default for TurnConfig {
    fn default() -> Self {
        TurnConfig {
            urls: Vec::new(),
            secret: None,
            secret_file: None,
            ttl: Duration::from_secs(3600),
        }
    }
}

impl TurnConfig {
    /// Checks the URLs and that a secret goes with them.
    pub fn validate(&self) -> Result<(), String> {
        for (i, url) in self.urls.iter().enumerate() {
            if !(url.starts_with("turn:") || url.starts_with("turns:")) {
                return Err(format!(
                    "turn.urls[{i}]: {url:?} must start with turn: or turns:"
                ));
            }
        }
        if self.secret.is_some() && self.secret_file.is_some() {
            return Err("turn.secret_file: set secret or secret_file, not both".into());
        }
        if !self.urls.is_empty() && self.secret.is_none() && self.secret_file.is_none() {
            return Err("turn.secret: needed with turn.urls (coturn's static-auth-secret)".into());
        }
        if self.ttl < Duration::from_secs(60) {
            return Err("turn.ttl: must be at least 1m".into());
        }
        Ok(())
    }

    /// Reads `secret_file` into `secret` (the error names the key, not the secret).
    pub fn read_secret_file(&mut self) -> Result<(), String> {
        let Some(path) = &self.secret_file else {
            return Ok(());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("turn.secret_file: cannot read {}: {e}", path.display()))?;
        let secret = text.trim();
        if secret.is_empty() {
            return Err(format!("turn.secret_file: {} is empty", path.display()));
        }
        self.secret = Some(Password::from(secret));
        Ok(())
    }

    /// The ICE server entry for member `id`, valid until `ttl` from `now` (Unix seconds);
    /// `None` without TURN.
    pub fn credentials(&self, id: &str, now: u64) -> Option<IceServer> {
        let secret = self.secret.as_ref()?;
        if self.urls.is_empty() {
            return None;
        }
        let username = format!("{}:{id}", now + self.ttl.as_secs());
        Some(IceServer {
            urls: self.urls.clone(),
            credential: Some(turn_password(secret.expose(), &username)),
            username: Some(username),
        })
    }
}

/// coturn's REST-API password for `username`: base64 of HMAC-SHA1 with the shared secret.
pub fn turn_password(secret: &str, username: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret.as_bytes());
    STANDARD.encode(hmac::sign(&key, username.as_bytes()).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_follow_the_turn_rest_scheme() {
        // RFC 2202 test case 2 (HMAC-SHA1, key "Jefe"), base64 encoded.
        assert_eq!(
            turn_password("Jefe", "what do ya want for nothing?"),
            "7/zfauXrL6LSdBbV8YTfnCWafHk="
        );
        let turn = TurnConfig {
            urls: vec!["turn:127.0.0.1:3478".into()],
            secret: Some("s".into()),
            secret_file: None,
            ttl: Duration::from_secs(600),
        };
        let ice = turn.credentials("peer1", 1_000).unwrap();
        assert_eq!(ice.username.as_deref(), Some("1600:peer1"));
        assert_eq!(ice.credential, Some(turn_password("s", "1600:peer1")));
        assert!(TurnConfig::default().credentials("p", 0).is_none());
    }
}
