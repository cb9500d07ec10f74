//! Typed configuration: defaults in code, a TOML file, `SWITCHBOARD__SECTION__KEY` environment
//! overrides, and validation whose every error names the offending key.

mod broadcast;
mod cluster;
mod limits;
mod load;
mod peerjs;
mod relay;
mod rooms;
mod session;
mod turn;

use std::net::SocketAddr;

use std::time::Duration;

use serde::Deserialize;

use crate::attempts::Policy;

use crate::protocol::IceServer;

pub use self::broadcast::BroadcastConfig;
pub use self::cluster::ClusterConfig;
pub use self::limits::LimitsConfig;
pub use self::peerjs::PeerJsConfig;
pub use self::relay::RelayConfig;
pub use self::rooms::{is_valid_room_name, DynamicRoomsConfig, OnHostLeave, RoomConfig};
pub use self::session::SessionConfig;
pub use self::turn::{turn_password, TurnConfig};
pub use crate::auth::{AdminConfig, AuthConfig, RoomAuth};
pub use crate::storage::{Backend, StorageConfig, DEFAULT_DYNAMIC_HISTORY, DEFAULT_ROOM_HISTORY};

/// Everything the server reads from `config/switchboard.toml`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Listening socket and static files.
    pub server: ServerConfig,
    /// Per-WebSocket limits and heartbeat.
    pub session: SessionConfig,
    /// ICE servers handed to clients (and used by the relay).
    pub ice: IceConfig,
    /// Rooms created on first join and removed when empty.
    pub dynamic_rooms: DynamicRoomsConfig,
    /// Rooms that exist from start-up.
    pub rooms: Vec<RoomConfig>,
    /// The server-side WebRTC peer.
    pub relay: RelayConfig,
    /// How failed room passwords are limited.
    pub password_attempts: PasswordAttemptsConfig,
    /// Where chat history is kept.
    pub storage: StorageConfig,
    /// The key join tokens are checked with.
    pub auth: AuthConfig,
    /// The admin HTTP API.
    pub admin: AdminConfig,
    /// Who may open a signaling WebSocket, and how many.
    pub limits: LimitsConfig,
    /// The TURN server members get credentials for.
    pub turn: TurnConfig,
    /// The PeerJS server protocol.
    pub peerjs: PeerJsConfig,
    /// Broadcast signaling (simple-peer apps).
    pub broadcast: BroadcastConfig,
    /// Several nodes sharing rooms through Redis (off without `redis_url`).
    pub cluster: ClusterConfig,
    /// The file this was loaded from (set by [`Config::load`]; the server reloads it).
    #[serde(skip)]
    pub source: Option<std::path::PathBuf>,
}

/// `[password_attempts]`: failed passwords of rooms that have one, limited per address (IPv6:
/// per /64) and per room (all addresses together).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordAttemptsConfig {
    /// Failures from one address.
    pub per_address: Policy,
    /// Failures at one room, from every address.
    pub per_room: Policy,
}

impl Default for PasswordAttemptsConfig {
    fn default() -> Self {
        PasswordAttemptsConfig {
            per_address: Policy {
                free: 5,
                backoff: Duration::from_secs(1),
                max_backoff: Duration::from_secs(60),
                block_after: 20,
                block_for: Duration::from_secs(15 * 60),
            },
            per_room: Policy {
                free: 50,
                backoff: Duration::from_millis(200),
                max_backoff: Duration::from_secs(10),
                block_after: 1000,
                block_for: Duration::from_secs(15 * 60),
            },
        }
    }
}

/// `[server]`
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address the HTTP/WebSocket listener binds.
    pub bind: String,
    /// Directory served at `/` (the browser client). A relative path is read from the config
    /// file's directory (by [`Config::load`]).
    pub static_dir: String,
    /// HTTP worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// How long shutdown waits for open connections before closing them.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// Largest HTTP request body accepted on any route; a bigger one is refused with 413.
    pub max_body_bytes: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "0.0.0.0:8080".into(),
            static_dir: "../static".into(),
            workers: 0,
            shutdown_timeout: Duration::from_secs(5),
            max_body_bytes: 65536,
        }
    }
}

/// `[ice]`
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IceConfig {
    /// STUN/TURN servers.
    pub servers: Vec<IceServer>,
}

impl Default for IceConfig {
    fn default() -> Self {
        IceConfig {
            servers: vec![IceServer {
                urls: vec!["stun:stun.l.google.com:19302".into()],
                username: None,
                credential: None,
            }],
        }
    }
}

impl Config {
    /// Checks every value; the error names the first bad key (`rooms[1].topology: ...`).
    pub fn validate(&self) -> Result<(), String> {
        let s = &self.server;
        s.bind
            .parse::<SocketAddr>()
            .map_err(|e| format!("server.bind: {:?} is not an address:port ({e})", s.bind))?;
        self.session.validate()?;
        for (i, server) in self.ice.servers.iter().enumerate() {
            validate_ice_server(server).map_err(|e| format!("ice.servers[{i}].urls: {e}"))?;
        }
        if self.dynamic_rooms.max_peers == 0 {
            return Err("dynamic_rooms.max_peers: must be at least 1".into());
        }
        if self.dynamic_rooms.max_rooms == 0 {
            return Err(
                "dynamic_rooms.max_rooms: must be at least 1 (enabled = false turns them off)"
                    .into(),
            );
        }
        self.auth.validate()?;
        self.admin.validate()?;
        self.limits.validate()?;
        self.turn.validate()?;
        self.peerjs.validate()?;
        self.broadcast.validate()?;
        self.cluster.validate()?;
        let needs_key = |auth: RoomAuth| auth == RoomAuth::Token && !self.auth.has_key();
        if needs_key(self.dynamic_rooms.auth) {
            return Err("dynamic_rooms.auth: \"token\" needs [auth] secret or public_key".into());
        }
        for (i, room) in self.rooms.iter().enumerate() {
            room.validate().map_err(|e| format!("rooms[{i}].{e}"))?;
            if needs_key(room.auth) {
                return Err(format!(
                    "rooms[{i}].auth: \"token\" needs [auth] secret or public_key"
                ));
            }
            if self.rooms[..i].iter().any(|r| r.name == room.name) {
                return Err(format!("rooms[{i}].name: duplicate room {:?}", room.name));
            }
        }
        let attempts = &self.password_attempts;
        attempts
            .per_address
            .validate()
            .map_err(|e| format!("password_attempts.per_address.{e}"))?;
        attempts
            .per_room
            .validate()
            .map_err(|e| format!("password_attempts.per_room.{e}"))?;
        crate::storage::validate_max_age(
            "dynamic_rooms.history_max_age",
            self.dynamic_rooms.history_max_age,
        )?;
        self.storage.validate(&self.cluster.redis_url)?;
        self.relay.validate()
    }
}

