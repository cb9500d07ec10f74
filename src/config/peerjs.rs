//! `[peerjs]`: the PeerJS server protocol (PeerServer's HTTP calls and WebSocket), so apps built
//! on the `peerjs` client point it at Switchboard unchanged. Their peers are members of one mesh
//! room (`room`), with the same limits, metrics and admin view as every member.

use serde::Deserialize;

use super::RoomConfig;
use crate::protocol::Topology;

/// `[peerjs]`
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PeerJsConfig {
    /// Serve the PeerJS protocol (the shipped config turns it on).
    pub enabled: bool,
    /// Where, as PeerServer's `path` option: `/peerjs` serves `/peerjs/{key}/id` and the
    /// WebSocket `/peerjs/peerjs?key=...`.
    pub path: String,
    /// The API key clients give (`key` in the `peerjs` client; PeerServer's default `peerjs`).
    pub key: String,
    /// The room PeerJS peers are members of (a mesh room made for them if not declared).
    pub room: String,
    /// PeerJS peers at once (PeerServer's `concurrent_limit`).
    pub max_peers: usize,
    /// Answer `GET {path}/{key}/peers` with every peer's id (PeerServer's `allow_discovery`).
    pub allow_discovery: bool,
}

impl Default for PeerJsConfig {
    fn default() -> Self {
        PeerJsConfig {
            enabled: false,
            path: "/peerjs".into(),
            key: "peerjs".into(),
            room: "peerjs".into(),
            max_peers: 1000,
            allow_discovery: false,
        }
    }
}

impl PeerJsConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !self.enabled {
            return Ok(());
        }
        let path_ok = self.path.starts_with('/')
            && !self.path.ends_with('/')
            && self.path.len() > 1
            && self.path[1..].split('/').all(|s| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            });
        if !path_ok {
            return Err(format!(
                "peerjs.path: {:?} must look like \"/peerjs\"",
                self.path
            ));
        }
        if self.key.is_empty()
            || !self
                .key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
        {
            return Err("peerjs.key: must be letters, digits, - and _".into());
        }
        if !super::is_valid_room_name(&self.room) {
            return Err("peerjs.room: must be 1-64 characters of A-Z a-z 0-9 _ -".into());
        }
        if self.max_peers == 0 {
            return Err("peerjs.max_peers: must be at least 1".into());
        }
        Ok(())
    }

    /// Marks the PeerJS room quiet (no presence: PeerJS clients address each other by id, and
    /// telling thousands of peers of every join would cost O(n) per join).
    pub fn quieten(&self, rooms: &mut [RoomConfig]) {
        for room in rooms
            .iter_mut()
            .filter(|r| self.enabled && r.name == self.room)
        {
            room.quiet = true;
        }
    }

    /// The room PeerJS peers join, when it is not declared under `[[rooms]]`.
    pub fn implied_room(&self, declared: &[RoomConfig]) -> Option<RoomConfig> {
        if !self.enabled || declared.iter().any(|r| r.name == self.room) {
            return None;
        }
        Some(RoomConfig {
            name: self.room.clone(),
            topology: Topology::Mesh,
            max_peers: self.max_peers,
            password: None,
            on_host_leave: Default::default(),
            history: 0,
            history_max_age: None,
            auth: Default::default(),
            quiet: true,
        })
    }
}
