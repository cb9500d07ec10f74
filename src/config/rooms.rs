//! `[[rooms]]` and `[dynamic_rooms]`: the rooms a server has, and how they behave.

use std::time::Duration;

use serde::Deserialize;

use crate::auth::RoomAuth;
use crate::password::Password;
use crate::protocol::Topology;
use crate::storage::{Retention, DEFAULT_DYNAMIC_HISTORY, DEFAULT_ROOM_HISTORY};

/// `[dynamic_rooms]`
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DynamicRoomsConfig {
    /// Whether joining an undeclared room creates it.
    pub enabled: bool,
    /// Topology of dynamic rooms.
    pub topology: Topology,
    /// Member limit of dynamic rooms.
    pub max_peers: usize,
    /// Chat messages a dynamic room keeps (0: none).
    pub history: u64,
    /// Stored messages older than this are dropped.
    #[serde(with = "humantime_serde")]
    pub history_max_age: Option<Duration>,
    /// `token`: joining a dynamic room needs a join token for it.
    pub auth: RoomAuth,
    /// Dynamic rooms that may exist at once; a join that would create one more gets
    /// `too_many_rooms`.
    pub max_rooms: usize,
}

impl DynamicRoomsConfig {
    /// How much history a dynamic room keeps.
    pub fn retention(&self) -> Retention {
        crate::storage::retention(self.history, self.history_max_age)
    }
}

impl Default for DynamicRoomsConfig {
    fn default() -> Self {
        DynamicRoomsConfig {
            enabled: true,
            topology: Topology::Mesh,
            max_peers: 16,
            history: DEFAULT_DYNAMIC_HISTORY,
            history_max_age: None,
            auth: RoomAuth::Open,
            max_rooms: 1000,
        }
    }
}

/// What a `host` room does when its host leaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnHostLeave {
    /// The remaining member who joined earliest becomes host.
    #[default]
    Elect,
    /// The server's relay becomes host.
    Relay,
}

impl OnHostLeave {
    /// The name used in the config file (and kept in Redis by a cluster).
    pub fn as_str(self) -> &'static str {
        match self {
            OnHostLeave::Elect => "elect",
            OnHostLeave::Relay => "relay",
        }
    }
}

/// One `[[rooms]]` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomConfig {
    /// Room name: 1-64 of `[A-Za-z0-9_-]`.
    pub name: String,
    /// How members connect.
    #[serde(default = "default_topology")]
    pub topology: Topology,
    /// Member limit.
    #[serde(default = "default_max_peers")]
    pub max_peers: usize,
    /// Password needed to join, if any (never printed: see [`Password`]).
    #[serde(default)]
    pub password: Option<Password>,
    /// Failover policy of `host` rooms.
    #[serde(default)]
    pub on_host_leave: OnHostLeave,
    /// Chat messages the room keeps (0: none).
    #[serde(default = "default_history")]
    pub history: u64,
    /// Stored messages older than this are dropped.
    #[serde(default, with = "humantime_serde")]
    pub history_max_age: Option<Duration>,
    /// `token`: joining needs a join token for this room.
    #[serde(default)]
    pub auth: RoomAuth,
    /// No presence: members are not told who joins or leaves (the PeerJS room, whose clients
    /// address each other by id; set from `[peerjs]`, not from the file).
    #[serde(skip)]
    pub quiet: bool,
}

impl RoomConfig {
    /// How much history the room keeps.
    pub fn retention(&self) -> Retention {
        crate::storage::retention(self.history, self.history_max_age)
    }
}

fn default_history() -> u64 {
    DEFAULT_ROOM_HISTORY
}

fn default_topology() -> Topology {
    Topology::Mesh
}

fn default_max_peers() -> usize {
    50
}

impl RoomConfig {
    pub(super) fn validate(&self) -> Result<(), String> {
        if !is_valid_room_name(&self.name) {
            return Err(format!(
                "name: {:?} must be 1-64 characters of A-Z a-z 0-9 _ -",
                self.name
            ));
        }
        if self.max_peers == 0 {
            return Err("max_peers: must be at least 1".into());
        }
        if self.auth == RoomAuth::Token && self.password.is_some() {
            return Err("auth: a token room has no password (the token admits)".into());
        }
        if self.on_host_leave == OnHostLeave::Relay && self.topology != Topology::Host {
            return Err(format!(
                "on_host_leave: \"relay\" applies to host rooms, not {}",
                self.topology
            ));
        }
        crate::storage::validate_max_age("history_max_age", self.history_max_age)?;
        Ok(())
    }
}

/// Whether `name` is a valid room name: 1-64 of `[A-Za-z0-9_-]`.
pub fn is_valid_room_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
