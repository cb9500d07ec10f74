//! `[cluster]`: several Switchboard nodes sharing rooms through Redis. Off unless `redis_url`
//! is set: a single node needs no broker and runs exactly as without this section.

use std::time::Duration;

use serde::Deserialize;

/// `[cluster]`
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// The Redis server the nodes share, e.g. `redis://127.0.0.1:6379/0`; empty: no cluster.
    pub redis_url: String,
    /// This node's id in the cluster; empty: a new random one at each start.
    pub node_id: String,
    /// The signaling URL clients use to reach this node (`ws://host:port/ws`), as other nodes
    /// tell them; empty: made from the listening address.
    pub advertise_url: String,
    /// How often the node renews its registration.
    #[serde(with = "humantime_serde")]
    pub heartbeat: Duration,
    /// How long a registration lasts without a renewal: a node silent this long is taken for
    /// dead by the others.
    #[serde(with = "humantime_serde")]
    pub node_ttl: Duration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            redis_url: String::new(),
            node_id: String::new(),
            advertise_url: String::new(),
            heartbeat: Duration::from_secs(1),
            node_ttl: Duration::from_secs(3),
        }
    }
}

impl ClusterConfig {
    /// Whether this node is part of a cluster.
    pub fn enabled(&self) -> bool {
        !self.redis_url.is_empty()
    }

    pub fn validate(&self) -> Result<(), String> {
        if !self.enabled() {
            return Ok(());
        }
        if !(self.redis_url.starts_with("redis://") || self.redis_url.starts_with("rediss://")) {
            return Err(format!(
                "cluster.redis_url: {:?} must start with redis:// (or rediss:// for TLS)",
                self.redis_url
            ));
        }
        let id_ok = self.node_id.len() <= 64
            && self
                .node_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
        if !id_ok {
            return Err(format!(
                "cluster.node_id: {:?} must be up to 64 of A-Z a-z 0-9 _ -",
                self.node_id
            ));
        }
        let url = &self.advertise_url;
        if !(url.is_empty() || url.starts_with("ws://") || url.starts_with("wss://")) {
            return Err(format!(
                "cluster.advertise_url: {:?} must be a ws:// or wss:// URL",
                self.advertise_url
            ));
        }
        if self.heartbeat.is_zero() || self.node_ttl < self.heartbeat * 2 {
            return Err(format!(
                "cluster.node_ttl ({:?}) must be at least twice cluster.heartbeat ({:?})",
                self.node_ttl, self.heartbeat
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_and_checked_when_on() {
        let off = ClusterConfig::default();
        assert!(!off.enabled());
        assert!(off.validate().is_ok());
        let on = |f: fn(&mut ClusterConfig)| {
            let mut c = ClusterConfig {
                redis_url: "redis://127.0.0.1:6379".into(),
                ..ClusterConfig::default()
            };
            f(&mut c);
            c.validate()
        };
        assert!(on(|_| {}).is_ok());
        assert!(on(|c| c.redis_url = "http://x".into())
            .unwrap_err()
            .contains("redis_url"));
        assert!(on(|c| c.node_id = "a b".into())
            .unwrap_err()
            .contains("node_id"));
        assert!(on(|c| c.advertise_url = "http://x".into())
            .unwrap_err()
            .contains("advertise_url"));
        assert!(on(|c| c.node_ttl = Duration::from_secs(1))
            .unwrap_err()
            .contains("node_ttl"));
    }
}
