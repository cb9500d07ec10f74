//! `[limits]`: who may open a signaling WebSocket, and how many.

use serde::Deserialize;

/// `[limits]`: checked at the WebSocket upgrade, before a session exists.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Pages from these origins (`https://chat.example.com`) may open the WebSocket besides the
    /// server's own; `"*"` allows any. Requests without an `Origin` (not from a browser) pass.
    pub allowed_origins: Vec<String>,
    /// Open WebSockets per address (IPv6: per /64).
    pub connections_per_address: u32,
    /// New WebSockets per address per second (a token bucket) ...
    pub handshakes_per_second: u32,
    /// ... and how many may come at once.
    pub handshake_burst: u32,
    /// Open WebSockets over the whole server.
    pub max_sessions: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            allowed_origins: Vec::new(),
            connections_per_address: 256,
            handshakes_per_second: 20,
            handshake_burst: 100,
            max_sessions: 20_000,
        }
    }
}

impl LimitsConfig {
    /// Checks the numbers and origins; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in [
            ("connections_per_address", self.connections_per_address),
            ("handshakes_per_second", self.handshakes_per_second),
            ("handshake_burst", self.handshake_burst),
            ("max_sessions", self.max_sessions),
        ] {
            if value == 0 {
                return Err(format!("limits.{name}: must be at least 1"));
            }
        }
        for (i, origin) in self.allowed_origins.iter().enumerate() {
            let ok = origin == "*"
                || url::Url::parse(origin).is_ok_and(|u| {
                    matches!(u.scheme(), "http" | "https")
                        && u.host_str().is_some()
                        && u.path() == "/"
                });
            if !ok || origin.ends_with('/') {
                return Err(format!(
                    "limits.allowed_origins[{i}]: {origin:?} is not an origin such as \"https://chat.example.com\" (or \"*\")"
                ));
            }
        }
        Ok(())
    }
}