fn validate_ice_server(server: &IceServer) -> Result<(), String> {
    if server.urls.is_empty() {
        return Err("must list at least one URL".into());
    }
    const SCHEMES: [&str; 4] = ["stun:", "stuns:", "turn:", "turns:"];
    match server
        .urls
        .iter()
        .find(|u| !SCHEMES.iter().any(|s| u.starts_with(s)))
    {
        Some(url) => Err(format!(
            "{url:?} is not a stun:, stuns:, turn: or turns: URL"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_parses() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/switchboard.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let config = Config::from_toml(&text).unwrap();
        assert_eq!(config.rooms[0].name, "lobby");
    }

    #[test]
    fn empty_config_uses_defaults() {
        let config = Config::from_toml("").unwrap();
        assert_eq!(config.session.heartbeat_interval, Duration::from_secs(5));
        assert_eq!(config.dynamic_rooms.max_peers, 16);
        assert_eq!(config.relay.port(), 50000);
        assert!(config.relay.deprecations().is_empty());
    }

    #[test]
    fn the_old_port_range_still_reads_with_a_deprecation() {
        let config = Config::from_toml("[relay]\nudp_ports = \"41000-41999\"").unwrap();
        assert_eq!(config.relay.port(), 41000);
        assert!(config.relay.deprecations()[0].contains("udp_port = 41000"));
        let both = "[relay]\nudp_port = 7\nudp_ports = \"41000-41999\"";
        let config = Config::from_toml(both).unwrap();
        assert_eq!(config.relay.port(), 7);
        assert!(config.relay.deprecations()[0].contains("ignored"));
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let err = Config::from_toml("[server]\nbindd = \"x\"").unwrap_err();
        assert!(err.to_string().contains("bindd"), "{err}");
    }

    #[test]
    fn bad_topology_names_the_room_index() {
        let text = "[[rooms]]\nname = \"a\"\n[[rooms]]\nname = \"b\"\ntopology = \"ring\"";
        let err = Config::from_toml(text).unwrap_err().to_string();
        assert!(
            err.contains("ring") && err.contains("rooms[1].topology"),
            "{err}"
        );
    }

    #[test]
    fn invalid_values_name_their_key() {
        let cases = [
            (
                "[session]\nclient_timeout = \"1s\"",
                "session.client_timeout",
            ),
            ("[[rooms]]\nname = \"a b\"", "rooms[0].name"),
            (
                "[[rooms]]\nname = \"a\"\n[[rooms]]\nname = \"a\"",
                "rooms[1].name",
            ),
            (
                "[[rooms]]\nname = \"a\"\nmax_peers = 0",
                "rooms[0].max_peers",
            ),
            (
                "[ice]\nservers = [{ urls = [\"http://x\"] }]",
                "ice.servers[0].urls",
            ),
            ("[relay]\nudp_ports = \"9-1\"", "relay.udp_ports"),
            ("[server]\nbind = \"nope\"", "server.bind"),
        ];
        for (text, key) in cases {
            let err = Config::from_toml(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text:?} gave {err}");
        }
    }

    #[test]
    fn room_names_are_checked() {
        assert!(is_valid_room_name("lobby-2_x"));
        assert!(!is_valid_room_name(""));
        assert!(!is_valid_room_name("a/b"));
        assert!(!is_valid_room_name(&"a".repeat(65)));
    }

    #[test]
    fn the_redis_backend_takes_its_url_from_storage_or_else_the_cluster() {
        let err = Config::from_toml("[storage]\nbackend = \"redis\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("storage.redis_url"), "{err}");
        let from_cluster = Config::from_toml(
            "[storage]\nbackend = \"redis\"\n[cluster]\nredis_url = \"redis://127.0.0.1:7000\"",
        )
        .unwrap();
        let storage = &from_cluster.storage;
        assert_eq!(
            storage.redis_url_or(&from_cluster.cluster.redis_url),
            "redis://127.0.0.1:7000"
        );
        let own = Config::from_toml(
            "[storage]\nbackend = \"redis\"\nredis_url = \"redis://127.0.0.1:7001/2\"\n\
             [cluster]\nredis_url = \"redis://127.0.0.1:7000\"",
        )
        .unwrap();
        assert_eq!(
            own.storage.redis_url_or(&own.cluster.redis_url),
            "redis://127.0.0.1:7001/2"
        );
        let bad = Config::from_toml("[storage]\nbackend = \"redis\"\nredis_url = \"http://x\"")
            .unwrap_err()
            .to_string();
        assert!(bad.contains("http://x"), "{bad}");
    }
}
